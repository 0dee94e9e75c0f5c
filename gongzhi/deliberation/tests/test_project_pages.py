"""The project pages: create (managers; bad input → 400 with a Chinese message), the project page
(shares, statements with totals and paging, xlsx, progress with photos, publications) and who gets
what (outsider and resident 404 on a project, 403 on the create page; a non-manager's write 403)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from PIL import Image

from gongzhi.deliberation import projects
from gongzhi.deliberation.models import Decision, Project, ProjectPhoto, Publication, ShareStatement

from .test_projects import jpeg_with_gps, make_decision, make_roll, new_project

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def media(tmp_path, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def roll(world):
    return make_roll(world.community_a, [("1-101", "1栋", "80.00"), ("1-102", "1栋", "80.00"),
                                         ("2-101", "2栋", "0.00")])


def text(response) -> str:
    return response.content.decode()


def url(project, suffix="") -> str:
    return f"/deliberation/projects/{project.pk}/{suffix}"


def form_data(world, **extra) -> dict:
    data = {"area": world.community_a.pk, "title": "东一花园加装电梯", "total_cost": "1000.00",
            "policy_funds": "0", "committee_funds": "0.00", "owners_share": "1,000.00", "split": "equal",
            "buildings": ""}
    data.update(extra)
    return data


# ------------------------------------------------------------------------------------ create


def test_create_page_for_a_manager(world, login, roll):
    decision = make_decision(world, roll)
    make_decision(world, roll, status=Decision.Status.OPEN)
    client = login(world.dispatcher)
    page = text(client.get("/deliberation/projects/new/"))
    assert "建立实施项目" in page and world.community_a.name in page and 'inputmode="decimal"' in page
    assert page.count("加装电梯") == 1  # only the closed decision is offered
    assert "<script>" not in page and "style=" not in page
    response = client.post("/deliberation/projects/new/", form_data(world, decision=decision.pk))
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == url(project)
    assert project.owners_share == D("1000.00") and project.decision == decision


def test_create_refuses_shares_that_do_not_add_up(world, login):
    response = login(world.dispatcher).post("/deliberation/projects/new/", form_data(world, owners_share="999"))
    assert response.status_code == 400
    assert "三项分担合计 999.00 元，与总费用 1000.00 元不一致" in text(response)
    assert not Project.objects.exists()


@pytest.mark.parametrize("extra", [{"total_cost": "abc"}, {"area": "x"}, {"area": "999999999999999"},
                                   {"title": ""}, {"split": "nope"}, {"policy_funds": "-5"}])
def test_create_bad_input_is_400(world, login, extra):
    response = login(world.dispatcher).post("/deliberation/projects/new/", form_data(world, **extra))
    assert response.status_code == 400 and 'class="error"' in text(response)
    assert not Project.objects.exists()


def test_create_with_a_decision_not_passed_is_a_conflict(world, login, roll):
    decision = make_decision(world, roll, passed=(False,))
    response = login(world.dispatcher).post("/deliberation/projects/new/", form_data(world, decision=decision.pk))
    assert response.status_code == 409 and "未获通过" in text(response)


def test_create_in_an_area_not_managed(world, login):
    response = login(world.dispatcher).post("/deliberation/projects/new/",
                                            form_data(world, area=world.community_b.pk))
    assert response.status_code == 400 and not Project.objects.exists()


@pytest.mark.parametrize("who", ["resident", "outsider", "worker"])
def test_create_page_is_403_for_non_managers(world, login, who):
    assert login(getattr(world, who)).get("/deliberation/projects/new/").status_code == 403


# ------------------------------------------------------------------------------------ the page


def test_project_page_shows_shares_statements_and_totals(world, login, roll):
    project = new_project(world, split="area", total_cost="1000.00", policy_funds="0", committee_funds="0")
    client = login(world.dispatcher)
    page = text(client.get(url(project)))
    assert "三个分担" in page and "尚未计算分摊明细" in page and 'id="compute-form"' in page
    assert "<progress" in page and "style=" not in page and "<script>" not in page
    response = client.post(url(project, "statements/"), {"roll": roll.pk}, follow=True)
    page = text(response)
    assert "已计算 3 户的分摊金额" in page and "1 户建筑面积为 0" in page
    assert 'id="statements-total">1000.00<' in page and "500.00" in page and 'id="zero-area"' in page
    assert "下载分摊明细" in page


def test_compute_without_a_roll_is_400(world, login):
    project = new_project(world)
    response = login(world.dispatcher).post(url(project, "statements/"), {})
    assert response.status_code == 400 and "请选择受益户所在的名册" in text(response)
    response = login(world.dispatcher).post(url(project, "statements/"), {"roll": "abc"})
    assert response.status_code == 400


def test_statements_are_paged(world, login):
    units = [(f"{i:03d}", "1栋", "50") for i in range(120)]
    big = make_roll(world.community_a, units, name="大名册")
    project = new_project(world)
    projects.compute_statements(project, actor=world.dispatcher, roll=big)
    client = login(world.dispatcher)
    first = text(client.get(url(project)))
    assert "第 1 / 3 页" in first and ">000<" in first and ">050<" not in first
    assert 'id="statements-total">1000.00<' in first  # the totals are of all pages
    assert ">119<" in text(client.get(url(project) + "?page=3"))
    assert client.get(url(project) + "?page=x").status_code == 200


def test_xlsx_download(world, login, roll):
    project = new_project(world, decision=make_decision(world, roll))
    projects.compute_statements(project, actor=world.dispatcher)
    response = login(world.dispatcher).get(url(project, "statements.xlsx"))
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 5 and rows[-1][0] == "合计" and D(str(rows[-1][3])) == D("1000")


def test_progress_with_a_photo_from_the_phone(world, login, media):
    project = new_project(world)
    client = login(world.dispatcher)
    page = text(client.get(url(project)))
    assert 'accept="image/*"' in page and 'enctype="multipart/form-data"' in page
    photo = SimpleUploadedFile("IMG_1.jpg", jpeg_with_gps(), content_type="image/jpeg")
    response = client.post(url(project, "updates/"), {"progress": "30", "note": "防水层施工", "photos": [photo]})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.progress == 30 and project.status == Project.Status.UNDERWAY
    stored = ProjectPhoto.objects.get()
    page = text(client.get(url(project)))
    assert "防水层施工" in page and url(project, f"photos/{stored.pk}/") in page
    image = client.get(url(project, f"photos/{stored.pk}/"))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(b"".join(image.streaming_content))).getexif()
    assert client.get(url(project, "photos/999999/")).status_code == 404


@pytest.mark.parametrize("data,message", [({"progress": "150", "note": "x"}, "进度应为 0 到 100 之间的整数"),
                                          ({"progress": "abc", "note": "x"}, "进度应为 0 到 100 之间的整数"),
                                          ({"progress": "10", "note": ""}, "请填写进展情况")])
def test_bad_progress_is_400(world, login, data, message):
    project = new_project(world)
    response = login(world.dispatcher).post(url(project, "updates/"), data)
    assert response.status_code == 400 and message in text(response)


def test_progress_below_the_last_is_400_and_a_bad_photo_too(world, login, media):
    project = new_project(world)
    projects.add_update(project, actor=world.dispatcher, note="开工", progress=40)
    client = login(world.dispatcher)
    response = client.post(url(project, "updates/"), {"progress": "20", "note": "x"})
    assert response.status_code == 400 and "进度不能低于上次填报的 40%" in text(response)
    bad = SimpleUploadedFile("x.jpg", b"<svg><script>alert(1)</script></svg>", content_type="image/jpeg")
    response = client.post(url(project, "updates/"), {"progress": "50", "note": "x", "photos": [bad]})
    assert response.status_code == 400 and not ProjectPhoto.objects.exists()


def test_publish_both_from_the_page(world, login, roll, media):
    project = new_project(world, decision=make_decision(world, roll))
    client = login(world.dispatcher)
    assert 'id="statement-publish-form"' not in text(client.get(url(project)))
    projects.compute_statements(project, actor=world.dispatcher)
    response = client.post(url(project, "publish/statement/"), {"statement-channel": "小区公告栏", "statement-days": "7"})
    assert response.status_code == 302
    assert Publication.objects.get().kind == Publication.Kind.STATEMENT
    response = client.post(url(project, "publish/implementation/"),
                           {"implementation-channel": "公告栏", "implementation-days": "7"})
    assert response.status_code == 409 and "项目尚未完成" in text(response)
    response = client.post(url(project, "publish/statement/"), {"statement-channel": "", "statement-days": "0"})
    assert response.status_code == 400
    client.post(url(project, "updates/"), {"progress": "100", "note": "竣工验收"})
    page = text(client.get(url(project)))
    assert 'id="implementation-publish-form"' in page and "已完成" in page
    client.post(url(project, "publish/implementation/"), {"implementation-channel": "公告栏", "implementation-days": "7"})
    page = text(client.get(url(project)))
    assert "实施结果公开" in page and Publication.objects.count() == 2
    assert len(re.findall(r"SHA-256 [0-9a-f]{64} ✓", page)) == 2


# ------------------------------------------------------------------------------------ permissions


@pytest.mark.parametrize("who", ["resident", "outsider", "worker"])
def test_not_yours_is_404(world, login, roll, media, who):
    project = new_project(world)  # in 东一社区: the worker sees grid A1 only
    projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    update = projects.add_update(project, actor=world.dispatcher, note="x", progress=10,
                                 photos=[SimpleUploadedFile("a.jpg", jpeg_with_gps())])
    client = login(getattr(world, who))
    photo = update.photos.get()
    for path in ("", "statements.xlsx", f"photos/{photo.pk}/"):
        assert client.get(url(project, path)).status_code == 404, path
    for path, data in (("statements/", {}), ("updates/", {"progress": "20", "note": "x"}),
                       ("publish/statement/", {"statement-channel": "x", "statement-days": "7"})):
        assert client.post(url(project, path), data).status_code == 404, path
    assert ShareStatement.objects.count() == 3 and project.updates.count() == 1


def test_staff_who_see_but_do_not_manage_get_403_on_writes(world, login, roll, media):
    project = new_project(world, area=world.grid_a1)
    client = login(world.worker)  # covers grid A1, manages nothing
    page = text(client.get(url(project)))
    assert 'id="update-form"' in page and 'id="compute-form"' not in page
    assert client.post(url(project, "statements/"), {}).status_code == 403
    assert client.post(url(project, "updates/"), {"progress": "20", "note": "巡查"}).status_code == 302
    assert client.post(url(project, "publish/statement/"),
                       {"statement-channel": "x", "statement-days": "7"}).status_code == 403


@pytest.mark.parametrize("bad", ["0", "99999999999999999999", "abc"])
def test_malformed_ids_are_404(world, login, bad):
    assert login(world.dispatcher).get(f"/deliberation/projects/{bad}/").status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    project = new_project(world)
    response = client.get(url(project))
    assert response.status_code == 302 and "login" in response["Location"]


def test_permission_comes_before_the_form(world, login):
    """The handler's department serves street A: sees the project, may report progress, manages nothing."""
    project = new_project(world)
    client = login(world.handler)
    assert client.get(url(project)).status_code == 200
    assert client.get(url(project, "statements.xlsx")).status_code == 200
    for path in ("statements/", "publish/statement/", "publish/implementation/"):
        assert client.post(url(project, path), {}).status_code == 403, path
    assert client.post(url(project, "updates/"), {}).status_code == 400
    dispatcher = login(world.dispatcher)
    for path in ("statements/", "updates/", "publish/statement/", "publish/implementation/"):
        assert dispatcher.post(url(project, path), {}).status_code == 400, path
    assert dispatcher.get(url(project, "updates/")).status_code == 405


