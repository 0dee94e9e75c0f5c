"""The working calendar (工作日历): which days are working days, and time counted in office hours.

Days come from the ``CalendarDay`` table, seeded from the ``chinese_calendar`` package (years it
covers) and edited by administrators. A date without a row falls back to Monday–Friday, so a year
nobody has entered yet still gives an answer (and ``calendar_warning`` tells the administrators).
A year is *covered* when it has at least one row.

Office hours come from the ``OfficePeriod`` table (08:30–12:00 and 14:00–18:00 when it is empty).
All arithmetic is done in local wall-clock time of ``settings.TIME_ZONE``, in whole microseconds,
so that results are exact and ``working_time_between(m, add_working_hours(m, h)) == h``.

Each public function reads the database a bounded, small number of times (office periods once,
calendar days in one query per span); nothing queries per day. Loops are bounded by
``MAX_SPAN_DAYS``: input that would need more raises ``ValueError`` instead of hanging.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from numbers import Real

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import refcache
from .models import CalendarDay, OfficePeriod

#: The longest span (in calendar days) any function will walk; past it a ValueError is raised.
MAX_SPAN_DAYS = 3660

#: Office hours used when the OfficePeriod table is empty.
DEFAULT_OFFICE_PERIODS: tuple[tuple[datetime.time, datetime.time], ...] = (
    (datetime.time(8, 30), datetime.time(12, 0)),
    (datetime.time(14, 0), datetime.time(18, 0)),
)

#: Years the seed migration loads from chinese_calendar.
SEED_YEARS = range(2004, 2027)

# Names stored in CalendarDay.name. They are data (the same for every reader), not interface text,
# so they are plain strings rather than gettext calls.
HOLIDAY_NAMES: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
MAKEUP_WORKDAY_NAME = "调休上班"

_ONE_DAY = datetime.timedelta(days=1)
_MICRO = 1_000_000
_CHUNK = 1000  # rows per bulk_create / bulk_update batch

Number = int | float | Decimal | Fraction


# --------------------------------------------------------------------------- seeding


def package_covers(year: int) -> bool:
    """Whether the installed ``chinese_calendar`` package has data for ``year``."""
    import chinese_calendar

    try:
        chinese_calendar.is_workday(datetime.date(year, 1, 1))
        chinese_calendar.is_workday(datetime.date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


def _year_days(year: int) -> Iterable[datetime.date]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day
        day += _ONE_DAY


def _upsert(model: type[models.Model], wanted: dict[datetime.date, tuple[bool, str]], source: str,
            *, overwrite: frozenset[str]) -> int:
    """Create the missing rows of ``wanted``; update rows whose source is in ``overwrite``.

    Rows with any other source (above all ``admin``) are left alone. Returns the number of rows
    created or changed. Two queries to read, then batched writes.
    """
    if not wanted:
        return 0
    existing = {row.date: row for row in model.objects.filter(date__range=(min(wanted), max(wanted)))}
    to_create = []
    to_update = []
    for day, (is_workday, name) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            to_create.append(model(date=day, is_workday=is_workday, name=name, source=source))
        elif row.source in overwrite and (row.is_workday, row.name, row.source) != (is_workday, name, source):
            row.is_workday, row.name, row.source = is_workday, name, source
            to_update.append(row)
    with transaction.atomic():
        model.objects.bulk_create(to_create, batch_size=_CHUNK, ignore_conflicts=True)
        model.objects.bulk_update(to_update, ["is_workday", "name", "source"], batch_size=_CHUNK)
    return len(to_create) + len(to_update)


def seed_from_chinesecalendar(years: Iterable[int] = SEED_YEARS, *, model: type[models.Model] | None = None) -> int:
    """Fill CalendarDay for every day of each year in ``years`` that chinese_calendar covers.

    Holidays get their Chinese name (国庆节 …), weekend make-up working days "调休上班", ordinary
    days an empty name. Idempotent: rows an administrator saved (source "admin") are never
    overwritten; rows from the package or from ``generate_weekday_year`` are brought up to date.
    Years the package does not cover are skipped. ``model`` lets a data migration pass its
    historical model. Returns the number of rows created or changed.
    """
    import chinese_calendar

    model = model or CalendarDay
    changed = 0
    for year in years:
        if not package_covers(year):
            continue
        wanted: dict[datetime.date, tuple[bool, str]] = {}
        for day in _year_days(year):
            is_workday = bool(chinese_calendar.is_workday(day))
            _holiday, english = chinese_calendar.get_holiday_detail(day)
            if is_workday:
                name = MAKEUP_WORKDAY_NAME if day.weekday() >= 5 else ""
            else:
                name = HOLIDAY_NAMES.get(english, english) if english else ""
            wanted[day] = (is_workday, name)
        changed += _upsert(model, wanted, "chinesecalendar", overwrite=frozenset({"chinesecalendar", "weekday"}))
    return changed


def generate_weekday_year(year: int, *, model: type[models.Model] | None = None) -> int:
    """Create a row for every day of ``year``: Monday–Friday working days, weekends rest days.

    For a year chinese_calendar does not cover; an administrator then edits the holidays and the
    调休 days one by one. Idempotent: existing rows (whatever their source) are kept. Returns the
    number of rows created.
    """
    if not 1 <= year <= 9998:
        raise ValueError(f"year out of range: {year}")
    model = model or CalendarDay
    wanted = {day: (day.weekday() < 5, "") for day in _year_days(year)}
    return _upsert(model, wanted, "weekday", overwrite=frozenset())


# --------------------------------------------------------------------------- days


def _fallback(day: datetime.date) -> bool:
    return day.weekday() < 5


def workday_map(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    """``{date: is_workday}`` for every date in ``[start, end]`` (inclusive), in one query.

    Dates without a row fall back to Monday–Friday.
    """
    if end < start:
        return {}
    if (end - start).days > MAX_SPAN_DAYS:
        raise ValueError(
            f"span of {(end - start).days} days from {start} to {end} exceeds the limit of {MAX_SPAN_DAYS} days"
        )
    if end.year - start.year <= 2:  # the usual deadline walk: whole years from the process cache
        years = {year: _year_rows(year) for year in range(start.year, end.year + 1)}
        rows = {}
        for year_rows in years.values():
            rows.update(year_rows)
    else:
        rows = dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_workday"))
    result = {}
    for offset in range((end - start).days + 1):
        day = start + datetime.timedelta(days=offset)
        result[day] = rows.get(day, _fallback(day))
    return result


def _year_rows(year: int) -> dict[datetime.date, bool]:
    """The CalendarDay rows of one year, kept in the process cache (``core.refcache``)."""
    def load() -> dict[datetime.date, bool]:
        return dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday"))
    return refcache.get(("calendar-year", year), load)


def is_workday(day: datetime.date) -> bool:
    """Whether ``day`` is a working day (a row if there is one, otherwise Monday–Friday).

    An aware datetime is taken at its local date.
    """
    if isinstance(day, datetime.datetime):
        day = _local(day, "is_workday").date()
    value = CalendarDay.objects.filter(date=day).values_list("is_workday", flat=True).first()
    return _fallback(day) if value is None else value


def uncovered_years(years: Iterable[int]) -> list[int]:
    """The years in ``years`` that have no CalendarDay row (sorted), in one query."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    lo, hi = datetime.date(wanted[0], 1, 1), datetime.date(wanted[-1], 12, 31)
    present = {d.year for d in CalendarDay.objects.filter(date__range=(lo, hi)).dates("date", "year")}
    return [year for year in wanted if year not in present]


