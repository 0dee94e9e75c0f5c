"""The case pages through Django's test client: who sees which page, every action form through
POST, clear messages for wrong states (never a 500), bulk dispatch, and who may see which photo."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from gongzhi.cases import intake, services
from gongzhi.cases.choices import LocateStatus, Status
from gongzhi.cases.models import Case, CaseEvent, CasePhoto
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role

pytestmark = pytest.mark.django_db
IN_A1 = (100.05, 30.05)
IN_A2 = (100.15, 30.05)
IN_B1 = (100.55, 30.05)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Photos go to a temporary folder, not var/media."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "m")}}}


def jpeg(name: str = "photo.jpg", color: str = "red") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def report(world, user=None, *, where=IN_A1, photos=(), **kw) -> Case:
    data = {"title": "路边垃圾堆", "lon": where[0], "lat": where[1], "photos": list(photos), **kw}
    case, _created = intake.report_case(intake.Report(**data), reporter=user or world.resident)
    return case


def post(client, case: Case, action: str, data: dict | None = None, **kw):
    return client.post(f"/cases/{case.number}/{action}/", data or {}, **kw)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def action_ids(html: str) -> set[str]:
    return set(re.findall(r'id="act-([a-z_]+)"', html))


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --------------------------------------------------------------------------- pages and who sees them


def test_each_page_renders_for_the_right_actors(world, directory, login):
    mine = report(world, category=directory["garbage"])
    other = report(world, world.outsider, where=IN_B1)

    client = login(world.dispatcher)
    page = client.get("/cases/")
    assert page.status_code == 200 and mine.number in page.content.decode()
    assert other.number not in page.content.decode()  # street B is not the dispatcher's
    assert 'id="bulk"' in page.content.decode()       # command center: bulk dispatch
    assert client.get(f"/cases/{mine.number}/").status_code == 200
    assert client.get("/cases/start/").url == "/cases/"

    client = login(world.worker)  # a grid worker: the queue of grid A1, no bulk dispatch
    page = client.get("/cases/")
    assert page.status_code == 200 and mine.number in page.content.decode()
    assert 'id="bulk"' not in page.content.decode()
    assert client.get("/cases/mine/").status_code == 200

    client = login(world.handler)
    assert client.get("/cases/start/").url == "/cases/inbox/"
    assert client.get("/cases/inbox/").status_code == 200

    client = login(world.resident)  # no jurisdiction: the queue is "my cases"
    assert client.get("/cases/").url == "/cases/mine/"
    assert client.get("/cases/start/").url == "/cases/mine/"
    assert client.get("/cases/inbox/").status_code == 302
    page = client.get("/cases/mine/")
    assert mine.number in page.content.decode() and other.number not in page.content.decode()
    detail = client.get(f"/cases/{mine.number}/").content.decode()
    assert action_ids(detail) == {"withdraw"}  # the reporter may only take it back before filing

    client.logout()
    assert client.get("/cases/").status_code == 302  # to the login page
    assert client.get(f"/cases/{mine.number}/").status_code == 302


def test_the_menu_has_a_cases_link(world, login):
    assert 'href="/cases/start/"' in login(world.resident).get("/").content.decode()


def test_outsiders_get_404_on_detail_photos_and_actions(world, directory, login):
    case = report(world, photos=[jpeg()], category=directory["garbage"])
    photo = case.photos.get()
    client = login(world.outsider)
    assert client.get(f"/cases/{case.number}/").status_code == 404
    assert client.get("/cases/990101-20000101-9999/").status_code == 404  # missing: the same answer
    for kind in ("thumbnail", "public", "image"):
        assert client.get(f"/cases/{case.number}/photos/{photo.pk}/{kind}").status_code == 404
    for action in ("file", "dispatch", "withdraw", "rate", "locate"):
        assert post(client, case, action, {"department": world.police_a.pk}).status_code == 404
    assert fresh(case).status == Status.REPORTED
    assert f'href="/cases/{case.number}/"' not in client.get(f"/cases/?q={case.number}&status=").content.decode()


def test_queue_filters_search_and_lookahead_paging(world, directory, login):
    Case.objects.bulk_create([
        Case(number=f"990101-20260101-{i:04d}", title=f"积水 {i}", status=Status.FILED, area=world.grid_a1,
             area_path=world.grid_a1.path, category=directory["street"]) for i in range(55)])
    target = report(world, category=directory["garbage"], address="东街道幸福路 12 号")
    Case.objects.filter(pk=target.pk).update(overdue=True)
    client = login(world.dispatcher)

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/cases/")
    html = page.content.decode()
    assert page.status_code == 200 and "下一页" in html and "上一页" not in html
    assert html.count('<tr class="case') == 50
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "cases_case" in q["sql"]]
    assert len(queries.captured_queries) < 15  # no query per row
    html = client.get("/cases/?page=2").content.decode()
    assert html.count('<tr class="case') == 6 and "下一页" not in html and "上一页" in html

    def numbers(query: str) -> set[str]:
        return set(re.findall(r'href="/cases/([0-9-]+)/"', client.get("/cases/?" + query).content.decode()))

    assert numbers("q=幸福路") == {target.number}
    assert numbers(f"q={target.number}") == {target.number}
    assert numbers("q=路边垃圾") == {target.number}
    assert numbers("overdue=1") == {target.number}
    assert numbers(f"category={directory['garbage'].pk}") == {target.number}
    assert numbers("status=reported") == {target.number}
    assert numbers("source=hotline") == set()
    assert numbers(f"area={world.grid_a2.pk}") == set()
    assert len(numbers(f"area={world.community_a.pk}")) == 50
    assert numbers(f"department={world.police_a.pk}") == set()
    # Nonsense and areas outside the jurisdiction are ignored, never a 500.
    for query in ("page=abc", "page=-4", "page=99999999999", "category=x", f"area={world.street_b.pk}",
                  "status=nope", "overdue=maybe", "area=99999999999999999999", "q=" + "x" * 500):
        assert client.get("/cases/?" + query).status_code == 200, query


def test_to_be_located_cases_are_the_city_centers(world, directory, login):
    case = report(world, where=(None, None), address="东街道某巷口")
    assert case.locate_status == LocateStatus.TO_LOCATE
    city_dispatcher = org_services.create_user(actor=None, username="city", password="x" * 12, display_name="市调度")
    org_services.assign_role(actor=None, user=city_dispatcher, area=world.city, role=Role.objects.get(code="dispatcher"))
    client = login(city_dispatcher)
    html = client.get("/cases/?to_locate=1").content.decode()
    assert case.number in html and "待定位" in html
    assert case.number not in login(world.dispatcher).get("/cases/?to_locate=1&status=").content.decode()

    client = login(city_dispatcher)
    detail = client.get(f"/cases/{case.number}/").content.decode()
    assert "locate" in action_ids(detail) and world.grid_a1.name in detail
    # The grid search (htmx) lists grid-level areas by name or code.
    options = client.get("/cases/areas/?area_q=东二").content.decode()
    assert world.grid_a2.name in options and world.grid_a1.name not in options
    assert world.grid_a2.name not in login(world.outsider).get("/cases/areas/?area_q=东二").content.decode()

    client = login(city_dispatcher)
    response = post(client, case, "locate", {"area": world.street_a.pk}, follow=True)
    assert "请选择你辖区内的网格" in " ".join(messages_of(response))
    response = post(client, case, "locate", {"lon": "120", "lat": "20"}, follow=True)
    assert "不在你辖区" in " ".join(messages_of(response))
    response = post(client, case, "locate", {"lon": "abc", "lat": "1"}, follow=True)
    assert response.status_code == 200 and messages_of(response)
    response = post(client, case, "locate", {"lon": str(IN_A2[0]), "lat": str(IN_A2[1])}, follow=True)
    assert "已定位到 东二网格" in messages_of(response)
    case = fresh(case)
    assert case.area == world.grid_a2 and case.locate_status == LocateStatus.LOCATED and case.lon == IN_A2[0]
    # Now in street A: its dispatcher sees it.
    assert login(world.dispatcher).get(f"/cases/{case.number}/").status_code == 200


# --------------------------------------------------------------------------- the loop through the forms


def test_every_step_of_the_loop_through_the_forms(world, directory, supervisor, login):
    case = report(world, photos=[jpeg()])
    client = login(world.dispatcher)
    html = client.get(f"/cases/{case.number}/").content.decode()
    assert action_ids(html) == {"check", "file", "not_file", "merge", "locate", "set_urgent"}
    assert "上报" in html and "居民甲" in html

    response = post(client, case, "file", {"category": directory["garbage"].pk, "urgent": "1"}, follow=True)
    assert response.status_code == 200 and "已立案，请派遣" in messages_of(response)
    html = response.content.decode()
    assert action_ids(html) == {"dispatch", "merge", "locate", "set_urgent"}
    assert f'<optgroup label="推荐"><option value="{world.police_a.pk}" selected>东派出所' in html
    assert fresh(case).urgent

    response = post(client, case, "dispatch", {"department": world.police_a.pk, "note": "请尽快"}, follow=True)
    assert "已派遣至 东派出所" in messages_of(response)
    assert action_ids(response.content.decode()) == {"locate", "set_urgent"}

    client = login(world.handler)
    inbox = client.get("/cases/inbox/").content.decode()
    assert case.number in inbox
    assert action_ids(client.get(f"/cases/{case.number}/").content.decode()) == {
        "accept", "return", "request_extension"}
    response = post(client, case, "accept", follow=True)
    assert "已签收，请尽快处置" in messages_of(response)
    assert action_ids(response.content.decode()) == {"return", "request_extension", "handle"}
    assert case.number in client.get("/cases/inbox/?tab=in_progress").content.decode()
    assert case.number not in client.get("/cases/inbox/?tab=to_accept").content.decode()

    response = post(client, case, "request_extension", {"amount": "2", "unit": "working_days", "reason": "需协调"},
                    follow=True)
    assert "延期申请已提交，等待审批" in messages_of(response)
    assert "request_extension" not in action_ids(response.content.decode())
    client = login(world.dispatcher)
    html = client.get(f"/cases/{case.number}/").content.decode()
    assert "decide_extension" in action_ids(html) and "需协调" in html
    before = fresh(case).due_at
    response = post(client, case, "decide_extension", {"decision": "approve"}, follow=True)
    assert "已同意延期" in messages_of(response) and fresh(case).due_at > before

    client = login(world.handler)
    response = post(client, case, "handle", {"note": "已清理", "photos": [jpeg("a.jpg"), jpeg("b.jpg", "blue")]},
                    follow=True)
    assert "已提交处置结果，等待核查" in messages_of(response)
    event = CaseEvent.objects.get(case=case, action="handle")
    assert event.photos.count() == 2 and set(event.photos.values_list("stage", flat=True)) == {"handle"}
    assert action_ids(response.content.decode()) == set()

    client = login(supervisor)
    assert action_ids(client.get(f"/cases/{case.number}/").content.decode()) == {"verify"}
    response = post(client, case, "verify", {"result": "failed"}, follow=True)
    assert "核查不通过时请说明原因" in messages_of(response) and fresh(case).status == Status.HANDLED
    response = post(client, case, "verify", {"result": "failed", "note": "没清干净"}, follow=True)
    assert "核查不通过，已退回返工" in messages_of(response)
    case = fresh(case)
    assert case.status == Status.IN_PROGRESS and case.rework_count == 1

    post(login(world.handler), case, "handle", {"note": "再次清理"})
    response = post(login(supervisor), case, "verify", {"result": "passed"}, follow=True)
    assert "核查通过，案件已结案" in messages_of(response) and fresh(case).status == Status.CLOSED

    client = login(world.resident)
    html = client.get("/cases/mine/").content.decode()
    assert "待评价" in html
    assert action_ids(client.get(f"/cases/{case.number}/").content.decode()) == {"rate"}
    response = post(client, case, "rate", {"rating": "satisfied", "comment": "很快"}, follow=True)
    assert "感谢你的评价" in messages_of(response)
    html = response.content.decode()
    assert action_ids(html) == set()
    for label in ("上报", "立案", "派遣", "签收", "申请延期", "审批延期", "处置完成", "核查", "评价"):
        assert f'<strong class="ev-label">{label}</strong>' in html
    assert re.search(r'<span class="ev-actor">民警甲</span> · <time[^>]*>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</time>', html)
    assert "不通过，返工" in html and "通过，结案" in html and "满意" in html


def test_triage_actions_check_not_file_withdraw_merge_urgent(world, directory, supervisor, login):
    first, second, third = (report(world, title=t) for t in ("井盖缺失", "井盖缺失了", "噪音"))
    client = login(supervisor)
    assert action_ids(client.get(f"/cases/{first.number}/").content.decode()) == {"check"}
    response = post(client, first, "check", {"confirmed": "yes", "note": "现场属实"}, follow=True)
    assert "已核实：情况属实" in messages_of(response)
    response = post(client, first, "check", {}, follow=True)
    assert "请选择核实结果" in messages_of(response)

    client = login(world.dispatcher)
    response = post(client, second, "merge", {"master": "990101-00000000-0000"}, follow=True)
    assert "找不到案件 990101-00000000-0000" in messages_of(response)
    response = post(client, second, "merge", {"master": first.number}, follow=True)
    assert f"已合并至 {first.number}" in messages_of(response)
    assert fresh(second).status == Status.MERGED and fresh(second).master_id == first.pk
    assert second.number in client.get(f"/cases/{first.number}/").content.decode()  # listed as duplicate

    response = post(client, first, "set_urgent", {"urgent": "1"}, follow=True)
    assert "已标记为紧急" in messages_of(response) and fresh(first).urgent
    response = post(client, first, "not_file", {"reason": ""}, follow=True)
    assert "请填写不予立案的理由" in messages_of(response)
    response = post(client, first, "not_file", {"reason": "不属于受理范围"}, follow=True)
    assert "已不予立案" in messages_of(response) and fresh(first).status == Status.NOT_FILED

    client = login(world.resident)
    response = post(client, third, "withdraw", {"reason": "已自行解决"}, follow=True)
    assert "已撤回" in messages_of(response) and fresh(third).status == Status.WITHDRAWN
    assert "不予立案" in client.get(f"/cases/{first.number}/").content.decode()  # the reporter sees why


def test_return_and_redispatch(world, directory, login):
    case = report(world, category=directory["street"])
    client = login(world.dispatcher)
    post(client, case, "file")  # the reported category is kept
    html = client.get(f"/cases/{case.number}/").content.decode()
    assert "推荐" not in html and "东派出所" in html  # no rule for 店外经营: no suggestion, every department
    post(client, case, "dispatch", {"department": world.police_a.pk})
    client = login(world.handler)
    response = post(client, case, "return", {"reason": ""}, follow=True)
    assert "请填写退回理由" in messages_of(response)
    response = post(client, case, "return", {"reason": "不属于派出所职责"}, follow=True)
    assert "已退回指挥中心" in messages_of(response)
    case = fresh(case)
    assert case.status == Status.RETURNED and case.return_count == 1
    client = login(world.dispatcher)
    assert "dispatch" in action_ids(client.get(f"/cases/{case.number}/").content.decode())
    post(client, case, "dispatch", {"department": world.police_a.pk})
    assert fresh(case).status == Status.DISPATCHED


def test_wrong_state_and_wrong_actor_give_clear_messages_never_a_500(world, directory, login):
    case = report(world, category=directory["garbage"])
    client = login(world.dispatcher)
    post(client, case, "file")
    response = post(client, case, "file", follow=True)  # twice: someone else was faster
    assert response.status_code == 200
    assert any("已立案待派遣" in m and "不能立案" in m for m in messages_of(response))
    assert 'class="error"' in response.content.decode()
    response = post(client, case, "accept", follow=True)  # the dispatcher is no department
    assert response.status_code == 403 and "你无权对该案件执行“签收”" in response.content.decode()

    client = login(world.resident)  # the reporter may see the case, not file it
    response = post(client, case, "file")
    assert response.status_code == 403 and "你无权" in response.content.decode()
    response = post(client, case, "rate", {"rating": "satisfied"}, follow=True)
    assert response.status_code == 200 and any("不能评价" in m for m in messages_of(response))

    client = login(world.dispatcher)
    for action, data in [("dispatch", {}), ("dispatch", {"department": "abc"}), ("dispatch", {"department": 10**30}),
                         ("file", {"category": "999999"}), ("request_extension", {"amount": "x"}),
                         ("decide_extension", {}), ("rate", {"rating": "great"}), ("merge", {"master": ""}),
                         ("locate", {}), ("handle", {"note": "x"})]:
        response = post(client, case, action, data, follow=True)
        assert response.status_code in (200, 403), (action, data)
        assert response.status_code == 403 or messages_of(response), (action, data)
    assert client.post(f"/cases/{case.number}/nonsense/").status_code == 404
    assert client.get(f"/cases/{case.number}/file/").status_code == 405


def test_a_bad_photo_loses_nothing(world, directory, login):
    case = report(world, category=directory["garbage"])
    services.file_case(case, actor=world.dispatcher)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(case, actor=world.handler)
    client = login(world.handler)
    bad = SimpleUploadedFile("x.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    response = post(client, case, "handle", {"note": "已处理", "photos": [jpeg(), bad]}, follow=True)
    assert "文件不是可识别的照片" in messages_of(response)
    assert fresh(case).status == Status.IN_PROGRESS
    assert not CaseEvent.objects.filter(case=case, action="handle").exists() and not CasePhoto.objects.exists()


def test_bulk_dispatch_reports_each_case_and_one_failure_undoes_nothing(world, directory, login):
    ready = [report(world, category=directory["garbage"]) for _ in range(2)]
    for case in ready:
        services.file_case(case, actor=world.dispatcher)
    not_filed = report(world, category=directory["garbage"])
    elsewhere = report(world, world.outsider, where=IN_B1)
    client = login(world.dispatcher)
    response = client.post("/cases/bulk-dispatch/", {
        "cases": [ready[0].number, not_filed.number, elsewhere.number, ready[1].number],
        "department": world.police_a.pk, "next": "/cases/?status=filed"}, follow=True)
    assert response.redirect_chain[-1][0] == "/cases/?status=filed"
    texts = messages_of(response)
    assert f"案件 {ready[0].number} 已派遣至 东派出所" in texts
    assert f"案件 {ready[1].number} 已派遣至 东派出所" in texts
    assert any(t.startswith(f"案件 {not_filed.number}：") and "不能派遣" in t for t in texts)
    assert f"案件 {elsewhere.number}：未找到" in texts
    assert [fresh(c).status for c in ready] == [Status.DISPATCHED, Status.DISPATCHED]
    assert fresh(not_filed).status == Status.REPORTED and fresh(elsewhere).status == Status.REPORTED

    response = client.post("/cases/bulk-dispatch/", {"cases": [not_filed.number], "department": ""}, follow=True)
    assert "请选择有效的处置部门" in messages_of(response)
    response = client.post("/cases/bulk-dispatch/", {"department": world.police_a.pk, "next": "https://evil.example/"},
                           follow=True)
    assert "请先勾选要派遣的案件" in messages_of(response) and response.redirect_chain[-1][0] == "/cases/"
    # A grid worker is no command center: every case is refused, none moves.
    services.file_case(not_filed, actor=world.dispatcher)
    response = login(world.worker).post("/cases/bulk-dispatch/", {
        "cases": [not_filed.number], "department": world.police_a.pk}, follow=True)
    assert any("你无权" in t for t in messages_of(response)) and fresh(not_filed).status == Status.FILED


def test_department_inbox_tabs(world, directory, login):
    cases = [report(world, category=directory["garbage"]) for _ in range(3)]
    for case in cases:
        services.file_case(case, actor=world.dispatcher)
        services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(cases[1], actor=world.handler)
    services.accept_case(cases[2], actor=world.handler)
    Case.objects.filter(pk=cases[2].pk).update(overdue=True)
    client = login(world.handler)

    def listed(tab: str) -> set[str]:
        html = client.get(f"/cases/inbox/?tab={tab}").content.decode()
        return set(re.findall(r'href="/cases/([0-9-]+)/"', html))

    assert listed("to_accept") == {cases[0].number}
    assert listed("in_progress") == {cases[1].number, cases[2].number}
    assert listed("overdue") == {cases[2].number}
    assert listed("nonsense") == {cases[0].number}
    html = client.get("/cases/inbox/?tab=overdue").content.decode()
    assert '<span class="count">1</span>' in html and "超期" in html


def test_my_cases_search(world, directory, login):
    first = report(world, title="楼道堆物", address="幸福小区 3 栋")
    second = report(world, title="路灯不亮")
    report(world, world.worker, title="网格员自己的")
    client = login(world.resident)
    html = client.get("/cases/mine/?q=幸福小区").content.decode()
    assert first.number in html and second.number not in html
    html = client.get("/cases/mine/").content.decode()
    assert first.number in html and second.number in html and "网格员自己的" not in html
    assert "没有找到匹配的案件" in client.get("/cases/mine/?q=不存在").content.decode()


# --------------------------------------------------------------------------- photos


def test_photo_permissions(world, directory, login):
    case = report(world, photos=[jpeg()], category=directory["garbage"])
    photo = case.photos.get()
    base = f"/cases/{case.number}/photos/{photo.pk}"

    client = login(world.resident)  # the reporter: the public copy and the thumbnail, not the original
    for kind in ("public", "thumbnail"):
        response = client.get(f"{base}/{kind}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == "inline"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert client.get(f"{base}/image").status_code == 404
    detail = client.get(f"/cases/{case.number}/").content.decode()
    assert f"{base}/thumbnail" in detail and f"{base}/public" in detail and f"{base}/image" not in detail

    client = login(world.dispatcher)  # the command center sees the original
    assert client.get(f"{base}/image").status_code == 200
    assert f"{base}/image" in client.get(f"/cases/{case.number}/").content.decode()

    services.file_case(case, actor=world.dispatcher)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    client = login(world.handler)  # the department: public copies only
    assert client.get(f"{base}/public").status_code == 200
    assert client.get(f"{base}/image").status_code == 404

    other = report(world, photos=[jpeg()])
    assert client.get(f"/cases/{other.number}/photos/{photo.pk}/public").status_code == 404  # not its photo
    assert login(world.resident).get(f"/cases/{other.number}/photos/{photo.pk}/public").status_code == 404
    assert login(world.resident).get(f"{base}/original").status_code == 404
    assert login(world.resident).get(f"/cases/{case.number}/photos/99999999999999999999/public").status_code == 404


def test_auto_dispatch_error_reopens_the_form_and_english_pages_render(world, directory, login):
    case = report(world, world.worker, category=directory["garbage"], source="patrol")
    assert case.status == Status.DISPATCHED
    client = login(world.worker)
    html = client.get(f"/cases/{case.number}/").content.decode()
    assert '<strong class="ev-label">自动派遣</strong>' in html and "系统" in html
    with CaptureQueriesContext(connection) as queries:
        assert case.number in client.get("/cases/mine/").content.decode()
    assert len(queries.captured_queries) < 12

    client = login(world.handler)
    response = post(client, case, "return", {"reason": " "})
    assert response.url == f"/cases/{case.number}/?open=return"
    html = client.get(response.url).content.decode()
    assert '<details class="act" id="act-return" open>' in html
    assert '<details class="act" id="act-accept">' in html

    client.cookies["django_language"] = "en"
    for url in ("/cases/", "/cases/inbox/", "/cases/mine/", f"/cases/{case.number}/"):
        response = client.get(url)
        assert response.status_code == 200 and '<html lang="en">' in response.content.decode(), url


def test_an_unsatisfied_rating_can_reopen_the_case_once(world, directory, supervisor, login):
    case = report(world, category=directory["garbage"])
    services.file_case(case, actor=world.dispatcher)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(case, actor=world.handler)
    services.handle_case(case, actor=world.handler, note="已处理")
    services.verify_case(case, actor=supervisor, passed=True)
    client = login(world.resident)
    response = post(client, case, "rate", {"rating": "basic", "reopen": "1"}, follow=True)
    assert "只有不满意时可以要求重新办理" in messages_of(response) and fresh(case).status == Status.CLOSED
    response = post(client, case, "rate", {"rating": "unsatisfied", "comment": "还有垃圾", "reopen": "1"},
                    follow=True)
    assert "已要求重新办理" in messages_of(response)
    case = fresh(case)
    assert case.status == Status.IN_PROGRESS and case.reopen_count == 1
    assert case.number in login(world.handler).get("/cases/inbox/?tab=in_progress").content.decode()