#: What each actor gets (the lines of /tmp/perm-pending/projects.txt for the permission matrix).
ACTORS = ("resident", "worker", "dispatcher", "handler", "outsider", "admin")
MATRIX = [
    ("GET", "/deliberation/projects/statements/mine/", "200 200 200 200 200 200"),
    ("GET", "/deliberation/projects/new/", "403 403 200 403 403 200"),
    ("POST", "/deliberation/projects/new/", "403 403 400 403 403 400"),
    ("GET", "{p}", "404 404 200 200 404 200"),
    ("GET", "{p}edit/", "404 404 302 403 404 302"),
    ("POST", "{p}edit/", "404 404 302 403 404 302"),
    ("GET", "{p}statements/", "405 405 405 405 405 405"),
    ("POST", "{p}statements/", "404 404 409 403 404 409"),
    ("GET", "{p}statements.xlsx", "404 404 200 200 404 200"),
    ("POST", "{p}updates/", "404 404 400 400 404 400"),
    ("GET", "{p}photos/{photo}/", "404 404 200 200 404 200"),
    ("POST", "{p}publish/statement/", "404 404 400 403 404 400"),
    ("POST", "{p}publish/implementation/", "404 404 400 403 404 400"),
]


def test_the_permission_matrix_lines(world, client, media):
    roll = make_roll(world.community_a, [("1-101", "1栋", "80")])
    project = new_project(world, total_cost="100.00", policy_funds="0", committee_funds="0", owners_share="100.00",
                          split="area")
    projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    update = projects.add_update(project, actor=world.dispatcher, note="进场", progress=0,
                                 photos=[SimpleUploadedFile("a.jpg", jpeg_with_gps())])
    values = {"p": url(project), "photo": update.photos.get().pk}
    for method, path, expected in MATRIX:
        path = path.format(**values)
        for who, status in zip(ACTORS, expected.split(), strict=True):
            client.force_login(getattr(world, who))
            response = client.get(path) if method == "GET" else client.post(path, {})
            assert response.status_code == int(status), (method, path, who)
        client.logout()
        response = client.get(path) if method == "GET" else client.post(path, {})
        assert response.status_code == 302 and "login" in response["Location"]
    assert project.updates.count() == 1 and ShareStatement.objects.count() == 1


