"""The working calendar: seeded holidays and 调休, office-hour arithmetic, fallback, warnings, admin."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from unittest import mock
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.checks import run_checks
from django.db import OperationalError
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongzhi.core import calendar
from gongzhi.core.checks import check_calendar_coverage
from gongzhi.core.context_processors import shell
from gongzhi.core.models import AuditLog, CalendarDay, OfficePeriod
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = datetime.timedelta(hours=1)
DB_HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# Start moments across a seeded year, the uncovered year 2031 and the turn of 2026/2027.
moments = st.datetimes(
    min_value=datetime.datetime(2026, 1, 1), max_value=datetime.datetime(2031, 12, 31),
    timezones=st.just(SHANGHAI),
)
hours_amounts = st.decimals(min_value=0, max_value=300, places=2)


# --------------------------------------------------------------------------- seed


def test_seed_migration_loaded_2004_to_2026_with_chinese_names():
    assert calendar.uncovered_years(range(2004, 2027)) == []
    assert calendar.covered(2026) and not calendar.covered(2027)
    assert CalendarDay.objects.filter(date__year=2026).count() == 365
    assert set(OfficePeriod.objects.values_list("start", "end")) == set(calendar.DEFAULT_OFFICE_PERIODS)
    oct1 = CalendarDay.objects.get(date=datetime.date(2026, 10, 1))
    assert (oct1.is_workday, oct1.name, oct1.source) == (False, "国庆节", "chinesecalendar")
    saturday = CalendarDay.objects.get(date=datetime.date(2026, 2, 14))
    assert (saturday.is_workday, saturday.name) == (True, "调休上班")
    assert CalendarDay.objects.get(date=datetime.date(2026, 2, 17)).name == "春节"
    assert CalendarDay.objects.get(date=datetime.date(2026, 3, 10)).name == ""


def test_seed_agrees_with_the_package_for_a_whole_year():
    days = calendar.workday_map(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    assert len(days) == 365
    assert all(days[d] == chinese_calendar.is_workday(d) for d in days)


def test_seed_is_idempotent_and_keeps_admin_rows():
    day = CalendarDay.objects.get(date=datetime.date(2026, 10, 8))
    day.is_workday, day.name, day.source = False, "临时休息", "admin"
    day.save()
    assert calendar.seed_from_chinesecalendar([2026]) == 0
    day.refresh_from_db()
    assert (day.is_workday, day.name, day.source) == (False, "临时休息", "admin")
    # A row from the package that drifted is brought back; years the package lacks are skipped.
    CalendarDay.objects.filter(date=datetime.date(2026, 10, 9)).update(is_workday=False)
    assert calendar.seed_from_chinesecalendar([2026, 2031]) == 1
    assert calendar.is_workday(datetime.date(2026, 10, 9))
    assert not calendar.covered(2031)


def test_generate_weekday_year_is_idempotent():
    assert not calendar.covered(2031)
    assert calendar.generate_weekday_year(2031) == 365
    assert calendar.generate_weekday_year(2031) == 0
    assert calendar.covered(2031)
    rows = CalendarDay.objects.filter(date__year=2031)
    assert rows.filter(is_workday=True).count() == 261  # 2031: 52 weeks + Wednesday 1 January
    assert set(rows.values_list("source", flat=True)) == {"weekday"}
    # A later package that knows the year replaces generated rows (not tested: 1.11.0 stops at 2026).


# --------------------------------------------------------------------------- concrete examples


def test_one_working_day_across_national_day_2026():
    # Wednesday 30 September, then 1–7 October off, Thursday 8 October back at work.
    assert calendar.add_working_days(at(2026, 9, 30, 9), 1) == at(2026, 10, 8, 9)
    assert calendar.add_working_days(at(2026, 9, 30, 17), 1) == at(2026, 10, 8, 17)
    assert calendar.add_working_days(at(2026, 9, 30, 9), 3) == at(2026, 10, 10, 9)  # Saturday 10 Oct: 调休
    assert calendar.working_time_between(at(2026, 9, 30, 18), at(2026, 10, 8, 8, 30)) == datetime.timedelta(0)
    assert calendar.working_time_between(at(2026, 9, 30, 9), at(2026, 10, 8, 9)) == 7.5 * HOUR


def test_makeup_saturday_counts_and_spring_festival_does_not():
    # Friday 13 February 2026 → Saturday 14 February is a 调休 working day.
    assert calendar.add_working_days(at(2026, 2, 13, 10), 1) == at(2026, 2, 14, 10)
    # From Saturday 14 February one working day jumps the Spring Festival (15–23 February).
    assert calendar.add_working_days(at(2026, 2, 14, 10), 1) == at(2026, 2, 24, 10)
    # An ordinary Saturday is not a working day.
    assert calendar.add_working_days(at(2026, 3, 6, 10), 1) == at(2026, 3, 9, 10)


def test_hours_within_and_between_periods():
    assert calendar.add_working_hours(at(2026, 10, 8, 11), Decimal("1.5")) == at(2026, 10, 8, 14, 30)
    assert calendar.add_working_hours(at(2026, 10, 8, 8, 30), 3.5) == at(2026, 10, 8, 12)  # ends at noon
    assert calendar.add_working_hours(at(2026, 10, 8, 19), 1) == at(2026, 10, 9, 9, 30)  # starts next morning
    assert calendar.add_working_hours(at(2026, 10, 8, 12, 30), 0) == at(2026, 10, 8, 14)  # lunch → 14:00
    assert calendar.add_working_hours(at(2026, 10, 8, 10), Fraction(1, 3)) == at(2026, 10, 8, 10, 20)
    assert calendar.add_working_days(at(2026, 10, 8, 10), Decimal("0.5")) == at(2026, 10, 8, 15, 45)  # 3.75 h
    # Other time zones are converted to Beijing time: 01:00 UTC is 09:00 in Shanghai.
    utc = datetime.datetime(2026, 10, 8, 1, tzinfo=datetime.UTC)
    assert calendar.add_working_hours(utc, 1) == at(2026, 10, 8, 10)
    assert calendar.working_time_between(at(2026, 10, 8, 10), at(2026, 10, 8, 10)) == datetime.timedelta(0)
    assert calendar.working_time_between(at(2026, 10, 9, 10), at(2026, 10, 8, 10)) == datetime.timedelta(0)


def test_office_periods_from_the_table():
    OfficePeriod.objects.all().delete()
    OfficePeriod.objects.create(start=datetime.time(9), end=datetime.time(17))
    assert calendar.day_length() == 8 * HOUR
    assert calendar.add_working_hours(at(2026, 10, 8, 16), 2) == at(2026, 10, 9, 10)
    OfficePeriod.objects.all().delete()  # an empty table means the defaults
    assert calendar.office_periods() == list(calendar.DEFAULT_OFFICE_PERIODS)
    assert calendar.day_length() == 7.5 * HOUR


# --------------------------------------------------------------------------- uncovered years


def test_uncovered_year_falls_back_to_monday_to_friday():
    assert not calendar.covered(2031)
    # Friday 3 January 2031 → Monday 6 January; 1 January 2031 (a Wednesday) counts as a workday.
    assert calendar.add_working_days(at(2031, 1, 3, 10), 1) == at(2031, 1, 6, 10)
    assert calendar.is_workday(datetime.date(2031, 1, 1))
    assert not calendar.is_workday(datetime.date(2031, 1, 4))
    assert calendar.working_time_between(at(2031, 1, 3, 0), at(2031, 1, 7, 0)) == 15 * HOUR
    # Across the edge of the seeded data: Thursday 31 December 2026 → Friday 1 January 2027.
    assert calendar.add_working_days(at(2026, 12, 31, 10), 1) == at(2027, 1, 1, 10)
    assert calendar.uncovered_years(range(2025, 2032)) == [2027, 2028, 2029, 2030, 2031]


def test_calendar_warning_names_the_missing_years():
    assert calendar.calendar_warning(today=datetime.date(2025, 5, 1)) is None
    message = calendar.calendar_warning(today=datetime.date(2031, 5, 1))
    assert "2031" in message and "2032" not in message and "周一至周五" in message
    # From November on, next year's missing calendar is named too (the holiday notice is out by then).
    assert "2032" in calendar.calendar_warning(today=datetime.date(2031, 11, 1))
    assert calendar.calendar_warning(today=datetime.date(2026, 12, 1)).startswith("2027 年")
    calendar.generate_weekday_year(2027)
    assert calendar.calendar_warning(today=datetime.date(2026, 12, 1)) is None


def test_system_check_warns_and_never_raises(monkeypatch):
    monkeypatch.setattr(calendar, "_today", lambda: datetime.date(2031, 5, 1))
    warnings = [w for w in run_checks(tags=["calendar"]) if w.id == "gongzhi.W001"]
    assert len(warnings) == 1 and "2031" in warnings[0].msg
    monkeypatch.setattr(calendar, "_today", lambda: datetime.date(2025, 5, 1))
    assert check_calendar_coverage() == []
    with mock.patch.object(calendar, "uncovered_years", side_effect=OperationalError("no such table")):
        assert check_calendar_coverage() == []


def test_context_processor_shows_the_warning_to_staff_only(monkeypatch):
    monkeypatch.setattr(calendar, "_today", lambda: datetime.date(2031, 5, 1))
    staff = org_services.create_user(actor=None, username="staff", password=None, is_staff=True)
    plain = org_services.create_user(actor=None, username="plain", password=None)
    request = RequestFactory().get("/")
    request.user = staff
    context = shell(request)
    assert "2031" in context["calendar_warning"] and "map_tile_url" in context
    request.user = plain
    assert shell(request)["calendar_warning"] is None


# --------------------------------------------------------------------------- admin


def test_admin_edit_makes_a_weekday_a_holiday(client):
    root = org_services.create_user(actor=None, username="root", password=None, is_staff=True, is_superuser=True)
    client.force_login(root)
    assert calendar.add_working_days(at(2026, 9, 30, 9), 1) == at(2026, 10, 8, 9)
    day = CalendarDay.objects.get(date=datetime.date(2026, 10, 8))
    response = client.post(f"/admin/core/calendarday/{day.pk}/change/",
                           {"date": "2026-10-08", "name": "临时休息", "_save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    day.refresh_from_db()
    assert (day.is_workday, day.name, day.source) == (False, "临时休息", "admin")
    assert calendar.add_working_days(at(2026, 9, 30, 9), 1) == at(2026, 10, 9, 9)
    row = AuditLog.objects.get(action="calendar.update", object_id=str(day.pk))
    assert row.before == {"is_workday": True, "name": "", "source": "chinesecalendar"}
    assert row.after == {"is_workday": False, "name": "临时休息", "source": "admin"}
    assert row.actor == root


def test_admin_generates_the_next_year_without_a_selection(client):
    root = org_services.create_user(actor=None, username="root", password=None, is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post("/admin/core/calendarday/", {"action": "generate_next_year", "index": "0"})
    assert response.status_code == 302
    assert calendar.covered(2027) and CalendarDay.objects.filter(date__year=2027).count() == 365
    assert AuditLog.objects.filter(action="calendar.generate", object_id="2027").exists()
    assert client.get("/admin/core/calendarday/").status_code == 200


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_clearly():
    naive = datetime.datetime(2026, 10, 8, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.working_time_between(naive, at(2026, 10, 9))
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_hours(at(2026, 10, 8, 9), -1)
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_days(at(2026, 10, 8, 9), Decimal("-0.5"))
    with pytest.raises(ValueError, match="too large"):
        calendar.add_working_hours(at(2026, 10, 8, 9), 1e9)
    with pytest.raises(ValueError, match="too large"):
        calendar.add_working_days(at(2026, 10, 8, 9), 10**12)
    for bad in (float("nan"), float("inf"), Decimal("NaN")):
        with pytest.raises(ValueError, match="finite"):
            calendar.add_working_hours(at(2026, 10, 8, 9), bad)
    with pytest.raises(ValueError, match="number"):
        calendar.add_working_hours(at(2026, 10, 8, 9), "3")
    with pytest.raises(ValueError, match="exceeds the limit"):
        calendar.working_time_between(at(2000, 1, 1), at(2030, 1, 1))
    with pytest.raises(ValueError, match="end of the calendar"):
        calendar.add_working_hours(datetime.datetime(9999, 12, 30, tzinfo=datetime.UTC), 1)


def test_a_calendar_without_working_days_raises_instead_of_hanging():
    start = datetime.date(2040, 1, 1)
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=start + datetime.timedelta(days=i), is_workday=False, source="admin")
         for i in range(calendar.MAX_SPAN_DAYS + 1)],
        batch_size=1000,
    )
    with pytest.raises(ValueError, match="no room"):
        calendar.add_working_hours(at(2040, 1, 1, 9), 1)


# --------------------------------------------------------------------------- properties


@DB_HYPOTHESIS
@given(start=moments, hours=hours_amounts)
def test_measuring_what_was_added_gives_it_back(start, hours):
    end = calendar.add_working_hours(start, hours)
    assert end >= start
    assert calendar.working_time_between(start, end) == datetime.timedelta(seconds=int(hours * 3600))


@DB_HYPOTHESIS
@given(start=moments, hours=st.floats(min_value=0, max_value=300))
def test_float_hours_round_to_the_microsecond(start, hours):
    end = calendar.add_working_hours(start, hours)
    measured = calendar.working_time_between(start, end)
    assert abs(measured - datetime.timedelta(hours=hours)) <= datetime.timedelta(microseconds=1)


@DB_HYPOTHESIS
@given(start=moments, a=hours_amounts, b=hours_amounts)
def test_more_hours_never_end_earlier(start, a, b):
    low, high = sorted([a, b])
    assert calendar.add_working_hours(start, low) <= calendar.add_working_hours(start, high)


@DB_HYPOTHESIS
@given(start=moments, days=st.integers(min_value=0, max_value=40))
def test_a_working_day_is_the_length_of_the_office_periods(start, days):
    assert calendar.add_working_days(start, days) == calendar.add_working_hours(start, Decimal("7.5") * days)


@DB_HYPOTHESIS
@given(start=moments, hours=hours_amounts.filter(lambda h: h > 0))
def test_the_result_is_the_earliest_moment_inside_office_hours(start, hours):
    end = calendar.add_working_hours(start, hours)
    local = end.astimezone(SHANGHAI)
    assert calendar.is_workday(local.date())
    assert any(s < local.time() <= e for s, e in calendar.office_periods())
    tick = datetime.timedelta(microseconds=1)
    assert calendar.working_time_between(start, end - tick) < datetime.timedelta(seconds=int(hours * 3600))