def covered(year: int) -> bool:
    """Whether ``year`` has at least one CalendarDay row."""
    return not uncovered_years([year])


class _Days:
    """Working-day lookups for a walk forward from a date, loaded in chunks (one query each)."""

    def __init__(self, start: datetime.date, first_chunk_days: int) -> None:
        self.start = start
        self.limit = start + datetime.timedelta(days=MAX_SPAN_DAYS)
        self.days: dict[datetime.date, bool] = {}
        self.loaded_until = start - _ONE_DAY
        self.chunk = max(31, min(first_chunk_days, MAX_SPAN_DAYS))

    def __call__(self, day: datetime.date) -> bool:
        if day > self.loaded_until:
            end = min(max(day, self.loaded_until + datetime.timedelta(days=self.chunk)), self.limit)
            self.days.update(workday_map(self.loaded_until + _ONE_DAY, end))
            self.loaded_until = end
            self.chunk *= 2
        return self.days[day]


# --------------------------------------------------------------------------- office hours


def office_periods() -> list[tuple[datetime.time, datetime.time]]:
    """The day's office periods, sorted and with overlaps merged (defaults when the table is empty)."""
    return list(refcache.get("office-periods", _load_office_periods))


def _load_office_periods() -> list[tuple[datetime.time, datetime.time]]:
    rows = sorted(OfficePeriod.objects.values_list("start", "end")) or list(DEFAULT_OFFICE_PERIODS)
    merged: list[tuple[datetime.time, datetime.time]] = []
    for start, end in rows:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged or list(DEFAULT_OFFICE_PERIODS)


