"""Relief distributions: listing is idempotent and stays inside the batch's area, a household is
issued once — also when two staff press 发放 at the same moment (a real race on PostgreSQL) — and the
receipt list carries household numbers and areas, never addresses."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.registries import assistance, relief
from gongzhi.registries.models import Household, ReliefRecipient

ADDRESS = "凤凰小巷 3 号楼 2 单元 501"


def household(area, number):
    return Household.objects.create(area=area, number=number, address=ADDRESS)


@pytest.fixture
def batch(world):
    return relief.create_batch(world.worker, area=world.grid_a1, name="冬季御寒物资", goods="棉被", per_household=2)


@pytest.fixture
def recipient(world, batch):
    relief.list_households(world.worker, batch, [household(world.grid_a1, "A1-001")])
    return ReliefRecipient.objects.get(batch=batch)


def test_only_writers_of_the_area_create_batches_and_input_is_checked(world):
    for actor in (world.outsider, world.dispatcher, world.handler, world.resident):
        with pytest.raises(PermissionDenied):
            relief.create_batch(actor, area=world.grid_a1, name="x", goods="y")
    for per in (0, "x", 1001):
        with pytest.raises(ValidationError) as exc:
            relief.create_batch(world.worker, area=world.grid_a1, name="x", goods="y", per_household=per)
        assert "per_household" in exc.value.message_dict


def test_listing_is_idempotent_and_stays_inside_the_area(world, batch):
    a, b = household(world.grid_a1, "A1-001"), household(world.grid_a1, "A1-002")
    assert relief.list_households(world.worker, batch, [a, b, a]) == 2
    assert relief.list_households(world.worker, batch, [a, b]) == 0
    assert list(batch.recipients.values_list("quantity", flat=True)) == [2, 2]
    with pytest.raises(ValidationError) as exc:
        relief.list_households(world.worker, batch, [household(world.grid_a2, "A2-001")])
    assert "不在本批次的发放区域内" in str(exc.value)
    assert batch.recipients.count() == 2
    assert AuditLog.objects.filter(action="registries.relief_list").count() == 1


def test_listing_every_open_need_case_of_the_area(world, batch):
    open_here = assistance.open_need_case(world.admin, household(world.grid_a1, "A1-010"), kinds=["dibao"],
                                          level="general", details="x")
    closed = assistance.open_need_case(world.admin, household(world.grid_a1, "A1-011"), kinds=["dibao"],
                                       level="general", details="x")
    assistance.close_need_case(world.admin, closed, on=closed.opened_on, reason="脱困")
    assistance.open_need_case(world.admin, household(world.grid_a2, "A2-010"), kinds=["dibao"], level="general",
                              details="x")
    assert relief.list_open_need_cases(world.worker, batch) == 1
    assert relief.list_open_need_cases(world.worker, batch) == 0
    assert list(batch.recipients.values_list("household", flat=True)) == [open_here.household_id]


def test_issuing_twice_is_a_conflict_with_one_issue_and_one_audit_row(world, batch, recipient):
    issued = relief.issue(world.worker, recipient, signed_by="户主")
    assert issued.issued_by == world.worker and issued.signed_by == "户主"
    with pytest.raises(Conflict) as exc:
        relief.issue(world.admin, recipient, signed_by="户主")
    assert "该户已于" in str(exc.value) and "领取" in str(exc.value)
    assert ReliefRecipient.objects.filter(batch=batch, issued_at__isnull=False).count() == 1
    assert ReliefRecipient.objects.get(pk=recipient.pk).issued_by == world.worker
    assert AuditLog.objects.filter(action="registries.relief_issue", object_id=str(recipient.pk)).count() == 1
    t = relief.totals(batch)
    assert (t.listed, t.issued, t.items, t.waiting) == (1, 1, 2, 0)


def test_a_closed_batch_issues_and_lists_nothing(world, batch, recipient):
    with pytest.raises(PermissionDenied):
        relief.issue(world.outsider, recipient, signed_by="户主")
    relief.close_batch(world.worker, batch)
    with pytest.raises(Conflict):
        relief.issue(world.worker, recipient, signed_by="户主")
    with pytest.raises(Conflict):
        relief.list_households(world.worker, batch, [household(world.grid_a1, "A1-003")])
    with pytest.raises(Conflict):
        relief.close_batch(world.worker, batch)
    assert not ReliefRecipient.objects.filter(issued_at__isnull=False).exists()


def test_the_distribution_page_issues_once_and_greys_the_issued(world, batch, recipient, login):
    c = login(world.worker)
    url = reverse("registries:relief_batch", args=[batch.pk])
    page = c.get(url, {"q": "A1-001"})
    assert page.status_code == 200 and reverse("registries:relief_issue", args=[recipient.pk]) in page.content.decode()
    issue_url = reverse("registries:relief_issue", args=[recipient.pk])
    assert c.post(issue_url, {"signed_by": "户主", "next": url}).status_code == 302
    second = c.post(issue_url, {"signed_by": "户主", "next": url}, follow=True)
    assert "该户已于" in second.content.decode()
    assert ReliefRecipient.objects.filter(issued_at__isnull=False).count() == 1
    body = c.get(url).content.decode()
    assert "已发放" in body and issue_url not in body and ADDRESS not in body
    for user in (world.dispatcher, world.outsider, world.handler, world.resident):
        other = login(user)
        assert other.get(url).status_code == 404
        assert other.post(issue_url, {"signed_by": "x"}).status_code == 404
        assert other.get(reverse("registries:relief_receipts", args=[batch.pk])).status_code == 404


def test_listing_from_the_page_by_household_number(world, batch, login):
    household(world.grid_a1, "A1-021")
    household(world.grid_b1, "B1-021")
    c = login(world.worker)
    c.post(reverse("registries:relief_list", args=[batch.pk]), {"numbers": "A1-021，B1-021"})
    assert list(batch.recipients.values_list("household__number", flat=True)) == ["A1-021"]


def test_the_receipt_list_has_numbers_and_areas_never_addresses(world, batch, recipient, login):
    relief.issue(world.worker, recipient, signed_by="欧阳明")
    response = login(world.worker).get(reverse("registries:relief_receipts", args=[batch.pk]))
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    rows = [[c for c in row if c is not None] for row in load_workbook(io.BytesIO(response.content)).active
            .iter_rows(values_only=True)]
    flat = " ".join(str(c) for row in rows for c in row)
    assert "A1-001" in flat and "东一网格" in flat and "欧**" in flat
    assert ADDRESS not in flat and "欧阳明" not in flat and "凤凰" not in flat
    assert AuditLog.objects.filter(action="registries.relief_receipts_export").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real race needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_staff_issuing_at_the_same_moment_issue_once(world):
    from gongzhi.orgs.models import User

    batch = relief.create_batch(world.worker, area=world.grid_a1, name="御寒物资", goods="棉被")
    relief.list_households(world.worker, batch, [household(world.grid_a1, "A1-001")])
    recipient = ReliefRecipient.objects.get(batch=batch)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def staff(username):
        try:
            actor = User.objects.get(username=username)
            mine = ReliefRecipient.objects.select_related("batch__area").get(pk=recipient.pk)
            barrier.wait(timeout=10)
            try:
                relief.issue(actor, mine, signed_by="户主")
                result = "issued"
            except Conflict:
                result = "conflict"
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=staff, args=(name,)) for name in ("worker", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "issued"]
    assert ReliefRecipient.objects.filter(pk=recipient.pk, issued_at__isnull=False).count() == 1
    assert AuditLog.objects.filter(action="registries.relief_issue", object_id=str(recipient.pk)).count() == 1


def test_a_batch_is_created_from_the_page_only_in_the_writers_areas(world, login):
    c = login(world.worker)
    form = c.get(reverse("registries:relief_batch_new")).content.decode()
    assert "东一网格" in form and "西一网格" not in form and "东二网格" not in form
    refused = c.post(reverse("registries:relief_batch_new"), {"area": world.grid_b1.pk, "name": "x", "goods": "y",
                                                              "per_household": 1})
    assert refused.status_code == 200 and not world.grid_b1.relief_batches.exists()
    response = c.post(reverse("registries:relief_batch_new"), {"area": world.grid_a1.pk, "name": "御寒物资",
                                                               "goods": "棉被", "per_household": 1})
    batch = world.grid_a1.relief_batches.get()
    assert response["Location"] == reverse("registries:relief_batch", args=[batch.pk])
    assert login(world.dispatcher).get(reverse("registries:relief_batches")).status_code == 403


def test_a_signature_photo_is_checked_and_stored_re_encoded(world, batch, recipient, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    with pytest.raises(ValidationError) as exc:
        relief.issue(world.worker, recipient, signed_by="户主",
                     signature=SimpleUploadedFile("s.png", b"<html><script>alert(1)</script>"))
    assert "signature" in exc.value.message_dict
    assert not ReliefRecipient.objects.filter(issued_at__isnull=False).exists()
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 0, 0)).save(out, "PNG")
    issued = relief.issue(world.worker, recipient, signed_by="户主", signature=SimpleUploadedFile("s.png", out.getvalue()))
    stored = ReliefRecipient.objects.get(pk=issued.pk).signature
    assert stored.name.endswith(".jpg") and "s.png" not in stored.name and (tmp_path / stored.name).exists()
