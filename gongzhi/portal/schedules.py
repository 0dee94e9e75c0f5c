"""Service schedules (服务时间表): recurring services of an area — garbage collection times, clinic
hours, the legal adviser's office hours, inspection day — with single days changed or cancelled
(``ScheduleException``), and which days they run by the working calendar (``core.calendar``).

Reads: ``runs_on`` (one schedule, one day), ``plan`` (many schedules over a span, a bounded number
of queries), ``today_for`` / ``week_for`` (what applies at a resident's address). Writes: the
services below, each checked with ``queries.can_publish`` over the schedule's area and audited.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.areas.models import Area
from gongzhi.core import audit
from gongzhi.core import calendar as workcal
from gongzhi.core.forms import clean_text
from gongzhi.core.models import CalendarDay
from gongzhi.core.scoping import jurisdiction

from . import queries
from .models import ScheduleException, ServiceSchedule

Rule = ServiceSchedule.CalendarRule
MAX_TIMES = 24
#: the longest span ``plan`` computes at once (a page shows 7 or 14 days)
MAX_PLAN_DAYS = 62
SCHEDULE_FIELDS = ["area", "kind", "title", "weekdays", "times", "calendar_rule", "place", "note", "is_public",
                   "valid_from", "valid_until"]
EXCEPTION_FIELDS = ["schedule", "date", "cancelled", "times", "note"]
WEEKDAY_NAMES = (gettext_lazy("周一"), gettext_lazy("周二"), gettext_lazy("周三"), gettext_lazy("周四"),
                 gettext_lazy("周五"), gettext_lazy("周六"), gettext_lazy("周日"))

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DASHES = str.maketrans({"：": ":", "～": "-", "~": "-", "—": "-", "–": "-", "－": "-", "至": "-"})
_SPLIT = re.compile(r"[\s,，、;；]+")


class Occurrence(NamedTuple):
    """A schedule running on a day at an address: ``area`` is the user's home it applies to."""

    schedule: ServiceSchedule
    times: list[str]
    note: str
    area: Area


class DayPlan(NamedTuple):
    date: datetime.date
    holiday: str  # the calendar's name of the day (劳动节, 调休上班) or ""
    is_workday: bool
    occurrences: list[Occurrence]


# ------------------------------------------------------------------------------ validation


