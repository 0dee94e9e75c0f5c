"""The roll pages: who sees what (outsider and resident 404 for a roll, 403 for the pages), masked
phone numbers, the upload's dry run and confirmation, bad files answered with a 400 and a message."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gongzhi.core.models import AuditLog
from gongzhi.deliberation.models import Decision, Member, VoterRoll

from .test_rolls import GOOD, csv_bytes, xlsx

ROLLS = reverse("deliberation:rolls")
UPLOAD = reverse("deliberation:roll_upload")


def detail(roll) -> str:
    return reverse("deliberation:roll", args=[roll.roll.pk])


def upload_file(data: bytes, name: str = "roll.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def post_upload(client, data: bytes, *, name="roll.xlsx", area=None, url=UPLOAD, **extra):
    payload = {"name": "南山苑业主名册", "kind": "owners", "file": upload_file(data, name), **extra}
    if area is not None:
        payload["area"] = area.pk
    return client.post(url, payload)


# ------------------------------------------------------------------------------------ who sees what


def test_anonymous_is_sent_to_login(client, roll):
    for url in (ROLLS, detail(roll), UPLOAD, reverse("deliberation:roll_template")):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize(("who", "status", "sees", "may_upload"), [
    ("resident", 403, False, False),
    ("outsider", 200, False, False),
    ("worker", 200, False, False),  # a grid worker of 东一网格: the roll is 东一社区's
    ("handler", 200, True, False),
    ("dispatcher", 200, True, True),
    ("admin", 200, True, True),
])
def test_roll_list(login, world, roll, who, status, sees, may_upload):
    response = login(getattr(world, who)).get(ROLLS)
    assert response.status_code == status
    if status == 200:
        text = response.content.decode()
        assert ("东一花园业主名册" in text) is sees
        assert ('id="roll-upload"' in text) is may_upload
        if sees:
            assert "6 户（套） · 9 人 · 525.50 ㎡" in text


@pytest.mark.parametrize("who", ["resident", "outsider", "worker"])
def test_outsiders_get_404_for_a_roll(login, world, roll, who):
    client = login(getattr(world, who))
    assert client.get(detail(roll)).status_code == 404
    assert client.get(reverse("deliberation:roll_replace", args=[roll.roll.pk])).status_code == 404
    assert client.post(reverse("deliberation:roll_delete", args=[roll.roll.pk])).status_code == 404
    assert VoterRoll.objects.filter(pk=roll.roll.pk).exists()


def test_malformed_and_missing_ids_are_404(login, world, roll):
    client = login(world.admin)
    assert client.get("/deliberation/rolls/99999999999999999999/").status_code == 404
    assert client.get("/deliberation/rolls/0/").status_code == 404
    assert client.get("/deliberation/rolls/abc/").status_code == 404


def test_phones_are_masked_for_staff_who_do_not_manage(login, world, roll):
    text = login(world.handler).get(detail(roll)).content.decode()
    assert "139****0002" in text and "13900000002" not in text
    assert "重新导入" not in text and 'id="roll-delete"' not in text
    assert "孟小四" in text and "未成年" in text and "已关联账号" in text
    assert not AuditLog.objects.filter(action="deliberation.view_roll").exists()


def test_managers_see_phones_and_their_read_is_logged(login, world, roll):
    text = login(world.dispatcher).get(detail(roll)).content.decode()
    assert "13900000002" in text and "重新导入" in text and 'id="roll-delete"' in text
    assert "525.50" in text
    row = AuditLog.objects.get(action="deliberation.view_roll")
    assert row.actor == world.dispatcher and row.object_id == str(roll.roll.pk)


def test_detail_lists_the_decisions_on_the_roll(login, world, roll):
    Decision.objects.create(area=world.community_a, roll=roll.roll, title="加装电梯", status=Decision.Status.OPEN)
    text = login(world.dispatcher).get(detail(roll)).content.decode()
    assert "加装电梯" in text and "表决结束前不能重新导入" in text and 'id="roll-delete"' not in text


def test_template_download(login, world):
    response = login(world.worker).get(reverse("deliberation:roll_template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"
    assert login(world.resident).get(reverse("deliberation:roll_template")).status_code == 403


# ------------------------------------------------------------------------------------ upload


@pytest.mark.parametrize("who", ["resident", "worker", "handler", "outsider"])
def test_only_managers_upload(login, world, who):
    client = login(getattr(world, who))
    assert client.get(UPLOAD).status_code == 403
    assert post_upload(client, xlsx(GOOD), area=world.community_a).status_code in (400, 403)
    assert not VoterRoll.objects.exists()


def test_staff_who_do_not_manage_may_not_replace(login, world, roll):
    url = reverse("deliberation:roll_replace", args=[roll.roll.pk])
    client = login(world.handler)
    assert client.get(url).status_code == 403
    assert post_upload(client, xlsx(GOOD), url=url).status_code == 403


def test_outsider_manager_can_not_pick_another_area(login, world):
    """The area list holds only the areas the user manages: street B is not the dispatcher's."""
    response = post_upload(login(world.dispatcher), xlsx(GOOD), area=world.community_b)
    assert response.status_code == 400 and not VoterRoll.objects.exists()


