"""The notice board: who sees what, validity, pinned first, receipts, relay by building heads,
attachments behind the read door, the public board (docs/portal.md#notices)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.portal import notices, queries, residency
from gongzhi.portal.models import Notice, NoticeAttachment, NoticeReceipt

from .test_residency import building, give_role, make_user, verified_home

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}


@pytest.fixture
def town(world):
    """Buildings X (grid A1), Y (grid A2), Z (grid B1, the other street); a verified resident of X,
    one of Z, a pending one at X; building heads of X and Z."""
    x, y, z = building(world.grid_a1, "1号楼"), building(world.grid_a2, "2号楼"), building(world.grid_b1, "9号楼")
    verified_home(world.resident, x)
    other = make_user("res_z", "居民乙")
    verified_home(other, z)
    pending = make_user("res_pending", "居民丙")
    residency.request_residency(pending, area=x, unit="2-201")
    head_x, head_z = make_user("head_x", "栋长甲"), make_user("head_z", "栋长乙")
    give_role(head_x, x, "building_head")
    give_role(head_z, z, "building_head")
    return SimpleNamespace(x=x, y=y, z=z, other=other, pending=pending, head_x=head_x, head_z=head_z)


def post(area, title, **kw):
    kw.setdefault("valid_from", timezone.localdate())
    return notices.publish_notice(None, area=area, title=title, body="正文", **kw)


def titles(qs):
    return {n.title for n in qs}


def test_visibility_by_area(world, town, login):
    today = timezone.localdate()
    post(town.x, "X楼")
    post(world.grid_a1, "东一网格")
    post(world.community_a, "东一社区")
    post(town.y, "Y楼")
    post(world.community_b, "西一社区")
    post(world.community_b, "西一公开", is_public=True)
    mine = {"X楼", "东一网格", "东一社区", "西一公开"}
    assert titles(notices.current_for(world.resident, today)) == mine
    assert titles(notices.current_for(town.other, today)) == {"西一社区", "西一公开"}
    assert titles(notices.current_for(town.pending, today)) == {"西一公开"}
    assert titles(notices.current_for(world.worker, today)) >= {"X楼", "东一网格", "东一社区"}
    assert "Y楼" not in titles(notices.current_for(world.worker, today))  # grid A1's worker, Y is in A2
    assert titles(notices.current_for(world.dispatcher, today)) >= {"X楼", "Y楼", "东一社区"}
    assert "西一社区" not in titles(notices.current_for(world.dispatcher, today))

    board = login(world.resident).get(reverse("portal:notices")).content.decode()
    shown = {n.title for n in Notice.objects.all() if f'id="notice-{n.pk}"' in board}
    assert shown == mine


def test_detail_is_404_outside_and_marks_read_once(world, town, login):
    notice = post(world.community_a, "停水通知")
    url = reverse("portal:notice", args=[notice.pk])
    assert login(town.other).get(url).status_code == 404
    assert login(town.pending).get(url).status_code == 404
    assert login(world.outsider).get(url).status_code == 404
    client = login(world.resident)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    assert NoticeReceipt.objects.filter(notice=notice).count() == 1
    first = NoticeReceipt.objects.get(notice=notice).read_at
    assert notices.mark_read(world.resident, notice).read_at == first
    assert login(world.worker).get(url).status_code == 200  # staff of the area
    staff_page = login(world.dispatcher).get(url).content.decode()
    assert "已读 3 人" in staff_page and "居民甲" in staff_page  # the publisher's receipts


def test_validity_and_pinned_first(world, town, login):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    post(world.community_a, "旧", valid_from=today - 10 * day, valid_until=today - day)
    post(world.community_a, "将来", valid_from=today + day)
    post(world.community_a, "普通一")
    post(world.community_a, "置顶", pinned=True)
    post(world.community_a, "普通二", valid_until=today)
    assert [n.title for n in notices.current_for(world.resident, today)] == ["置顶", "普通二", "普通一"]
    assert titles(notices.expired_for(world.resident, today)) == {"旧"}
    assert not notices.upcoming_for(world.resident, today).exists()  # only publishers see the future
    assert titles(notices.upcoming_for(world.dispatcher, today)) == {"将来"}
    future = Notice.objects.get(title="将来")
    assert login(world.resident).get(reverse("portal:notice", args=[future.pk])).status_code == 404
    page = login(world.resident).get(reverse("portal:notices")).content.decode()
    assert page.index("置顶") < page.index("普通二") < page.index("id=\"expired-notices\"") < page.index("旧")
    with pytest.raises(ValidationError):
        post(world.community_a, "倒序", valid_from=today, valid_until=today - day)


def test_publish_and_withdraw_permissions(world, town, login):
    area = world.community_a
    for user in (world.resident, world.handler, world.outsider, town.head_x):
        with pytest.raises(PermissionDenied):
            notices.publish_notice(user, area=area, title="t", body="b", valid_from=timezone.localdate())
    notice = notices.publish_notice(world.worker, area=world.grid_a1, title="网格通知", body="b",
                                    valid_from=timezone.localdate())
    assert notice.published_by == world.worker
    assert AuditLog.objects.filter(action="portal.notice_publish", object_id=str(notice.pk)).exists()
    assert login(world.resident).get(reverse("portal:notice_new")).status_code == 403
    with pytest.raises(PermissionDenied):
        notices.withdraw(world.outsider, notice)
    assert login(world.resident).post(reverse("portal:notice_withdraw", args=[notice.pk])).status_code == 403
    notices.withdraw(world.worker, notice)
    assert not notices.current_for(world.resident).exists()
    with pytest.raises(ValidationError):
        notices.withdraw(world.worker, notice)


def test_publish_page_with_attachment(world, town, login):
    client = login(world.worker)
    assert client.get(reverse("portal:notice_new")).status_code == 200
    response = client.post(reverse("portal:notice_new"), {
        "area": world.grid_a1.pk, "title": "消防检查", "body": "周三上午", "valid_from": timezone.localdate(),
        "pinned": "on", "attachments": [SimpleUploadedFile("检查表.pdf", PDF, "application/pdf")]})
    assert response.status_code == 302
    notice = Notice.objects.get(title="消防检查")
    assert notice.pinned and notice.published_by == world.worker
    attachment = notice.attachments.get()
    assert attachment.name == "检查表.pdf" and attachment.content_type == "application/pdf"
    assert "检查表" not in attachment.file.name  # stored under a random name


@pytest.mark.parametrize("name,data,message", [
    ("run.exe", b"MZ\x90\x00", "类型不支持"),
    ("fake.pdf", b"<html><script>alert(1)</script>", "内容与其类型不符"),
    ("empty.xlsx", b"", "空文件"),
])
def test_bad_uploads_refused_with_a_clear_message(world, town, login, name, data, message):
    response = login(world.worker).post(reverse("portal:notice_new"), {
        "area": world.grid_a1.pk, "title": "坏附件", "body": "b", "valid_from": timezone.localdate(),
        "attachments": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Notice.objects.filter(title="坏附件").exists()


def test_too_large_and_too_many_attachments(world, town, monkeypatch):
    monkeypatch.setattr(notices, "MAX_ATTACHMENT_BYTES", 20)
    with pytest.raises(ValidationError) as exc:
        post(world.grid_a1, "大", attachments=[SimpleUploadedFile("a.pdf", PDF)])
    assert "超过" in str(exc.value)
    monkeypatch.setattr(notices, "MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
    files = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(notices.MAX_ATTACHMENTS + 1)]
    with pytest.raises(ValidationError) as exc:
        post(world.grid_a1, "多", attachments=files)
    assert "最多 5 个附件" in str(exc.value)
    assert not Notice.objects.filter(title__in=["大", "多"]).exists()


def test_attachment_download_behind_the_read_door(world, town, login, client):
    notice = post(world.community_a, "带附件", attachments=[
        SimpleUploadedFile("表.xlsx", b"PK\x03\x04" + b"\x00" * 40),
        SimpleUploadedFile("p.pdf", PDF)])
    xlsx, pdf = notice.attachments.order_by("pk")
    url = reverse("portal:notice_attachment", args=[notice.pk, pdf.pk])
    assert client.get(url).status_code == 302  # anonymous: sign in first
    assert login(town.other).get(url).status_code == 404
    assert login(world.outsider).get(url).status_code == 404
    response = login(world.resident).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf" and response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response["Content-Disposition"]
    other = post(world.community_b, "另一条")
    assert login(world.resident).get(
        reverse("portal:notice_attachment", args=[other.pk, xlsx.pk])).status_code == 404
    notices.withdraw(None, notice)
    assert login(world.resident).get(url).status_code == 404


def test_relay_only_by_building_heads_inside_the_area(world, town, login):
    notice = post(world.grid_a1, "入户宣传", needs_relay=True)
    plain = post(world.grid_a1, "普通")
    with pytest.raises(PermissionDenied):
        notices.mark_relayed(town.head_z, notice)  # a building in the other street
    with pytest.raises(PermissionDenied):
        notices.mark_relayed(world.worker, notice)  # not a building head
    with pytest.raises(PermissionDenied):
        notices.mark_relayed(town.head_x, plain)  # nothing to relay
    head_y = make_user("head_y", "栋长丙")
    give_role(head_y, town.y, "building_head")  # building Y is in grid A2, outside the notice's area
    with pytest.raises(PermissionDenied):
        notices.mark_relayed(head_y, notice)
    assert notices.relay_status(notice)["expected"] == 1

    client = login(town.head_x)
    page = client.get(reverse("portal:notice", args=[notice.pk])).content.decode()
    assert "我已逐户传达" in page
    assert client.post(reverse("portal:notice_relay", args=[notice.pk])).status_code == 302
    first = NoticeReceipt.objects.get(notice=notice, user=town.head_x).relayed_at
    assert first is not None
    notices.mark_relayed(town.head_x, notice)
    assert NoticeReceipt.objects.get(notice=notice, user=town.head_x).relayed_at == first  # set once
    assert AuditLog.objects.filter(action="portal.notice_relay", object_id=str(notice.pk)).count() == 1
    assert login(town.head_z).post(reverse("portal:notice_relay", args=[notice.pk])).status_code == 404

    status = notices.relay_status(Notice.objects.get(pk=post(world.community_a, "全社区", needs_relay=True).pk))
    assert (status["expected"], status["relayed"]) == (2, 0)  # heads of X and Y
    assert (notices.relay_status(notice)["expected"], notices.relay_status(notice)["relayed"]) == (1, 1)
    publisher_page = login(world.worker).get(reverse("portal:notice", args=[notice.pk])).content.decode()
    assert "逐户传达：1 / 1" in publisher_page


def test_public_board_without_login(world, town, client):
    today = timezone.localdate()
    post(world.community_a, "社区公开", is_public=True, pinned=True)
    post(town.x, "楼内公开", is_public=True)
    post(world.community_a, "内部")
    post(world.community_a, "过期公开", is_public=True, valid_from=today - datetime.timedelta(days=5),
         valid_until=today - datetime.timedelta(days=1))
    post(world.community_b, "西一公开", is_public=True)
    page = client.get(reverse("portal:public_board", args=[town.x.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "社区公开" in text and "楼内公开" in text
    assert "内部" not in text and "过期公开" not in text and "西一公开" not in text
    assert client.get(reverse("portal:public_board", args=[999999])).status_code == 404
    assert client.get(reverse("portal:notices")).status_code == 302  # my board needs a sign-in
    public = Notice.objects.get(title="社区公开")
    assert titles(queries.visible_notices(None)) == {"社区公开", "楼内公开", "过期公开", "西一公开"}
    assert client.get(reverse("portal:notice", args=[public.pk])).status_code == 302


def test_public_attachment_downloads_without_login(world, town, client):
    notice = post(world.community_a, "公开附件", is_public=True,
                  attachments=[SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)])
    item = NoticeAttachment.objects.get(notice=notice)
    response = client.get(reverse("portal:notice_attachment", args=[notice.pk, item.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_staff_filter_by_area_and_moving_out_closes_the_board(world, town, login):
    x_notice = post(town.x, "X楼停电")
    post(world.community_a, "社区活动")
    client = login(world.dispatcher)
    everything = client.get(reverse("portal:notices")).content.decode()
    assert "X楼停电" in everything and "社区活动" in everything and 'id="notice-filter"' in everything
    only_x = client.get(reverse("portal:notices"), {"area": town.x.pk}).content.decode()
    assert "X楼停电" in only_x and "社区活动" not in only_x
    assert client.get(reverse("portal:notices"), {"area": "nonsense"}).status_code == 200

    url = reverse("portal:notice", args=[x_notice.pk])
    assert login(world.resident).get(url).status_code == 200
    home = residency.mine(world.resident).get()
    residency.move_out(world.resident, home)
    assert login(world.resident).get(url).status_code == 404
    assert not notices.current_for(world.resident).exists()