def _seconds(t: datetime.time) -> int:
    return (t.hour * 3600 + t.minute * 60 + t.second) * _MICRO + t.microsecond


def _periods_micro() -> list[tuple[int, int]]:
    """Office periods as (start, end) microseconds since local midnight."""
    return [(_seconds(s), _seconds(e)) for s, e in office_periods()]


def day_length() -> datetime.timedelta:
    """The office time of one working day (8 hours with the default periods)."""
    return datetime.timedelta(microseconds=sum(e - s for s, e in _periods_micro()))


# --------------------------------------------------------------------------- arithmetic


def _local(moment: datetime.datetime, what: str) -> datetime.datetime:
    """``moment`` as a naive local wall-clock time; naive input is refused."""
    if not isinstance(moment, datetime.datetime):
        raise ValueError(f"{what} needs a datetime, got {type(moment).__name__}")
    if timezone.is_naive(moment):
        raise ValueError(f"{what} needs a timezone-aware datetime, got the naive {moment.isoformat()}")
    return timezone.localtime(moment, timezone.get_default_timezone()).replace(tzinfo=None)


def _aware(local: datetime.datetime) -> datetime.datetime:
    return timezone.make_aware(local, timezone.get_default_timezone())


def _micro_of_day(local: datetime.datetime) -> int:
    return _seconds(local.time())


def _to_micro(amount: Number, unit_micro: int, what: str) -> int:
    """``amount`` × ``unit_micro`` as whole microseconds, exactly; refuses negative/NaN/infinite."""
    if isinstance(amount, bool) or not isinstance(amount, Real | Decimal):
        raise ValueError(f"{what} must be a number, got {amount!r}")
    if (isinstance(amount, Decimal) and not amount.is_finite()) or (
        isinstance(amount, float) and not math.isfinite(amount)
    ):
        raise ValueError(f"{what} must be a finite number, got {amount!r}")
    if amount < 0:
        raise ValueError(f"{what} must not be negative, got {amount!r}")
    return round(Fraction(amount) * unit_micro)