def test_dry_run_then_confirm(login, world):
    client = login(world.dispatcher)
    assert client.get(UPLOAD).status_code == 200
    data = xlsx(GOOD)
    response = post_upload(client, data, area=world.community_a)
    assert response.status_code == 200
    text = response.content.decode()
    assert "试运行" in text and "3 户（套）、4 人" in text and "280.75" in text and "确认导入" in text
    assert not VoterRoll.objects.exists()
    form = response.context["form"]
    digest = form.initial["digest"]
    assert form.initial["commit"] is True and len(digest) == 64
    response = post_upload(client, data, area=world.community_a, commit="True", digest=digest)
    roll = VoterRoll.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("deliberation:roll", args=[roll.pk])
    assert roll.members.count() == 4 and roll.created_by == world.dispatcher


def test_confirm_with_another_file_runs_dry_again(login, world):
    client = login(world.dispatcher)
    response = post_upload(client, xlsx(GOOD), area=world.community_a)
    digest = response.context["form"].initial["digest"]
    response = post_upload(client, csv_bytes(GOOD[:2]), name="other.csv", area=world.community_a, commit="True",
                           digest=digest)
    assert response.status_code == 200 and "文件与试运行时的不同" in response.content.decode()
    assert not VoterRoll.objects.exists()


def test_commit_without_digest_is_a_dry_run(login, world):
    response = post_upload(login(world.dispatcher), xlsx(GOOD), area=world.community_a, commit="True")
    assert response.status_code == 200 and not VoterRoll.objects.exists()


def big_file() -> bytes:
    return b"PK\x03\x04" + b"0" * (5 * 1024 * 1024)


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"hello, this is not a workbook", "roll.xlsx", "不是有效的 xlsx 工作簿"),
    (b"%PDF-1.4\x00", "roll.pdf", "请上传 .xlsx 或 .csv 文件"),
    (b" ", "roll.csv", "文件是空的"),
    (xlsx(GOOD, header=["楼", "房", "面积", "名字"]), "roll.xlsx", "缺少列"),
    (None, "roll.xlsx", "不能超过 5 MB"),
])
def test_bad_files_are_400(login, world, data, name, message):
    data = big_file() if data is None else data
    response = post_upload(login(world.dispatcher), data, name=name, area=world.community_a)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not VoterRoll.objects.exists()


def test_an_empty_upload_and_missing_fields_are_400(login, world):
    client = login(world.dispatcher)
    response = client.post(UPLOAD, {"name": "", "kind": "owners", "area": world.community_a.pk})
    assert response.status_code == 400 and response.context["form"].errors.keys() >= {"name", "file"}
    response = post_upload(client, b"", area=world.community_a)
    assert response.status_code == 400


def test_bad_rows_are_400_with_sheet_row_and_column(login, world):
    rows = [*GOOD, ["1", "1-101", "70", "错面积", "", "", "", "", "", ""]]
    response = post_upload(login(world.dispatcher), xlsx(rows), area=world.community_a,
                           commit="True", digest="0" * 64)
    text = response.content.decode()
    assert response.status_code == 400
    assert "工作表 名册 第 6 行: 建筑面积" in text and "未写入任何数据" in text
    assert not VoterRoll.objects.exists()


def test_replace_through_the_page(login, world, roll):
    url = reverse("deliberation:roll_replace", args=[roll.roll.pk])
    client = login(world.dispatcher)
    response = client.get(url)
    assert response.status_code == 200 and "area" not in response.context["form"].fields
    data = csv_bytes(GOOD)
    response = post_upload(client, data, name="r.csv", url=url)
    assert response.status_code == 200 and "名册原有的 6 户（套）、9 人将被替换" in response.content.decode()
    digest = response.context["form"].initial["digest"]
    response = post_upload(client, data, name="r.csv", url=url, commit="True", digest=digest)
    assert response.status_code == 302
    assert Member.objects.filter(roll=roll.roll).count() == 4


def test_replace_refused_while_open_is_409(login, world, roll):
    Decision.objects.create(area=world.community_a, roll=roll.roll, title="加装电梯", status=Decision.Status.OPEN)
    url = reverse("deliberation:roll_replace", args=[roll.roll.pk])
    response = post_upload(login(world.dispatcher), xlsx(GOOD), url=url)
    assert response.status_code == 409 and "正在进行的表决" in response.content.decode()


# ------------------------------------------------------------------------------------ delete


def test_delete(login, world, roll):
    url = reverse("deliberation:roll_delete", args=[roll.roll.pk])
    assert login(world.handler).post(url).status_code == 403
    assert login(world.dispatcher).get(url).status_code == 405
    response = login(world.dispatcher).post(url)
    assert response.status_code == 302 and response["Location"] == ROLLS
    assert not VoterRoll.objects.exists()


def test_delete_refused_when_used(login, world, roll):
    Decision.objects.create(area=world.community_a, roll=roll.roll, title="草稿")
    client = login(world.dispatcher)
    response = client.post(reverse("deliberation:roll_delete", args=[roll.roll.pk]), follow=True)
    assert "已用于表决" in response.content.decode()
    assert VoterRoll.objects.filter(pk=roll.roll.pk).exists()


def test_pages_fit_a_phone_without_inline_style(login, world, roll):
    for url in (ROLLS, detail(roll), UPLOAD):
        text = login(world.dispatcher).get(url).content.decode()
        assert "style=" not in text and "<script>" not in text
