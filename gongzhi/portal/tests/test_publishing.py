"""Who published it (the body for residents, the person for publishers), withdrawn notices for their
publishers only, and no orphan file after a failed publish (docs/portal.md#publisher)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.portal import disclosures, notices, queries
from gongzhi.portal.models import DisclosureAttachment, Notice, NoticeAttachment

from .test_residency import give_role, make_user, verified_home

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def secretary(world):
    user = make_user("secretary", "书记甲")
    give_role(user, world.community_a, "party_secretary")
    verified_home(world.resident, world.grid_a1)
    return user


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()]


# ------------------------------------------------------------------------------ the publishing body


def test_publishing_body_is_the_area_and_role_not_the_person(world, secretary):
    assert queries.publishing_body(secretary, world.grid_a1) == "东一社区 · 社区书记"
    assert queries.publishing_body(world.worker, world.grid_a1) == "东一网格 · 网格员"
    assert queries.publishing_body(world.dispatcher, world.grid_a1) == "东街道 · 派遣员"  # command center
    assert queries.publishing_body(None, world.grid_a1) == "东一网格"  # the system: the area itself
    assert queries.publishing_body(world.admin, world.community_a) == "东一社区"


def test_disclosure_history_shows_the_body_to_residents_and_the_person_to_publishers(
        world, secretary, login, client):
    item = disclosures.create_disclosure(secretary, area=world.grid_a1, kind="rules", title="议事规则",
                                         is_public=True)
    disclosures.publish_version(secretary, item, body="第一条")
    disclosures.publish_version(secretary, item, body="第一条（修订）", change_note="修订")
    for path in (reverse("portal:disclosure", args=[item.pk]), reverse("portal:disclosure_version", args=[item.pk, 1])):
        for viewer in (login(world.resident), client):
            if viewer is client:
                client.logout()
            page = viewer.get(path).content.decode()
            assert "东一社区 · 社区书记" in page and "书记甲" not in page
        page = login(secretary).get(path).content.decode()
        assert "东一社区 · 社区书记" in page and "书记甲" in page
    assert "书记甲" not in login(world.worker).get(reverse("portal:disclosure", args=[item.pk])).content.decode()


def test_notice_shows_the_body_to_residents_and_on_the_public_board(world, secretary, login, client):
    notice = notices.publish_notice(secretary, area=world.community_a, title="停水", body="周六",
                                    valid_from=timezone.localdate(), is_public=True)
    url = reverse("portal:notice", args=[notice.pk])
    page = login(world.resident).get(url).content.decode()
    assert "东一社区 · 社区书记" in page and "书记甲" not in page
    assert "书记甲" in login(secretary).get(url).content.decode()
    client.logout()
    board = client.get(reverse("portal:public_board", args=[world.grid_a1.pk])).content.decode()
    assert "停水" in board and "东一社区 · 社区书记" in board and "书记甲" not in board


# ------------------------------------------------------------------------------ withdrawn notices


def test_withdrawn_notices_stay_findable_for_publishers_only(world, secretary, login):
    notice = notices.publish_notice(secretary, area=world.grid_a1, title="已作废的通知", body="b",
                                    valid_from=timezone.localdate())
    notices.withdraw(world.worker, notice)
    url = reverse("portal:notice", args=[notice.pk])

    assert login(world.resident).get(url).status_code == 404
    assert "已作废的通知" not in login(world.resident).get(reverse("portal:notices")).content.decode()
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.handler).get(url).status_code == 404  # sees the area, may not publish there
    assert list(notices.withdrawn_for(world.resident)) == list(notices.withdrawn_for(world.handler)) == []

    for publisher in (world.worker, secretary, world.dispatcher):
        board = login(publisher).get(reverse("portal:notices")).content.decode()
        assert 'id="withdrawn-notices"' in board and "已作废的通知" in board and "网格员甲" in board
        page = login(publisher).get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert 'id="withdrawn-note"' in text and "网格员甲" in text and 'id="withdraw-form"' not in text
    assert not notice.receipts.exists()  # opening a withdrawn notice is not a reading
    again = login(world.worker).post(reverse("portal:notice_withdraw", args=[notice.pk]))
    assert again.status_code == 302  # "already withdrawn", not a 404 for its publisher


# ------------------------------------------------------------------------------ no orphan files


def _failing_audit(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(audit, "record", boom)


def test_a_failed_notice_publish_leaves_no_attachment_file(world, secretary, storage, monkeypatch):
    _failing_audit(monkeypatch)
    with pytest.raises(RuntimeError):
        notices.publish_notice(secretary, area=world.grid_a1, title="失败", body="b", valid_from=timezone.localdate(),
                               attachments=[SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF)])
    assert not Notice.objects.exists() and not NoticeAttachment.objects.exists()
    assert stored_files(storage) == []


def test_a_failed_disclosure_publish_leaves_no_receipt_file(world, secretary, storage, monkeypatch):
    item = disclosures.create_disclosure(secretary, area=world.grid_a1, kind="rules", title="规则")
    _failing_audit(monkeypatch)
    with pytest.raises(RuntimeError):
        disclosures.publish_version(secretary, item, body="第一条", attachments=[SimpleUploadedFile("r.pdf", PDF)])
    assert not DisclosureAttachment.objects.exists() and stored_files(storage) == []


def test_a_successful_publish_keeps_its_file(world, secretary, storage):
    notice = notices.publish_notice(secretary, area=world.grid_a1, title="成功", body="b",
                                    valid_from=timezone.localdate(), attachments=[SimpleUploadedFile("a.pdf", PDF)])
    assert [p.name for p in stored_files(storage)] == [notice.attachments.get().file.name.rsplit("/", 1)[-1]]