def _add(moment: datetime.datetime, amount: Number, unit: str, what: str) -> datetime.datetime:
    """Walk forward from ``moment`` through office periods until ``amount`` hours/days are used."""
    periods = _periods_micro()
    per_day = sum(e - s for s, e in periods)
    micro = _to_micro(amount, per_day if unit == "days" else 3600 * _MICRO, what)
    if micro > MAX_SPAN_DAYS * per_day:
        raise ValueError(
            f"{what}: {amount!r} {unit} of office time cannot fit in {MAX_SPAN_DAYS} days; "
            f"the amount is too large"
        )
    local = _local(moment, what)
    day = local.date()
    if day > datetime.date.max - datetime.timedelta(days=MAX_SPAN_DAYS + 1):
        raise ValueError(f"{what}: {moment.isoformat()} is too close to the end of the calendar")
    workdays_needed = micro // per_day + 2
    days = _Days(day, workdays_needed * 7 // 5 + 21)  # room for weekends and a long holiday
    cursor = _micro_of_day(local)  # position within the day; 0 on following days
    remaining = micro
    for _step in range(MAX_SPAN_DAYS + 1):
        if days(day):
            for start, end in periods:
                begin = max(start, cursor)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    midnight = datetime.datetime.combine(day, datetime.time())
                    return _aware(midnight + datetime.timedelta(microseconds=begin + remaining))
                remaining -= end - begin
        day += _ONE_DAY
        cursor = 0
    raise ValueError(
        f"{what}: no room for {datetime.timedelta(microseconds=micro)} of office time within "
        f"{MAX_SPAN_DAYS} days after {moment.isoformat()}; check the working calendar"
    )


def add_working_hours(moment: datetime.datetime, hours: Number) -> datetime.datetime:
    """The moment at which ``hours`` of office time have passed since ``moment``.

    ``moment`` must be timezone-aware; the result is in the local time zone. A moment outside
    office hours starts counting at the next office period (so 0 hours moves it there). For a
    positive amount the result is the earliest such moment: an amount that ends exactly at the
    end of a period returns that end (12:00), not the next start. ``hours`` may be an int, float,
    Decimal or Fraction; it is converted exactly and rounded to the microsecond.
    """
    return _add(moment, hours, "hours", "add_working_hours")


def add_working_days(moment: datetime.datetime, days: Number) -> datetime.datetime:
    """Add ``days`` working days, one working day being the length of the office periods.

    The same as ``add_working_hours(moment, days × day length)``: from Tuesday 10:00, one working
    day is Wednesday 10:00 (or the next working day's 10:00 across holidays).
    """
    return _add(moment, days, "days", "add_working_days")


def working_time_between(start: datetime.datetime, end: datetime.datetime) -> datetime.timedelta:
    """The office time inside ``[start, end)``; ``timedelta(0)`` when ``end <= start``."""
    local_start = _local(start, "working_time_between")
    local_end = _local(end, "working_time_between")
    if local_end <= local_start:
        return datetime.timedelta(0)
    days = workday_map(local_start.date(), local_end.date())  # raises past MAX_SPAN_DAYS
    periods = _periods_micro()
    total = 0
    for day, working in days.items():
        if not working:
            continue
        lo = _micro_of_day(local_start) if day == local_start.date() else 0
        hi = _micro_of_day(local_end) if day == local_end.date() else 24 * 3600 * _MICRO
        for p_start, p_end in periods:
            total += max(0, min(p_end, hi) - max(p_start, lo))
    return datetime.timedelta(microseconds=total)


# --------------------------------------------------------------------------- warnings


def _today() -> datetime.date:
    """Today in local time (a seam for tests)."""
    return timezone.localdate()


def years_needing_entry(today: datetime.date | None = None) -> list[int]:
    """This year if it has no CalendarDay row; next year too from November on, when the State
    Council's holiday notice for it is usually out."""
    today = today or _today()
    years = [today.year, today.year + 1] if today.month >= 11 else [today.year]
    return uncovered_years(years)


def calendar_warning(today: datetime.date | None = None) -> str | None:
    """A message for administrators when this or next year's calendar is missing, else None."""
    years = years_needing_entry(today)
    if not years:
        return None
    return _("%(years)s 年的工作日历尚未录入，期限按周一至周五计算，请在管理后台录入节假日。") % {
        "years": "、".join(str(year) for year in years)
    }
