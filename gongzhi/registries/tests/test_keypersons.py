"""Key persons: the visit rhythm, level/responsible/end, reminders once per due date, the pages."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.notifications.models import Notification
from gongzhi.registries import keypersons
from gongzhi.registries.models import KeyCategory, KeyPerson, Person

DETAILS = "诊断：精神分裂症，服药中"


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def person(world):
    return Person.objects.create(name="赵某某", area=world.grid_a1, id_number="15030219880817123X")


@pytest.fixture
def mental():
    return KeyCategory.objects.get(code="mental_disorder")


@pytest.fixture
def entry(world, person, mental):
    return keypersons.list_person(world.admin, person, category=mental, level=KeyPerson.Level.CLOSE,
                                  responsible=world.worker, details=DETAILS, listed_on=days_ago(40))


def test_next_due_counts_from_the_listing_then_from_the_last_visit(world, person, mental):
    listed = datetime.date(2026, 1, 10)
    entry = keypersons.list_person(None, person, category=mental, responsible=world.worker, listed_on=listed)
    assert entry.next_visit_due == listed + datetime.timedelta(days=mental.visit_every_days)
    entry = keypersons.change_rhythm(None, entry, 7)
    assert entry.next_visit_due == listed + datetime.timedelta(days=7)
    entry = keypersons.record_visit_done(entry, datetime.date(2026, 2, 1))
    assert (entry.last_visit_on, entry.next_visit_due) == (datetime.date(2026, 2, 1), datetime.date(2026, 2, 8))
    entry = keypersons.record_visit_done(entry, datetime.date(2026, 1, 20))  # an older visit entered late
    assert entry.next_visit_due == datetime.date(2026, 2, 8)


def test_one_open_entry_per_person_and_category(world, entry, person, mental):
    with pytest.raises(ValidationError) as exc:
        keypersons.list_person(world.admin, person, category=mental)
    assert "category" in exc.value.message_dict
    keypersons.end_listing(world.admin, entry, "病情稳定")
    again = keypersons.list_person(world.admin, person, category=mental)
    assert again.pk != entry.pk


def test_responsible_must_hold_a_role_over_the_area(world, person, mental):
    for stranger in (world.outsider, world.resident, world.handler):
        with pytest.raises(ValidationError) as exc:
            keypersons.list_person(world.admin, person, category=mental, responsible=stranger)
        assert "responsible" in exc.value.message_dict
    assert not KeyPerson.objects.exists()


def test_writers_only_inside_their_area(world, person, mental):
    with pytest.raises(PermissionDenied):
        keypersons.list_person(world.outsider, person, category=mental)
    with pytest.raises(PermissionDenied):
        keypersons.list_person(world.dispatcher, person, category=mental)  # the command center is no audience
    entry = keypersons.list_person(world.worker, person, category=mental, details=DETAILS)
    row = AuditLog.objects.get(action="registries.key_person_list", object_id=str(entry.pk))
    assert DETAILS not in str(row.after) and row.after["details"] == "••••"


def test_level_responsible_and_end(world, entry):
    entry = keypersons.change_level(world.worker, entry, KeyPerson.Level.CONTROL)
    assert KeyPerson.objects.get(pk=entry.pk).level == KeyPerson.Level.CONTROL
    with pytest.raises(ValidationError):
        keypersons.change_level(world.worker, entry, "extreme")
    with pytest.raises(PermissionDenied):
        keypersons.assign_responsible(world.outsider, entry, world.outsider)
    entry = keypersons.assign_responsible(world.admin, entry, None)
    assert entry.responsible is None
    with pytest.raises(ValidationError):
        keypersons.end_listing(world.worker, entry, "")
    entry = keypersons.end_listing(world.worker, entry, "迁出本市")
    assert entry.ended_on == timezone.localdate() and entry.end_reason == "迁出本市"
    with pytest.raises(ValidationError):
        keypersons.change_level(world.worker, entry, KeyPerson.Level.NORMAL)
    assert AuditLog.objects.filter(object_id=str(entry.pk), action__startswith="registries.key_person").count() == 4


def test_reminder_once_per_due_date_naming_only_the_person(world, entry):
    assert entry.next_visit_due < timezone.localdate()
    assert keypersons.remind_due() == 1
    assert keypersons.remind_due() == 0  # a second worker's pass finds nothing to claim
    note = Notification.objects.get(user=world.worker)
    assert "赵某某" in note.title
    text = note.title + note.body
    assert "精神" not in text and DETAILS not in text and entry.category.name not in text
    assert note.url == reverse("registries:key_person", args=[entry.pk])
    # A visit moves the due date; when the new one comes, the worker is told again.
    keypersons.record_visit_done(entry, days_ago(31))
    assert keypersons.remind_due() == 1
    assert Notification.objects.filter(user=world.worker).count() == 2


def test_no_reminder_before_due_or_after_ending(world, person, mental):
    fresh = keypersons.list_person(None, person, category=mental, responsible=world.worker)
    assert keypersons.remind_due() == 0
    later = timezone.now() + datetime.timedelta(days=mental.visit_every_days)
    keypersons.end_listing(None, fresh, "误登记")
    assert keypersons.remind_due(later) == 0
    assert not Notification.objects.exists()


def test_list_page_masks_details_and_puts_overdue_first(world, login, entry, person):
    other = Person.objects.create(name="钱某某", area=world.grid_a1)
    keypersons.list_person(None, other, category=KeyCategory.objects.get(code="juvenile"), responsible=world.worker)
    response = login(world.worker).get(reverse("registries:key_persons"))
    assert response.status_code == 200
    html = response.content.decode()
    assert DETAILS not in html and "15030219880817123X" not in html
    assert html.index("赵某某") < html.index("钱某某")
    assert "no-store" in response["Cache-Control"]
    outside = login(world.outsider).get(reverse("registries:key_persons"))
    assert outside.status_code == 200 and "赵某某" not in outside.content.decode()
    filtered = login(world.worker).get(reverse("registries:key_persons"), {"level": KeyPerson.Level.NORMAL})
    assert "钱某某" in filtered.content.decode() and "赵某某" not in filtered.content.decode()


def test_detail_page_and_who_gets_it(world, login, entry):
    url = reverse("registries:key_person", args=[entry.pk])
    response = login(world.worker).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "赵某某" in html and DETAILS not in html
    assert reverse("registries:reveal", args=["keyperson", entry.pk]) not in html  # no reveal permission
    assert login(world.admin).get(url).content.decode().count(reverse("registries:reveal", args=["keyperson",
                                                                                               entry.pk])) == 1
    for user in (world.outsider, world.resident, world.dispatcher):
        assert login(user).get(url).status_code == 404
    assert login(world.resident).get(reverse("registries:key_persons")).status_code == 403


def test_due_page_is_the_workers_todo(world, login, entry):
    response = login(world.worker).get(reverse("registries:key_persons_due"))
    assert response.status_code == 200 and "赵某某" in response.content.decode()
    assert "赵某某" not in login(world.handler).get(reverse("registries:key_persons_due")).content.decode()


def test_new_and_end_pages(world, login, person, mental):
    client = login(world.worker)
    url = reverse("registries:key_person_new") + f"?person={person.pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"category": mental.pk, "level": KeyPerson.Level.NORMAL,
                                 "responsible": world.worker.pk, "visit_every_days": "14", "details": DETAILS})
    entry = KeyPerson.objects.get(person=person)
    assert response.status_code == 302 and response["Location"] == reverse("registries:key_person", args=[entry.pk])
    assert entry.visit_every_days == 14 and entry.details.reveal() == DETAILS
    assert login(world.outsider).get(url).status_code == 404
    end = reverse("registries:key_person_end", args=[entry.pk])
    assert login(world.outsider).post(end, {"reason": "x"}).status_code == 404
    client = login(world.worker)  # the test client is shared: log the worker in again
    detail = reverse("registries:key_person", args=[entry.pk])
    assert client.post(detail, {"action": "level", "level": KeyPerson.Level.CONTROL}).status_code == 302
    assert client.post(detail, {"action": "responsible", "responsible": world.outsider.pk}).status_code == 400
    entry.refresh_from_db()
    assert (entry.level, entry.responsible) == (KeyPerson.Level.CONTROL, world.worker)
    assert client.get(end).status_code == 405
    assert client.post(end, {"reason": "已迁出"}).status_code == 302
    assert KeyPerson.objects.get(pk=entry.pk).ended_on is not None
