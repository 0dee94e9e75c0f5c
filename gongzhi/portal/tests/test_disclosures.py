"""The 公开栏: versions are history (append-only, hashed), finance is exact, imports are all-or-nothing,
and only residents and staff of the area (or everyone, for public items) see it."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from gongzhi.core.models import AppendOnlyError
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.portal import disclosures
from gongzhi.portal.models import Disclosure, DisclosureAttachment, DisclosureVersion, Residency

NOV = {"period_start": dt.date(2026, 11, 1), "period_end": dt.date(2026, 11, 30)}
LINES = [
    {"date": "2026-11-03", "item": "停车费收入", "income": "1200.10", "expense": "", "note": ""},
    {"date": "2026-11-05", "item": "电梯维修", "income": "0", "expense": "800.05", "note": "发票见附件"},
    {"date": "2026-11-20", "item": "公共收益", "income": "0.10", "expense": 0, "note": ""},
]


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def people(world):
    roles = {r.code: r for r in Role.objects.all()}
    secretary = org_services.create_user(actor=None, username="secretary", password="x-very-long-pw-1",
                                         display_name="书记甲")
    org_services.assign_role(actor=None, user=secretary, area=world.community_a, role=roles["party_secretary"])
    neighbour = org_services.create_user(actor=None, username="neighbour", password="x-very-long-pw-2",
                                         display_name="居民乙")
    Residency.objects.create(user=world.resident, area=world.grid_a1, status=Residency.Status.VERIFIED)
    Residency.objects.create(user=neighbour, area=world.grid_b1, status=Residency.Status.VERIFIED)
    return type("People", (), {"secretary": secretary, "neighbour": neighbour})


@pytest.fixture
def finance(world, people):
    item = disclosures.create_disclosure(people.secretary, area=world.grid_a1, kind="finance",
                                         title="2026年11月收支", **NOV)
    disclosures.publish_version(people.secretary, item, lines=LINES)
    return item


def _rules(world, people, *, is_public=False, area=None):
    item = disclosures.create_disclosure(people.secretary, area=area or world.grid_a1, kind="rules",
                                         title="业主大会议事规则", is_public=is_public)
    disclosures.publish_version(people.secretary, item, body="第一条 业主大会每年召开一次。")
    return item


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(out, "PNG")
    return out.getvalue()


# ----------------------------------------------------------------------------- history is immutable

def test_a_version_cannot_be_saved_again_or_deleted(finance):
    version = finance.versions.get()
    version.body = "偷偷改"
    with pytest.raises(AppendOnlyError):
        version.save()
    with pytest.raises(AppendOnlyError):
        version.delete()
    assert DisclosureVersion.objects.get(pk=version.pk).body == ""


def test_an_attachment_cannot_be_saved_again_or_deleted(world, people, storage):
    item = _rules(world, people)
    version = disclosures.publish_version(people.secretary, item, body="第二稿", change_note="补充收据",
                                          attachments=[SimpleUploadedFile("收据.png", _png())])
    attachment = version.attachments.get()
    attachment.name = "x"
    with pytest.raises(AppendOnlyError):
        attachment.save()
    with pytest.raises(AppendOnlyError):
        attachment.delete()
    assert DisclosureAttachment.objects.get(pk=attachment.pk).name == "收据.png"


def test_publishing_a_change_adds_a_version_and_keeps_the_old_one(world, people, finance):
    first = finance.versions.get()
    before = (first.lines, first.income_total, first.expense_total, first.sha256)
    second = disclosures.publish_version(people.secretary, finance, lines=LINES[:2],
                                         change_note="公共收益记错月份，移到12月")
    assert second.number == 2 and second.sha256 != first.sha256
    again = DisclosureVersion.objects.get(pk=first.pk)
    assert (again.lines, again.income_total, again.expense_total, again.sha256) == before
    assert disclosures.version_sha256(again) == again.sha256
    entry = disclosures.history(finance)[0]
    assert entry.version == second and entry.removed == [dict(LINES[2], income="0.10", expense="0.00")]
    assert (entry.income_before, second.income_total) == (Decimal("1200.20"), Decimal("1200.10"))


def test_a_later_version_needs_a_change_note(people, finance):
    with pytest.raises(ValidationError) as exc:
        disclosures.publish_version(people.secretary, finance, lines=LINES[:1])
    assert "change_note" in exc.value.message_dict
    assert finance.versions.count() == 1


def test_the_same_content_is_not_a_new_version(people, finance):
    with pytest.raises(ValidationError):
        disclosures.publish_version(people.secretary, finance, lines=LINES, change_note="再发一次")
    assert finance.versions.count() == 1


# ----------------------------------------------------------------------------- finance

def test_totals_are_exact_decimals(finance):
    version = finance.versions.get()
    assert version.income_total == Decimal("1200.20") and version.expense_total == Decimal("800.05")
    assert [line["income"] for line in version.lines] == ["1200.10", "0.00", "0.10"]


@pytest.mark.parametrize("bad", [
    {"income": "-1"}, {"income": "1.005"}, {"income": "0", "expense": "0"}, {"date": "2026-12-01"},
    {"item": ""}, {"income": "abc"}, {"income": "NaN"},
])
def test_bad_finance_lines_are_refused(world, people, bad):
    item = disclosures.create_disclosure(people.secretary, area=world.grid_a1, kind="finance", title="收支", **NOV)
    with pytest.raises(ValidationError) as exc:
        disclosures.publish_version(people.secretary, item, lines=[{**LINES[0], **bad}])
    assert "lines" in exc.value.message_dict and not item.versions.exists()


def test_a_finance_item_needs_an_ordered_period(world, people):
    with pytest.raises(ValidationError):
        disclosures.create_disclosure(people.secretary, area=world.grid_a1, kind="finance", title="收支")
    with pytest.raises(ValidationError):
        disclosures.create_disclosure(people.secretary, area=world.grid_a1, kind="finance", title="收支",
                                      period_start=dt.date(2026, 11, 30), period_end=dt.date(2026, 11, 1))


def test_xlsx_import_reads_lines_and_a_bad_row_publishes_nothing(world, people, login):
    item = disclosures.create_disclosure(people.secretary, area=world.grid_a1, kind="finance", title="收支", **NOV)
    good = _xlsx([["日期", "事项", "收入（元）", "支出（元）", "备注"],
                  [dt.datetime(2026, 11, 2), "物业费", 1000.1, None, ""], ["2026-11-04", "保洁", 0, 99.9, "11月"]])
    lines, errors = disclosures.import_lines(good, "收支.xlsx", disclosure=item)
    assert not errors and disclosures.totals(lines) == (Decimal("1000.10"), Decimal("99.90"))
    bad = _xlsx([["日期", "事项", "收入", "支出", "备注"], ["2026-11-02", "物业费", 1000, None, ""],
                 ["2026-11-04", "保洁", -5, None, ""]])
    lines, errors = disclosures.import_lines(bad, "收支.xlsx", disclosure=item)
    assert [e.row for e in errors] == [3]
    client = login(people.secretary)
    response = client.post(reverse("portal:disclosure_publish", args=[item.pk]),
                           {"action": "dry_run", "file": SimpleUploadedFile("收支.xlsx", bad)})
    assert response.status_code == 400 and "未写入任何数据" in response.content.decode()
    assert not item.versions.exists()
    response = client.post(reverse("portal:disclosure_publish", args=[item.pk]),
                           {"action": "dry_run", "file": SimpleUploadedFile("收支.xlsx", good)})
    assert response.status_code == 200 and "1000.10" in response.content.decode() and not item.versions.exists()
    lines_text = response.context["form"].initial["lines_text"]
    response = client.post(reverse("portal:disclosure_publish", args=[item.pk]),
                           {"action": "publish", "lines_text": lines_text, "body": ""})
    assert response.status_code == 302
    assert item.versions.get().income_total == Decimal("1000.10")


def test_csv_import_with_missing_column_is_refused():
    lines, errors = disclosures.import_lines("日期,事项,收入\n2026-11-01,x,1\n".encode(), "a.csv")
    assert lines == [] and errors and "支出" in errors[0].message


# ----------------------------------------------------------------------------- attachments

def test_receipts_are_checked_hashed_and_served_to_those_who_see_the_item(world, people, login, storage):
    item = _rules(world, people)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    version = disclosures.publish_version(people.secretary, item, body="第二稿", change_note="附收据",
                                          attachments=[SimpleUploadedFile("r.pdf", pdf),
                                                       SimpleUploadedFile("r.png", _png())])
    pdf_row, png_row = version.attachments.order_by("pk")
    import hashlib
    assert pdf_row.sha256 == hashlib.sha256(pdf).hexdigest()
    assert login(world.resident).get(reverse("portal:disclosure_attachment", args=[pdf_row.pk])).status_code == 200
    image = login(world.resident).get(reverse("portal:disclosure_attachment", args=[png_row.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert login(people.neighbour).get(reverse("portal:disclosure_attachment", args=[pdf_row.pk])).status_code == 404
    for name, data in (("x.html", b"<html>"), ("x.pdf", b"%PDF-1.4 /JavaScript (app.alert(1))"),
                       ("x.pdf", b"not a pdf"), ("x.png", b"<script>")):
        with pytest.raises(ValidationError):
            disclosures.publish_version(people.secretary, item, body="第三稿", change_note="再改",
                                        attachments=[SimpleUploadedFile(name, data)])
    assert item.versions.count() == 2


# ----------------------------------------------------------------------------- visibility and permissions

def test_a_resident_sees_their_estates_board_and_another_estates_resident_does_not(world, people, login, finance):
    rules = _rules(world, people)
    mine = login(world.resident).get(reverse("portal:disclosures"))
    assert mine.status_code == 200 and "2026年11月收支" in mine.content.decode()
    page = login(world.resident).get(reverse("portal:disclosure", args=[finance.pk]))
    assert page.status_code == 200 and "1200.20" in page.content.decode()
    neighbour = login(people.neighbour)
    listing = neighbour.get(reverse("portal:disclosures")).content.decode()
    assert "2026年11月收支" not in listing and "业主大会议事规则" not in listing and "disclosures-empty" in listing
    for name, args in (("portal:disclosure", [finance.pk]), ("portal:disclosure_version", [finance.pk, 1]),
                       ("portal:disclosure", [rules.pk])):
        assert neighbour.get(reverse(name, args=args)).status_code == 404


def test_public_items_are_seen_by_everyone(world, people, login, client):
    item = _rules(world, people, is_public=True)
    assert login(people.neighbour).get(reverse("portal:disclosure", args=[item.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("portal:disclosure", args=[item.pk])).status_code == 200
    assert "业主大会议事规则" in client.get(reverse("portal:disclosures")).content.decode()


def test_a_grid_worker_cannot_publish_and_an_outsider_gets_404(world, people, login, finance):
    with pytest.raises(PermissionDenied):
        disclosures.publish_version(world.worker, finance, lines=LINES[:1], change_note="改")
    with pytest.raises(PermissionDenied):
        disclosures.create_disclosure(world.worker, area=world.grid_a1, kind="rules", title="x")
    url = reverse("portal:disclosure_publish", args=[finance.pk])
    assert login(world.worker).get(url).status_code == 403
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.outsider).get(reverse("portal:disclosure", args=[finance.pk])).status_code == 404
    assert login(world.resident).get(reverse("portal:disclosure_new")).status_code == 403


def test_publishing_through_the_pages_keeps_history_visible(world, people, login, finance):
    client = login(people.secretary)
    url = reverse("portal:disclosure_publish", args=[finance.pk])
    refused = client.post(url, {"action": "publish", "lines_text": "2026-11-03,停车费收入,1200.10,0,\n"})
    assert refused.status_code == 400 and "请说明改了什么" in refused.content.decode()
    done = client.post(url, {"action": "publish", "change_note": "只保留停车费",
                             "lines_text": "日期,事项,收入,支出,备注\n2026-11-03,停车费收入,1200.10,0,\n"})
    assert done.status_code == 302
    page = login(world.resident).get(reverse("portal:disclosure", args=[finance.pk])).content.decode()
    assert "只保留停车费" in page and "电梯维修" in page and finance.versions.count() == 2
    old = login(world.resident).get(reverse("portal:disclosure_version", args=[finance.pk, 1]))
    assert old.status_code == 200 and finance.versions.get(number=1).sha256 in old.content.decode()


def test_creating_an_item_through_the_page(world, people, login):
    client = login(people.secretary)
    assert client.get(reverse("portal:disclosure_new")).status_code == 200
    response = client.post(reverse("portal:disclosure_new"), {"area": world.grid_a1.pk, "kind": "fees",
                                                               "title": "物业收费标准"})
    item = Disclosure.objects.get(title="物业收费标准")
    assert response["Location"] == reverse("portal:disclosure_publish", args=[item.pk])
    response = client.post(reverse("portal:disclosure_new"), {"area": world.grid_b1.pk, "kind": "fees",
                                                               "title": "别处"})
    assert response.status_code == 400 and not Disclosure.objects.filter(title="别处").exists()


def test_latest_finance_is_the_most_recent_statement_at_my_homes(world, people, finance):
    later = disclosures.create_disclosure(people.secretary, area=world.community_a, kind="finance",
                                          title="2026年12月收支", period_start=dt.date(2026, 12, 1),
                                          period_end=dt.date(2026, 12, 31))
    disclosures.create_disclosure(people.secretary, area=world.community_a, kind="finance", title="未发布",
                                  period_start=dt.date(2027, 1, 1), period_end=dt.date(2027, 1, 31))
    assert disclosures.latest_finance(world.resident) == finance.versions.get()
    version = disclosures.publish_version(people.secretary, later, lines=[{**LINES[0], "date": "2026-12-01"}])
    assert disclosures.latest_finance(world.resident) == version
    assert disclosures.latest_finance(people.neighbour) is None
    assert disclosures.latest_finance(world.dispatcher, area=world.grid_a1) == version


# ----------------------------------------------------------------------------- concurrency

@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_get_distinct_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from gongzhi.conftest import build_world

    world = build_world()
    item = disclosures.create_disclosure(None, area=world.grid_a1, kind="rules", title="规则")
    disclosures.publish_version(None, item, body="v1")
    barrier, errors = threading.Barrier(2), []

    def publish(n):
        from django.db import connection as conn
        try:
            barrier.wait()
            disclosures.publish_version(None, item, body=f"v{n}", change_note=f"第{n}稿")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=publish, args=(n,)) for n in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(item.versions.values_list("number", flat=True)) == [1, 2, 3]