def _hhmm(text: str, original: str) -> str:
    match = _TIME.match(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError({"times": _("时间“%(t)s”不正确：应为 HH:MM（00:00–23:59）或 HH:MM-HH:MM")
                               % {"t": original}})
    return f"{int(match[1]):02d}:{match[2]}"


def clean_times(value, *, required: bool = True) -> list[str]:
    """``"07:30, 12:30 19:30"`` or a list → sorted, unique ``["07:30", "12:30", "19:30"]``; a range
    ``"09:00-12:00"`` must end after it starts."""
    if isinstance(value, str):
        items = [part for part in _SPLIT.split(value.translate(_DASHES)) if part]
    elif isinstance(value, list | tuple):
        items = []
        for item in value:
            if not isinstance(item, str):
                raise ValidationError({"times": _("时间格式不正确")})
            items.append(item.strip().translate(_DASHES).replace(" ", ""))
    else:
        raise ValidationError({"times": _("时间格式不正确")})
    result = set()
    for item in items:
        if "-" in item:
            start, _sep, end = item.partition("-")
            start, end = _hhmm(start, item), _hhmm(end, item)
            if end <= start:
                raise ValidationError({"times": _("时间段“%(t)s”的结束时间应晚于开始时间") % {"t": item}})
            result.add(f"{start}-{end}")
        else:
            result.add(_hhmm(item, item))
    if required and not result:
        raise ValidationError({"times": _("请填写时间，如 07:30 或 09:00-12:00")})
    if len(result) > MAX_TIMES:
        raise ValidationError({"times": _("一天最多 %(n)s 个时间") % {"n": MAX_TIMES}})
    return sorted(result)


def clean_weekdays(value) -> list[int]:
    """0 = Monday … 6 = Sunday; empty = every day."""
    if value is None or value == "":
        return []
    if not isinstance(value, list | tuple | set):
        raise ValidationError({"weekdays": _("星期格式不正确")})
    days = set()
    for item in value:
        try:
            day = int(item)
        except (TypeError, ValueError):
            day = -1
        if isinstance(item, bool) or not 0 <= day <= 6 or str(item).strip() != str(day):
            raise ValidationError({"weekdays": _("星期应为 0（周一）到 6（周日）")})
        days.add(day)
    return sorted(days)


def _clean(values: dict) -> dict:
    if values["kind"] not in ServiceSchedule.Kind.values:
        raise ValidationError({"kind": _("请选择类别")})
    if values["calendar_rule"] not in Rule.values:
        raise ValidationError({"calendar_rule": _("请选择节假日规则")})
    values["title"] = clean_text(values["title"], "title", _("名称"), 100)
    values["place"] = clean_text(values["place"], "place", _("地点"), 100, required=False)
    values["note"] = clean_text(values["note"], "note", _("说明"), 200, required=False)
    values["weekdays"] = clean_weekdays(values["weekdays"])
    values["times"] = clean_times(values["times"])
    values["is_public"] = bool(values["is_public"])
    if not isinstance(values["valid_from"], datetime.date):
        raise ValidationError({"valid_from": _("请填写开始日期")})
    until = values["valid_until"]
    if until is not None and not isinstance(until, datetime.date):
        raise ValidationError({"valid_until": _("结束日期格式不正确")})
    if until is not None and until < values["valid_from"]:
        raise ValidationError({"valid_until": _("结束日期不能早于开始日期")})
    return values


def _check(actor, area) -> None:
    if not queries.can_publish(actor, area):
        raise PermissionDenied(_("您不能管理该区域的服务时间表"))


# ------------------------------------------------------------------------------ services


def create_schedule(actor, *, area, kind, title, weekdays, times, calendar_rule, place="", note="",
                    is_public=True, valid_from=None, valid_until=None) -> ServiceSchedule:
    _check(actor, area)
    values = _clean({"kind": kind, "title": title, "weekdays": weekdays, "times": times,
                     "calendar_rule": calendar_rule, "place": place, "note": note, "is_public": is_public,
                     "valid_from": valid_from or timezone.localdate(), "valid_until": valid_until})
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        schedule = ServiceSchedule.objects.create(area=area, created_by=actor_obj, **values)
        audit.record(actor, "portal.schedule.create", schedule, after=audit.snapshot(schedule, SCHEDULE_FIELDS))
    return schedule


def update_schedule(actor, schedule: ServiceSchedule, **changes) -> ServiceSchedule:
    """Change any of the fields ``create_schedule`` takes (a new area must be the actor's too)."""
    unknown = set(changes) - set(SCHEDULE_FIELDS)
    if unknown:
        raise TypeError(f"update_schedule: unknown fields {sorted(unknown)}")
    _check(actor, schedule.area)
    if "area" in changes:
        _check(actor, changes["area"])
    with transaction.atomic():
        locked = ServiceSchedule.objects.select_for_update().select_related("area").get(pk=schedule.pk)
        before = audit.snapshot(locked, SCHEDULE_FIELDS)
        values = {name: changes.get(name, getattr(locked, name)) for name in SCHEDULE_FIELDS if name != "area"}
        values = _clean(values)
        for name, value in values.items():
            setattr(locked, name, value)
        if "area" in changes:
            locked.area = changes["area"]
        locked.save()
        audit.record(actor, "portal.schedule.update", locked, before=before,
                     after=audit.snapshot(locked, SCHEDULE_FIELDS))
    return locked


def end_schedule(actor, schedule: ServiceSchedule, *, last_day: datetime.date | None = None) -> ServiceSchedule:
    """The service stops after ``last_day`` (today by default)."""
    _check(actor, schedule.area)
    last_day = last_day or timezone.localdate()
    with transaction.atomic():
        locked = ServiceSchedule.objects.select_for_update().get(pk=schedule.pk)
        if last_day < locked.valid_from:
            raise ValidationError({"valid_until": _("结束日期不能早于开始日期")})
        before = audit.snapshot(locked, ["valid_until"])
        locked.valid_until = last_day
        locked.save(update_fields=["valid_until"])
        audit.record(actor, "portal.schedule.end", locked, before=before,
                     after=audit.snapshot(locked, ["valid_until"]))
    return locked


def set_exception(actor, schedule: ServiceSchedule, *, date, cancelled=False, times=(), note="") -> ScheduleException:
    """Cancel the service on ``date`` or give other times that day (replaces the day's exception)."""
    _check(actor, schedule.area)
    if not isinstance(date, datetime.date):
        raise ValidationError({"date": _("请填写日期")})
    note = clean_text(note, "note", _("说明"), 200, required=False)
    cancelled = bool(cancelled)
    if cancelled:
        times = []
    else:
        if not times:
            raise ValidationError({"times": _("请填写当天的时间，或选择当天停止")})
        times = clean_times(times)
    with transaction.atomic():
        locked = ServiceSchedule.objects.select_for_update().get(pk=schedule.pk)
        if date < locked.valid_from or (locked.valid_until and date > locked.valid_until):
            raise ValidationError({"date": _("该日期不在时间表的有效期内")})
        existing = ScheduleException.objects.filter(schedule=locked, date=date).first()
        before = audit.snapshot(existing, EXCEPTION_FIELDS) if existing else None
        exception, _created = ScheduleException.objects.update_or_create(
            schedule=locked, date=date, defaults={"cancelled": cancelled, "times": times, "note": note})
        audit.record(actor, "portal.schedule.exception_set", exception, before=before,
                     after=audit.snapshot(exception, EXCEPTION_FIELDS))
    return exception


def remove_exception(actor, exception: ScheduleException) -> None:
    _check(actor, exception.schedule.area)
    with transaction.atomic():
        before = audit.snapshot(exception, EXCEPTION_FIELDS)
        audit.record(actor, "portal.schedule.exception_remove", exception, before=before)
        ScheduleException.objects.filter(pk=exception.pk).delete()


# ------------------------------------------------------------------------------ which days


def _runs(schedule: ServiceSchedule, day: datetime.date, exception: ScheduleException | None,
          workday: bool) -> list[str]:
    if day < schedule.valid_from or (schedule.valid_until and day > schedule.valid_until):
        return []
    if exception is not None:
        return [] if exception.cancelled else list(exception.times)
    if schedule.calendar_rule == Rule.WORKDAYS:
        return list(schedule.times) if workday else []
    if schedule.weekdays and day.weekday() not in schedule.weekdays:
        return []
    if schedule.calendar_rule == Rule.NOT_ON_HOLIDAYS and day.weekday() < 5 and not workday:
        return []  # a statutory holiday on what would be a working weekday
    return list(schedule.times)


def runs_on(schedule: ServiceSchedule, day: datetime.date) -> list[str]:
    """The times ``schedule`` runs on ``day`` ([] = not that day)."""
    exception = ScheduleException.objects.filter(schedule=schedule, date=day).first()
    needs_calendar = exception is None and schedule.calendar_rule != Rule.EVERY_DAY
    return _runs(schedule, day, exception, workcal.is_workday(day) if needs_calendar else day.weekday() < 5)


def _first(times: list[str]) -> str:
    return times[0] if times else "99:99"


def plan(schedules: Iterable[ServiceSchedule], start: datetime.date, days: int) -> dict[datetime.date, list]:
    """``{day: [(schedule, times, exception note), …]}`` for ``days`` days from ``start`` — three
    queries (exceptions, the calendar) whatever the number of schedules; each day's list sorted by
    first time."""
    if not 1 <= days <= MAX_PLAN_DAYS:
        raise ValueError(f"plan: days must be 1..{MAX_PLAN_DAYS}, got {days}")
    end = start + datetime.timedelta(days=days - 1)
    schedules = list(schedules)
    exceptions = {(e.schedule_id, e.date): e for e in ScheduleException.objects.filter(
        schedule__in=[s.pk for s in schedules], date__range=(start, end))} if schedules else {}
    workdays = workcal.workday_map(start, end)
    result: dict[datetime.date, list] = {}
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        rows = []
        for schedule in schedules:
            exception = exceptions.get((schedule.pk, day))
            times = _runs(schedule, day, exception, workdays[day])
            if times:
                rows.append((schedule, times, exception.note if exception else ""))
        rows.sort(key=lambda row: (_first(row[1]), row[0].kind != ServiceSchedule.Kind.GARBAGE, row[0].title))
        result[day] = rows
    return result


def day_names(start: datetime.date, end: datetime.date) -> dict[datetime.date, str]:
    """The calendar's names of the days (劳动节, 调休上班) in ``[start, end]``, for display."""
    return dict(CalendarDay.objects.filter(date__range=(start, end)).exclude(name="").values_list("date", "name"))


# ------------------------------------------------------------------------------ at my address


def _home_schedules(user) -> tuple[list[ServiceSchedule], dict[int, Area]]:
    """The schedules visible to the user at one of their homes or above, each with the home it
    applies to (the first such home by path)."""
    homes = list(queries.homes(user).order_by("path"))
    if not homes:
        return [], {}
    ids = {int(part) for home in homes for part in home.path.strip("/").split("/") if part}
    schedules = list(queries.visible_schedules(user).filter(area__in=ids).order_by("kind", "title", "pk"))
    home_of = {}
    for schedule in schedules:
        home_of[schedule.pk] = next(h for h in homes if h.path.startswith(schedule.area.path))
    return schedules, home_of


def week_for(user, start: datetime.date | None = None, days: int = 7) -> list[DayPlan]:
    """What runs at the user's address on each of ``days`` days from ``start`` (today)."""
    start = start or timezone.localdate()
    end = start + datetime.timedelta(days=days - 1)
    schedules, home_of = _home_schedules(user)
    plans = plan(schedules, start, days)
    names = day_names(start, end)
    workdays = workcal.workday_map(start, end)
    return [DayPlan(day, names.get(day, ""), workdays[day],
                    [Occurrence(s, times, note, home_of[s.pk]) for s, times, note in rows])
            for day, rows in plans.items()]


def today_for(user, day: datetime.date | None = None) -> list[Occurrence]:
    """Every schedule at the user's address (their homes and the areas above) running on ``day``
    (today), sorted by first time."""
    return week_for(user, day, days=1)[0].occurrences


def cancelled_on(user, day: datetime.date | None = None) -> list[tuple[ServiceSchedule, ScheduleException, Area]]:
    """The schedules at the user's address that an exception cancels on ``day`` (today): ``(schedule,
    exception, home)``, for the API's home (``today_for`` lists only what runs)."""
    day = day or timezone.localdate()
    schedules, home_of = _home_schedules(user)
    if not schedules:
        return []
    by_pk = {s.pk: s for s in schedules}
    rows = ScheduleException.objects.filter(schedule__in=list(by_pk), date=day, cancelled=True).order_by("pk")
    return [(by_pk[e.schedule_id], e, home_of[e.schedule_id]) for e in rows
            if by_pk[e.schedule_id].valid_from <= day
            and (by_pk[e.schedule_id].valid_until is None or day <= by_pk[e.schedule_id].valid_until)]


# ------------------------------------------------------------------------------ staff


def publishable_areas(user):
    """The areas where the user may create schedules (``queries.can_publish``), top first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Area.objects.none()
    scope = jurisdiction(user)
    if scope.everything:
        return Area.objects.order_by("depth", "path")
    paths = set(scope.command_paths)
    for code in queries.PUBLISHER_ROLES:
        paths.update(scope.role_paths.get(code, ()))
    if not paths:
        return Area.objects.none()
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return Area.objects.filter(q).order_by("depth", "path")


def staff_schedules(user):
    """The schedules of the areas in the user's jurisdiction (public ones elsewhere excluded)."""
    scope = jurisdiction(user)
    visible = queries.visible_schedules(user)
    if scope.everything:
        return visible
    if not scope.paths:
        return visible.none()
    q = Q()
    for path in scope.paths:
        q |= Q(area__path__startswith=path)
    return visible.filter(q)


def weekday_label(schedule: ServiceSchedule) -> str:
    """``周一、周三`` / ``每天`` / ``工作日``, for display."""
    if schedule.calendar_rule == Rule.WORKDAYS:
        return _("工作日")
    if not schedule.weekdays:
        return _("每天")
    return "、".join(str(WEEKDAY_NAMES[d]) for d in schedule.weekdays)