def test_a_household_sees_its_own_statement_only(world, login, roll):
    from gongzhi.deliberation.models import Member

    Member.objects.create(roll=roll, unit=roll.units.get(code="1-101"), name="业主甲", user=world.resident)
    project = new_project(world, decision=make_decision(world, roll))
    projects.compute_statements(project, actor=world.dispatcher)
    page = text(login(world.resident).get("/deliberation/projects/statements/mine/"))
    assert "东一花园屋面防水" in page and "1-101 应分摊（元）" in page and "333.34" in page
    assert "1-102" not in page and "333.33" not in page
    assert "暂无需要您家分摊的项目" in text(login(world.outsider).get("/deliberation/projects/statements/mine/"))
    assert login(world.resident).get(url(project)).status_code == 404  # the staff page stays closed


def test_edit_page(world, login, roll):
    project = new_project(world)
    projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    client = login(world.dispatcher)
    page = text(client.get(url(project)))
    assert 'id="edit-project"' in page
    form = text(client.get(url(project, "edit/")))
    assert 'value="1500.00"' in form and "修改项目" in form
    response = client.post(url(project, "edit/"), form_data(world, total_cost="1000", owners_share="999.99"))
    assert response.status_code == 400 and "不一致" in text(response)
    response = client.post(url(project, "edit/"), form_data(world, owners_share="900", policy_funds="100"), follow=True)
    assert "原分摊明细已删除" in text(response) and not project.statements.exists()
    assert login(world.handler).get(url(project, "edit/")).status_code == 403
    assert login(world.outsider).get(url(project, "edit/")).status_code == 404
