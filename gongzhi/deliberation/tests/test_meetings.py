"""Recurring meetings (meetings.py): series and their presets, meetings held (quorum, attendance,
decisions linked, the next due date across month ends), reminders and overdue alerts sent once — also
from two workers at the same moment on PostgreSQL."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import meetings, tasks
from gongzhi.deliberation.models import Attendee, Decision, Meeting, MeetingSeries
from gongzhi.notifications.models import Notification

TZ = ZoneInfo("Asia/Shanghai")


def today() -> datetime.date:
    return timezone.localdate()


def series_of(world, *, kind="opinion", next_due=None, organiser="dispatcher", **extra) -> MeetingSeries:
    return meetings.create_series(actor=world.dispatcher, area=world.community_a, kind=kind, name="居民意见征询会",
                                  next_due=next_due or today() + datetime.timedelta(days=30),
                                  organiser=getattr(world, organiser) if organiser else None, **extra)


def held(world, series=None, *, at=None, **extra) -> Meeting:
    values = {"title": "第一次会议", "held_at": at or timezone.now() - datetime.timedelta(hours=2),
              "place": "社区会议室", "agenda": "1. 停车难", "minutes": "议定增设车位"}
    values.update(extra)
    return meetings.hold_meeting(actor=world.dispatcher, area=world.community_a, series=series, **values)


# ------------------------------------------------------------------------------------ months


@pytest.mark.parametrize(("day", "months", "expected"), [
    (datetime.date(2027, 1, 31), 1, datetime.date(2027, 2, 28)),
    (datetime.date(2028, 1, 31), 1, datetime.date(2028, 2, 29)),
    (datetime.date(2026, 12, 31), 2, datetime.date(2027, 2, 28)),
    (datetime.date(2026, 11, 30), 3, datetime.date(2027, 2, 28)),
    (datetime.date(2026, 8, 31), 1, datetime.date(2026, 9, 30)),
    (datetime.date(2028, 2, 29), 12, datetime.date(2029, 2, 28)),
    (datetime.date(2026, 5, 15), 12, datetime.date(2027, 5, 15)),
    (datetime.date(2026, 10, 31), 2, datetime.date(2026, 12, 31)),
])
def test_add_months_clamps_the_day_to_the_month(day, months, expected):
    assert meetings.add_months(day, months) == expected


# ------------------------------------------------------------------------------------ series


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "months"), [("opinion", 2), ("tripartite", 3), ("assembly", 12)])
def test_a_series_takes_its_period_from_its_kind(world, kind, months):
    s = series_of(world, kind=kind)
    assert s.every_months == months and s.remind_days == 7 and s.organiser == world.dispatcher
    assert AuditLog.objects.filter(action="deliberation.create_series", object_id=str(s.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "field"), [
    ({"kind": "committee"}, "every_months"),
    ({"kind": "nope"}, "kind"),
    ({"every_months": 0}, "every_months"),
    ({"every_months": 61}, "every_months"),
    ({"remind_days": -1}, "remind_days"),
    ({"remind_days": 91}, "remind_days"),
    ({"next_due": "2027-01-01"}, "next_due"),
    ({"organiser": "outsider"}, "organiser"),
    ({"name": ""}, "name"),
])
def test_bad_series_input_is_refused(world, extra, field):
    values = {"kind": "opinion", "name": "征询会", "next_due": today()}
    organiser = extra.pop("organiser", None)
    values.update(extra)
    with pytest.raises(ValidationError) as exc:
        meetings.create_series(actor=world.dispatcher, area=world.community_a,
                               organiser=getattr(world, organiser) if organiser else None, **values)
    assert field in exc.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["worker", "outsider", "resident", "handler"])
def test_only_managers_create_a_series_or_record_a_meeting(world, who):
    actor = getattr(world, who)
    with pytest.raises(PermissionDenied):
        meetings.create_series(actor=actor, area=world.community_a, kind="opinion", name="x", next_due=today())
    with pytest.raises(PermissionDenied):
        meetings.hold_meeting(actor=actor, area=world.community_a, title="x", held_at=timezone.now(), minutes="y")


# ------------------------------------------------------------------------------------ meetings


@pytest.mark.django_db
def test_holding_a_meeting_moves_the_next_due_date_across_month_ends(world):
    s = series_of(world, kind="committee", every_months=1, next_due=datetime.date(2026, 1, 31))
    held(world, s, at=datetime.datetime(2026, 1, 31, 19, tzinfo=TZ))
    s.refresh_from_db()
    assert s.next_due == datetime.date(2026, 2, 28)
    # a meeting recorded late, held before the latest one, does not move the date back
    held(world, s, at=datetime.datetime(2026, 1, 10, 9, tzinfo=TZ), title="补录")
    s.refresh_from_db()
    assert s.next_due == datetime.date(2026, 2, 28)
    assert AuditLog.objects.filter(action="deliberation.series_advance", object_id=str(s.pk)).count() == 1


@pytest.mark.django_db
def test_the_held_date_is_the_local_date(world):
    s = series_of(world, kind="tripartite", next_due=datetime.date(2026, 3, 31))
    # 20:00 UTC on 30 November is 1 December in China
    held(world, s, at=datetime.datetime(2026, 11, 30, 20, tzinfo=datetime.UTC))
    s.refresh_from_db()
    assert s.next_due == datetime.date(2027, 3, 1)


@pytest.mark.django_db
def test_the_quorum_of_the_series_is_evaluated(world):
    s = series_of(world, kind="assembly", quorum=meetings.QUORUM_PRESETS["two_thirds"][1])
    assert held(world, s, eligible=9, present=6).quorate is True
    assert held(world, s, eligible=9, present=5).quorate is False
    with pytest.raises(ValidationError) as exc:
        held(world, s)
    assert "eligible" in exc.value.message_dict
    assert held(world, None, eligible=9, present=1).quorate is None  # no series, no rule


@pytest.mark.django_db
def test_more_than_half_is_strict(world):
    s = series_of(world, quorum=meetings.QUORUM_PRESETS["half"][1])
    assert held(world, s, eligible=10, present=5).quorate is False
    assert held(world, s, eligible=10, present=6).quorate is True


@pytest.mark.django_db
def test_a_meeting_keeps_its_attendance_and_links_its_decisions(world):
    from gongzhi.deliberation.tests.conftest import make_roll

    roll = make_roll(world.community_a).roll
    ballot = Decision.objects.create(area=world.community_a, roll=roll, title="增设车位")
    m = held(world, None, eligible=3, present=None, decisions=[ballot],
             attendees=[{"name": "赵一", "role": "业委会主任"}, {"name": "钱二", "present": False}])
    assert m.present == 1 and m.series is None
    assert [(a.name, a.present) for a in Attendee.objects.filter(meeting=m).order_by("pk")] == [
        ("赵一", True), ("钱二", False)]
    ballot.refresh_from_db()
    assert ballot.meeting == m
    with pytest.raises(Conflict):
        held(world, None, decisions=[ballot], title="第二次")
    elsewhere = Decision.objects.create(area=world.community_b, roll=make_roll(world.community_b, name="西").roll,
                                        title="别处")
    with pytest.raises(ValidationError):
        held(world, None, decisions=[elsewhere])


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "field"), [
    ({"title": ""}, "title"),
    ({"minutes": ""}, "minutes"),
    ({"held_at": "2026-01-01 10:00"}, "held_at"),
    ({"held_at": timezone.now() + datetime.timedelta(days=1)}, "held_at"),
    ({"eligible": 3, "present": 4}, "present"),
    ({"eligible": 0}, "eligible"),
    ({"present": 2, "attendees": [{"name": "赵一"}]}, "present"),
])
def test_bad_meeting_input_is_refused(world, extra, field):
    with pytest.raises(ValidationError) as exc:
        held(world, None, **extra)
    assert field in exc.value.message_dict
    assert not Meeting.objects.exists()


@pytest.mark.django_db
def test_a_series_of_another_area_is_refused(world):
    s = series_of(world)
    with pytest.raises(ValidationError):
        meetings.hold_meeting(actor=world.dispatcher, area=world.grid_a1, series=s, title="x",
                              held_at=timezone.now(), minutes="y")


# ------------------------------------------------------------------------------------ reminders


@pytest.mark.django_db
def test_a_reminder_is_sent_once_when_the_due_date_is_near(world):
    s = series_of(world, next_due=today() + datetime.timedelta(days=8))
    assert meetings.remind_due().reminded == 0  # 8 days ahead, reminded 7 days before
    s.next_due = today() + datetime.timedelta(days=7)
    s.save()
    assert meetings.remind_due().reminded == 1
    assert meetings.remind_due().reminded == 0
    notes = list(Notification.objects.filter(kind="deliberation_meeting_due"))
    assert [n.user for n in notes] == [world.dispatcher]
    assert notes[0].url == f"/deliberation/meetings/series/{s.pk}/" and "居民意见征询会" in notes[0].title
    s.refresh_from_db()
    assert s.reminded_for == s.next_due


@pytest.mark.django_db
def test_the_overdue_alert_is_sent_once(world):
    s = series_of(world, next_due=today() - datetime.timedelta(days=3))
    first = meetings.remind_due()
    assert (first.reminded, first.overdue) == (0, 1)
    assert meetings.remind_due().overdue == 0
    note = Notification.objects.get(kind="deliberation_meeting_overdue")
    assert note.user == world.dispatcher and "3" in note.body
    s.refresh_from_db()
    assert s.overdue_alerted_for == s.next_due


@pytest.mark.django_db
def test_holding_the_meeting_starts_a_new_cycle_of_reminders(world):
    s = series_of(world, kind="committee", every_months=1, next_due=today() + datetime.timedelta(days=2))
    assert meetings.remind_due().reminded == 1
    held(world, s, at=timezone.now() - datetime.timedelta(days=26))
    s.refresh_from_db()
    assert s.next_due == meetings.add_months(today() - datetime.timedelta(days=26), 1)
    assert meetings.remind_due().reminded == 1  # a new due date, a new reminder
    assert Notification.objects.filter(kind="deliberation_meeting_due").count() == 2


@pytest.mark.django_db
def test_without_an_organiser_the_party_secretaries_and_leaders_of_the_area_hear(world):
    from gongzhi.orgs import services as org_services
    from gongzhi.orgs.models import Role

    roles = {r.code: r for r in Role.objects.all()}
    secretary = org_services.create_user(actor=None, username="secretary", password="x-y-z-1234", display_name="书记甲")
    leader = org_services.create_user(actor=None, username="leader", password="x-y-z-1234", display_name="领导甲")
    org_services.assign_role(actor=None, user=leader, area=world.street_a, role=roles["leader"])
    s = series_of(world, organiser=None, next_due=today())
    assert meetings.recipients(s) == [leader.pk]  # nobody in the community: the street's leader
    org_services.assign_role(actor=None, user=secretary, area=world.community_a, role=roles["party_secretary"])
    assert meetings.recipients(s) == [secretary.pk]
    meetings.remind_due()
    assert list(Notification.objects.values_list("user_id", flat=True)) == [secretary.pk]


@pytest.mark.django_db
def test_a_stopped_series_is_neither_reminded_nor_alerted(world):
    s = series_of(world, next_due=today() - datetime.timedelta(days=1))
    meetings.set_series_active(s, actor=world.dispatcher, active=False)
    assert meetings.remind_due() == meetings.Told(0, 0)
    assert not meetings.is_overdue(MeetingSeries.objects.get(pk=s.pk))
    with pytest.raises(PermissionDenied):
        meetings.set_series_active(s, actor=world.worker, active=True)


@pytest.mark.django_db
def test_the_worker_job_says_what_it_did(world):
    assert tasks.reminder_job() is None
    series_of(world, next_due=today())
    series_of(world, next_due=today() - datetime.timedelta(days=40))
    assert tasks.reminder_job() == "deliberation: 1 meeting reminders, 1 overdue alerts"
    assert tasks.reminder_job() is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections")
def test_two_workers_at_the_same_moment_send_each_message_once(world):
    from gongzhi.cases.tests.test_concurrency import run_parallel

    due = series_of(world, next_due=today() + datetime.timedelta(days=1))
    late = series_of(world, next_due=today() - datetime.timedelta(days=2))
    now = timezone.now()
    results = run_parallel(4, lambda i: meetings.remind_due(now))
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[1].reminded for r in results) == 1 and sum(r[1].overdue for r in results) == 1
    assert Notification.objects.filter(kind="deliberation_meeting_due", url__contains=f"/{due.pk}/").count() == 1
    assert Notification.objects.filter(kind="deliberation_meeting_overdue", url__contains=f"/{late.pk}/").count() == 1
