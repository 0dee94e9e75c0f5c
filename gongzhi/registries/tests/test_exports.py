"""Exports of sensitive data: the two-person rule, once within 24 hours, full values in the file,
access-log and audit rows for every step; a subject export carries the person's whole record."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.conftest import PASSWORD
from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.registries import exports
from gongzhi.registries.models import AccessLog, ExportRequest, KeyCategory, KeyPerson, Person, Registry

ID = "150302198001017777"
OTHER_ID = "150302199002022222"


def officer(world, username: str, *codenames: str, area=None):
    user = org_services.create_user(actor=None, username=username, password=PASSWORD, display_name=username)
    group, _ = Group.objects.get_or_create(name=f"台账-{'-'.join(codenames)}")
    group.permissions.set(Permission.objects.filter(content_type__app_label="registries", codename__in=codenames))
    user.groups.add(group)
    org_services.assign_role(actor=None, user=user, area=area or world.street_a, role=Role.objects.get(code="leader"))
    return user


@pytest.fixture
def people(world):
    a = Person.objects.create(name="甲", area=world.grid_a1, id_number=ID, phone="13877770000", address="东一路 1 号")
    b = Person.objects.create(name="乙", area=world.grid_a2, id_number=OTHER_ID)
    c = Person.objects.create(name="丙", area=world.grid_b1, id_number="150302197003033333")  # street B
    return a, b, c


@pytest.fixture
def pair(world):
    return (officer(world, "asker", "export_sensitive", "reveal_sensitive"),
            officer(world, "approver", "approve_export"))


def cells(content: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_two_persons_then_one_download_with_full_values_and_access_log_rows(world, people, pair):
    asker, approver = pair
    request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.community_a, purpose="visit",
                                     reason="年度人口核查")
    with pytest.raises(PermissionDenied):
        exports.decide(asker, request, approve=True)  # not the requester (asker may not approve anyway)
    with pytest.raises(Conflict):
        exports.download(asker, request)  # not approved yet
    exports.decide(approver, request, approve=True, note="同意")
    request.refresh_from_db()
    assert request.status == ExportRequest.Status.APPROVED and request.decided_by == approver
    assert request.expires_at - request.decided_at == datetime.timedelta(hours=24)
    with pytest.raises(PermissionDenied):
        exports.download(approver, request)  # only the requester
    name, content = exports.download(asker, request)
    assert name.endswith(".xlsx")
    sheets = cells(content)
    people_rows = sheets[str(Person._meta.verbose_name_plural)]
    flat = {value for row in people_rows for value in row}
    assert ID in flat and OTHER_ID in flat and "13877770000" in flat and "东一路 1 号" in flat
    assert "丙" not in flat  # street B is outside the scope (and the requester's sight)
    logs = AccessLog.objects.filter(user=asker, purpose=AccessLog.Purpose.EXPORT)
    assert {row.person.name for row in logs} == {"甲", "乙"}
    assert all("person.id_number" in row.fields for row in logs)
    with pytest.raises(Conflict):
        exports.download(asker, request)  # once
    request.refresh_from_db()
    assert request.status == ExportRequest.Status.USED and request.downloaded_at
    actions = list(AuditLog.objects.filter(object_type="registries.exportrequest", object_id=str(request.pk))
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["registries.export_request", "registries.export_approve", "registries.export_download"]
    assert ID not in str(list(AuditLog.objects.values_list("before", "after")))


def test_the_database_refuses_a_self_approval(world, pair):
    asker, _approver = pair
    request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="case",
                                      reason="办理案件需要")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRequest.objects.filter(pk=request.pk).update(decided_by=asker)


def test_an_approval_expires_after_24_hours(world, people, pair, monkeypatch):
    asker, approver = pair
    request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="case",
                                      reason="办理案件需要")
    exports.decide(approver, request, approve=True)
    ExportRequest.objects.filter(pk=request.pk).update(expires_at=request.requested_at - datetime.timedelta(hours=1))
    with pytest.raises(Conflict):
        exports.download(asker, request)
    assert ExportRequest.objects.get(pk=request.pk).status == ExportRequest.Status.EXPIRED
    assert not AccessLog.objects.filter(user=asker).exists()


def test_refusal_needs_a_note_and_ends_the_request(world, pair):
    asker, approver = pair
    request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="case",
                                      reason="办理案件需要")
    with pytest.raises(ValidationError) as err:
        exports.decide(approver, request, approve=False, note="")
    assert "note" in err.value.message_dict
    exports.decide(approver, request, approve=False, note="用途不明确")
    with pytest.raises(Conflict):
        exports.decide(approver, request, approve=True)
    with pytest.raises(Conflict):
        exports.download(asker, request)


def test_request_rules(world, pair):
    asker, approver = pair
    with pytest.raises(PermissionDenied):  # no export permission
        exports.request_export(world.worker, registry=Registry.RESIDENTS, area=world.grid_a1, purpose="visit",
                               reason="走访核实需要")
    with pytest.raises(PermissionDenied):  # street B is not the requester's
        exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_b, purpose="visit",
                               reason="走访核实需要")
    with pytest.raises(ValidationError) as err:
        exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="", reason="x")
    assert "purpose" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="visit", reason="短")
    assert "reason" in err.value.message_dict
    far = officer(world, "far_approver", "approve_export", area=world.street_b)
    request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.street_a, purpose="visit",
                                     reason="走访核实需要")
    with pytest.raises(PermissionDenied):  # the approver must see the scope too
        exports.decide(far, request, approve=True)
    assert exports.visible_requests(far) == ([], [])
    assert exports.visible_requests(approver)[1] == [request]


def test_subject_export_holds_the_persons_whole_record(world, people, pair):
    asker, approver = pair
    person = people[0]
    category = KeyCategory.objects.create(code="test-cat", name="测试类别")
    KeyPerson.objects.create(person=person, category=category, details="诊断：某病")
    request = exports.request_export(asker, registry="", area=None, purpose="", reason="本人书面申请导出",
                                     person=person)
    assert request.purpose == AccessLog.Purpose.SUBJECT and request.area == person.area
    exports.decide(approver, request, approve=True)
    _name, content = exports.download(asker, request)
    sheets = cells(content)
    flat = {value for rows in sheets.values() for row in rows for value in row}
    assert ID in flat and "诊断：某病" in flat and OTHER_ID not in flat
    assert str(KeyPerson._meta.verbose_name_plural) in sheets
    row = AccessLog.objects.get(user=asker, purpose=AccessLog.Purpose.SUBJECT)
    assert row.person == person and "keyperson.details" in row.fields


def test_pages_request_decide_download(world, people, pair, client):
    asker, approver = pair
    client.force_login(asker)
    response = client.post(reverse("registries:export_new"), {"registry": "residents", "area": world.community_a.pk,
                                                               "purpose": "visit", "reason": "年度人口核查"})
    assert response.status_code == 302
    request = ExportRequest.objects.get(requested_by=asker)
    page = client.get(reverse("registries:exports"))
    assert "年度人口核查" in page.content.decode() and "no-store" in page["Cache-Control"]
    client.force_login(approver)
    assert f"decide-{request.pk}" in client.get(reverse("registries:exports")).content.decode()
    client.post(reverse("registries:export_decide", args=[request.pk]), {"decision": "approve", "note": ""})
    assert ExportRequest.objects.get(pk=request.pk).status == ExportRequest.Status.APPROVED
    assert client.post(reverse("registries:export_download", args=[request.pk])).status_code == 403
    client.force_login(asker)
    response = client.post(reverse("registries:export_download", args=[request.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment;")
    assert ID in {v for rows in cells(response.content).values() for row in rows for v in row}
    again = client.post(reverse("registries:export_download", args=[request.pk]))
    assert again.status_code == 302  # once: back to the list with a message


def test_subject_export_page_shows_the_mask(world, people, pair, client):
    asker, _approver = pair
    client.force_login(asker)
    url = reverse("registries:subject_export_new") + f"?person={people[0].pk}"
    body = client.get(url).content.decode()
    assert "1503**********7777" in body and ID not in body
    assert client.post(url, {"reason": "本人书面申请导出"}).status_code == 302
    assert ExportRequest.objects.get(person=people[0]).purpose == AccessLog.Purpose.SUBJECT
    client.force_login(world.worker)
    assert client.get(url).status_code == 403  # sees the person, may not export
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404


def test_a_large_export_logs_one_row_per_person_in_queries_that_do_not_grow(world, pair):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gongzhi.registries.models import Household

    asker, approver = pair

    def add_people(start, n):
        for i in range(start, start + n):
            h = Household.objects.create(area=world.grid_a1, number=f"A1-{i:03d}", address=f"东一路 {i} 号")
            Person.objects.create(name=f"人{i}", area=world.grid_a1, household=h, phone=f"1387777{i:04d}")

    def export():
        request = exports.request_export(asker, registry=Registry.RESIDENTS, area=world.community_a,
                                         purpose="visit", reason="年度人口核查")
        exports.decide(approver, request, approve=True, note="同意")
        with CaptureQueriesContext(connection) as queries:
            _name, content = exports.download(asker, request)
        return len(queries), content

    add_people(0, 2)
    few, _content = export()
    add_people(2, 20)
    many, content = export()
    assert many == few, (few, many)
    assert len(cells(content)[str(Person._meta.verbose_name_plural)]) == 1 + 22
    last = AccessLog.objects.filter(user=asker, purpose=AccessLog.Purpose.EXPORT,
                                    reason__startswith=f"导出申请 #{ExportRequest.objects.latest('pk').pk}：")
    about_people = last.filter(person__isnull=False)  # one row per person, naming them
    assert sorted(about_people.values_list("person__name", flat=True)) == sorted(f"人{i}" for i in range(22))
    assert all(fields == ["person.address", "person.id_number", "person.phone"]
               for fields in about_people.values_list("fields", flat=True))
    assert last.filter(person__isnull=True, object_type="registries.household").count() == 22  # about no one person
