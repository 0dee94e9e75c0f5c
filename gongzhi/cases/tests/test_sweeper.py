"""The deadline sweeper: warning at 80 %, overdue at due_at, escalation levels and their targets,
holidays and 调休 days, two sweepers racing, a case that moves between read and claim.

Time is explicit: cases are moved with ``timezone.now`` frozen at a chosen moment, and ``sweep``
is called with ``now=…`` (no sleeping).
"""

from __future__ import annotations

import datetime
import threading
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings

from gongzhi.cases import intake, services, sweeper
from gongzhi.cases.models import Case, CaseEvent
from gongzhi.core import calendar
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
IN_A1 = (100.05, 30.05)


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


@contextmanager
def frozen(moment: datetime.datetime):
    """``timezone.now()`` returns ``moment`` inside the block (service functions read it there)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def chain(world):
    """The people above street A: a head of 东派出所, a district center, a city center."""
    roles = {r.code: r for r in Role.objects.all()}

    def user(username, name):
        return org_services.create_user(actor=None, username=username, password=None, display_name=name)

    head = user("head", "所长甲")
    org_services.add_staff(actor=None, department=world.police_a, user=head, title="所长", is_head=True)
    district = user("district", "区中心甲")
    org_services.assign_role(actor=None, user=district, area=world.district, role=roles["dispatcher"])
    city = user("city", "市中心甲")
    org_services.assign_role(actor=None, user=city, area=world.city, role=roles["shift_lead"])
    return {"head": head, "district": district, "city": city}


def dispatched(world, directory, moment: datetime.datetime) -> Case:
    """A 暴露垃圾 case (4 working hours to handle) reported, filed and dispatched at ``moment``."""
    with frozen(moment):
        case, _created = intake.report_case(intake.Report(title="路边垃圾堆", category=directory["garbage"],
                                                          lon=IN_A1[0], lat=IN_A1[1]), reporter=world.resident)
        services.file_case(case, actor=world.dispatcher)
        return services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)


def events(case: Case, *actions: str) -> list[CaseEvent]:
    return list(case.events.filter(action__in=actions).order_by("at", "id"))


def test_warn_at_80_percent_then_overdue_at_due_then_escalation_levels(world, directory, chain):
    assert calendar.is_workday(datetime.date(2026, 11, 24)) and calendar.is_workday(datetime.date(2026, 11, 25))
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    # 09:00–12:00 and 14:00–15:00: four office hours; 80 % is 3 h 12 min.
    assert case.due_at == at(2026, 11, 24, 15, 0) and case.warn_at == at(2026, 11, 24, 14, 12)

    assert not sweeper.sweep(now=at(2026, 11, 24, 14, 11))
    report = sweeper.sweep(now=at(2026, 11, 24, 14, 12))
    assert (report.warned, report.overdue, report.escalated) == (1, 0, 0)
    [warn] = events(case, "warn")
    assert warn.actor is None and warn.to_status == "dispatched" and warn.data["to"] == []
    assert not sweeper.sweep(now=at(2026, 11, 24, 14, 30)), "a warning is given once"

    assert not sweeper.sweep(now=at(2026, 11, 24, 14, 59)).overdue
    report = sweeper.sweep(now=at(2026, 11, 24, 15, 0))
    assert (report.overdue, report.escalated) == (1, 0)
    case.refresh_from_db()
    assert case.overdue and case.escalation_level == 1
    # Level 2 is four working hours later: 15:00–18:00, then 08:30–09:30 next day.
    assert case.next_escalation_at == at(2026, 11, 25, 9, 30)
    [overdue] = events(case, "overdue")
    assert overdue.data["level"] == 1
    assert overdue.data["to"] == sorted([chain["head"].pk, world.dispatcher.pk])
    assert set(overdue.data["to_names"]) == {"所长甲", "调度甲"}
    assert "所长甲" in overdue.note

    assert not sweeper.sweep(now=at(2026, 11, 25, 9, 29))
    assert sweeper.sweep(now=at(2026, 11, 25, 9, 30)).escalated == 1
    [level2] = events(case, "escalate")
    assert level2.data["level"] == 2 and level2.data["to"] == [chain["district"].pk]
    case.refresh_from_db()
    assert case.next_escalation_at == at(2026, 11, 25, 15, 30)  # 09:30–12:00, 14:00–15:30

    assert sweeper.sweep(now=at(2026, 11, 25, 15, 30)).escalated == 1
    assert sweeper.sweep(now=at(2026, 11, 26, 11, 0)).escalated == 1
    level3, level4 = events(case, "escalate")[1:]
    assert (level3.data["level"], level4.data["level"]) == (3, 4)
    assert level3.data["to"] == level4.data["to"] == [chain["city"].pk]
    assert case.events.filter(action__in=["warn", "overdue", "escalate"]).count() == 5


def test_escalation_step_is_configurable(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    with override_settings(CASE_ESCALATION_STEP_HOURS=1):
        sweeper.sweep(now=at(2026, 11, 24, 15, 0))
    case.refresh_from_db()
    assert case.next_escalation_at == at(2026, 11, 24, 16, 0)


def test_a_late_sweeper_does_not_fire_several_levels_at_once(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    report = sweeper.sweep(now=at(2026, 11, 27, 10, 0))  # the worker was down for days
    assert (report.overdue, report.escalated) == (1, 0)
    case.refresh_from_db()
    assert case.next_escalation_at == at(2026, 11, 27, 16, 0)  # a full step from now: 10–12, 14–16


def test_a_handled_case_escalates_to_the_command_center_only(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    with frozen(at(2026, 11, 24, 10, 0)):
        services.accept_case(case, actor=world.handler)
        case = services.handle_case(case, actor=world.handler, note="已清理")
    # Verification: one working day by default.
    assert case.status == "handled" and case.due_at == at(2026, 11, 25, 10, 0)
    sweeper.sweep(now=at(2026, 11, 25, 10, 0))
    [overdue] = events(case, "overdue")
    assert overdue.data["to"] == [world.dispatcher.pk] and overdue.to_status == "handled"


def test_no_overdue_during_national_day_overdue_on_the_first_working_day_after(world, directory, chain):
    calendar.seed_from_chinesecalendar([2026])
    assert calendar.is_workday(datetime.date(2026, 9, 30))
    assert not any(calendar.is_workday(datetime.date(2026, 10, day)) for day in range(1, 8))
    assert calendar.is_workday(datetime.date(2026, 10, 8))
    case = dispatched(world, directory, at(2026, 9, 30, 15, 0))
    # 15:00–18:00 on Sep 30, then the last hour on Thursday Oct 8 (the first working day after).
    assert case.due_at == at(2026, 10, 8, 9, 30)
    assert case.warn_at == at(2026, 10, 8, 8, 42)
    for day in range(1, 8):
        assert not sweeper.sweep(now=at(2026, 10, day, 17, 0)), f"nothing happens on Oct {day}"
    case.refresh_from_db()
    assert not case.overdue and not case.warned
    assert sweeper.sweep(now=at(2026, 10, 8, 8, 42)).warned == 1
    assert not sweeper.sweep(now=at(2026, 10, 8, 9, 29)).overdue
    assert sweeper.sweep(now=at(2026, 10, 8, 9, 30)).overdue == 1
    case.refresh_from_db()
    assert case.overdue and case.escalation_level == 1


def test_a_makeup_saturday_is_a_working_day(world, directory, chain):
    """2026-10-10 is a Saturday worked in exchange for the National Day holiday (调休上班)."""
    calendar.seed_from_chinesecalendar([2026])
    saturday = datetime.date(2026, 10, 10)
    assert saturday.weekday() == 5 and chinese_calendar.is_workday(saturday) and calendar.is_workday(saturday)
    assert not calendar.is_workday(datetime.date(2026, 10, 11))
    case = dispatched(world, directory, at(2026, 10, 9, 16, 0))
    assert case.due_at == at(2026, 10, 10, 10, 30)  # Friday 16–18, Saturday 08:30–10:30
    assert not sweeper.sweep(now=at(2026, 10, 10, 10, 29)).overdue
    assert sweeper.sweep(now=at(2026, 10, 10, 10, 30)).overdue == 1
    case.refresh_from_db()
    assert case.next_escalation_at == at(2026, 10, 10, 16, 30)
    assert sweeper.sweep(now=at(2026, 10, 10, 16, 30)).escalated == 1
    case.refresh_from_db()
    # Sunday rests: level 3 comes on Monday (16:30–18:00 Saturday, then 08:30–11:00 Monday).
    assert case.next_escalation_at == at(2026, 10, 12, 11, 0)
    assert not sweeper.sweep(now=at(2026, 10, 11, 17, 0))


def test_the_same_claim_twice_changes_nothing_the_second_time(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    now = at(2026, 11, 24, 15, 0)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)  # two sweepers read alike
    assert sweeper.claim_escalation(first, now) is not None
    assert sweeper.claim_escalation(second, now) is None
    assert not sweeper.sweep(now=now), "a third sweeper finds nothing either"
    assert case.events.filter(action="overdue").count() == 1
    assert Case.objects.get(pk=case.pk).escalation_level == 1


def test_the_same_warning_claim_twice_warns_once(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    now = at(2026, 11, 24, 14, 20)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    assert sweeper.claim_warning(first, now) is not None
    assert sweeper.claim_warning(second, now) is None
    assert case.events.filter(action="warn").count() == 1


def test_a_case_that_moves_between_read_and_claim_is_not_escalated(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    now = at(2026, 11, 24, 15, 0)
    read = Case.objects.get(pk=case.pk)
    with frozen(at(2026, 11, 24, 14, 59)):
        services.accept_case(case, actor=world.handler)  # dispatched → in progress, same clock
    assert sweeper.claim_escalation(read, now) is None
    assert not case.events.filter(action="overdue").exists()
    # The next pass reads the case afresh and escalates it in its new state.
    assert sweeper.sweep(now=now).overdue == 1
    assert events(case, "overdue")[0].to_status == "in_progress"


def test_an_approved_extension_between_read_and_claim_wins(world, directory, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    read = Case.objects.get(pk=case.pk)
    with frozen(at(2026, 11, 24, 14, 0)):
        services.accept_case(case, actor=world.handler)
        services.request_extension(case, actor=world.handler, amount=1, reason="需要协调环卫车辆")
        services.decide_extension(case, actor=world.dispatcher, approve=True)
    assert sweeper.claim_escalation(read, at(2026, 11, 24, 15, 0)) is None
    assert not sweeper.sweep(now=at(2026, 11, 24, 15, 0))
    assert not case.events.filter(action="overdue").exists()


def test_closed_cases_are_left_alone(world, directory, supervisor, chain):
    case = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    with frozen(at(2026, 11, 24, 10, 0)):
        services.accept_case(case, actor=world.handler)
        services.handle_case(case, actor=world.handler, note="已清理")
        services.verify_case(case, actor=supervisor, passed=True)
    assert not sweeper.sweep(now=at(2026, 12, 31, 12, 0))


def test_batches_are_bounded_and_ordered_by_the_due_column(world, directory, chain):
    early = dispatched(world, directory, at(2026, 11, 24, 9, 0))
    late = dispatched(world, directory, at(2026, 11, 24, 10, 0))
    now = at(2026, 11, 24, 17, 0)
    report = sweeper.sweep(now=now, batch_size=1, max_batches=1)
    assert report.overdue == 1
    assert Case.objects.get(pk=early.pk).overdue and not Case.objects.get(pk=late.pk).overdue
    assert sweeper.sweep(now=now, batch_size=1).overdue == 1  # the rest, one row at a time
    assert Case.objects.get(pk=late.pk).overdue


def test_an_unlocated_case_goes_to_the_city_center(world, directory, chain):
    with frozen(at(2026, 11, 24, 9, 0)):
        case, _created = intake.report_case(intake.Report(title="某巷口垃圾", category=directory["garbage"],
                                                          address="东街道某巷口"), reporter=world.resident)
        case = services.file_case(case, actor=world.admin)  # dispatch clock: 2 working hours
    assert case.area is None and case.due_at == at(2026, 11, 24, 11, 0)
    sweeper.sweep(now=at(2026, 11, 24, 11, 0))
    [overdue] = events(case, "overdue")
    assert overdue.data["to"] == [chain["city"].pk]


def test_sweep_deadlines_command_runs_one_pass(world, directory, chain):
    dispatched(world, directory, at(2026, 11, 24, 9, 0))
    out = []
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 24, 15, 0)):
        call_command("sweep_deadlines", stdout=mock.Mock(write=out.append))
    assert "overdue=1" in "".join(out)


def test_run_worker_runs_the_sweeper_beside_the_task_worker_and_stops_it(monkeypatch):
    """The task worker is stood in for; the sweeper thread must run, then stop when it returns."""
    from gongzhi.cases.management.commands import run_worker

    passes = threading.Event()
    seen: dict = {}

    def fake_jobs(stop):
        return [lambda: passes.set()]

    def fake_db_worker(name, *args, **kwargs):
        seen["call"] = (name, args)
        assert passes.wait(5), "the sweeper made a pass while the worker ran"
        raise SystemExit(0)  # what db_worker does on SIGTERM while idle

    monkeypatch.setattr(run_worker, "periodic_jobs", fake_jobs)
    monkeypatch.setattr(run_worker, "call_command", fake_db_worker)
    monkeypatch.setattr(run_worker, "is_database_backend", lambda alias: True)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(SystemExit):
        call_command("run_worker", "--queue-name", "*", "--sweep-seconds", "0.05", "--no-reload")
    assert seen["call"][0] == "db_worker"
    assert list(seen["call"][1]) == ["--queue-name", "*", "--no-reload"]
    assert "gongzhi-sweeper" not in {t.name for t in threading.enumerate()} - before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections")
def test_two_sweepers_racing_make_exactly_one_escalation(world, directory, chain):
    cases = [dispatched(world, directory, at(2026, 11, 24, 9, 0)) for _ in range(5)]
    now = at(2026, 11, 24, 15, 0)
    barrier = threading.Barrier(2)
    reports: list = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            reports[i] = sweeper.sweep(now=now, batch_size=2)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(reports), reports
    assert sum(r.overdue for r in reports) == 5 and sum(r.errors for r in reports) == 0
    for case in cases:
        assert case.events.filter(action="overdue").count() == 1
        assert Case.objects.get(pk=case.pk).escalation_level == 1


def test_the_worker_pass_seals_the_audit_chain(world):
    from gongzhi.cases.management.commands import run_worker
    from gongzhi.core.models import AuditLog

    assert AuditLog.objects.filter(seq__isnull=True).exists()  # building the world wrote audit rows
    jobs = {job.__name__: job for job in run_worker.periodic_jobs(threading.Event())}
    assert set(jobs) == {"deadlines", "webhooks", "audit_chain", "router_retrain", "evaluation_recount",
                         "points_expiry", "inspection_reminders", "meeting_reminders", "registry_reminders",
                         "registry_retention"}
    assert jobs["inspection_reminders"]() is None  # nothing due
    assert jobs["registry_reminders"]() is None  # no key person, no correction
    assert jobs["registry_retention"]() is None  # nothing closed
    assert jobs["meeting_reminders"]() is None  # no meeting series
    assert jobs["points_expiry"]() is None  # nothing to expire
    assert jobs["audit_chain"]().startswith("audit: sealed")
    assert not AuditLog.objects.filter(seq__isnull=True).exists()
    assert jobs["audit_chain"]() is None  # nothing new


def test_run_worker_starts_the_task_worker_again_when_the_database_goes_away(monkeypatch):
    from django.db import OperationalError

    from gongzhi.cases.management.commands import run_worker

    calls = []

    def flaky_db_worker(name, *args, **kwargs):
        calls.append(name)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(run_worker, "periodic_jobs", lambda stop: [])
    monkeypatch.setattr(run_worker, "outbox_job", lambda: None)
    monkeypatch.setattr(run_worker, "call_command", flaky_db_worker)
    monkeypatch.setattr(run_worker, "is_database_backend", lambda alias: True)
    monkeypatch.setattr(run_worker, "RETRY_FIRST_SECONDS", 0.01)
    call_command("run_worker", "--no-reload")
    assert calls == ["db_worker"] * 3
