"""Recurring meetings (例会): the cadences an area must keep, the meetings held, reminders and overdue
alerts (issue 10).

- ``create_series(actor=, area=, kind=, name=, every_months=, next_due=, remind_days=7, organiser=None,
  quorum=None)`` — a cadence. Kinds have a default period (``KIND_MONTHS``): opinion meetings every
  two months, the tripartite meeting quarterly, the owners' assembly yearly. ``quorum`` is an optional
  ``rules`` tree over the meeting's figures (``QUORUM_PRESETS`` offers "more than half" and "two
  thirds or more" of those eligible present).
- ``hold_meeting(actor=, area=, series=None, title=, held_at=, place=, agenda=, minutes=, eligible=,
  present=, attendees=[…], decisions=[…])`` — a meeting held: its attendance list (as for a 四议 stage,
  ``present`` may be left ``None`` and is then the number marked present), the quorum evaluated with the
  series' rule (``None`` without one), the decisions it took linked to it. The series' ``next_due``
  moves to the latest held date of the series + ``every_months`` (``add_months``: 31 January + 1 month
  is 28 or 29 February).
- ``remind_due(now)`` — the worker. For each active series: a reminder when the due date is
  ``remind_days`` away or less and not yet past (once per due date: ``reminded_for``), an overdue alert
  once the due date has passed (once per due date: ``overdue_alerted_for``). Each is claimed with a
  conditional UPDATE inside its transaction, so two workers never send one twice. A series overdue
  when first seen gets the overdue alert only. ``reminder_job(now)`` is its one-line summary.
  **Who hears:** the series' organiser when there is one (and active); otherwise the holders of the
  社区书记 (party_secretary) and 领导 (leader) roles at the series' area — or, if nobody holds them
  there, at the nearest area above that has some.

Who may create a series or record a meeting: ``queries.can_manage`` on the area.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import acting_user, jurisdiction

from . import presets, rules
from .models import Decision, Meeting, MeetingSeries
from .procedures import MAX_MINUTES, _count, _text, clean_attendees, count_present, save_attendees
from .queries import can_manage

KIND_MONTHS = {MeetingSeries.Kind.OPINION: 2, MeetingSeries.Kind.TRIPARTITE: 3, MeetingSeries.Kind.ASSEMBLY: 12}
MAX_MONTHS = 60
MAX_REMIND_DAYS = 90
RECIPIENT_ROLES = ("party_secretary", "leader")


def _attendance(ratio: str, cmp: str) -> dict:
    return {"electorate": "all", "count": "attendees", "measure": "persons", "base": "electorate", "cmp": cmp,
            "ratio": ratio}


#: Quorum rules offered on the form: key → (label, rule).
QUORUM_PRESETS = {
    "half": (gettext_lazy("过半数应到人员出席"), _attendance("1/2", ">")),
    "two_thirds": (gettext_lazy("三分之二以上应到人员出席"), _attendance("2/3", ">=")),
}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's last (Jan 31 + 1 → Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check(actor, area) -> None:
    if not can_manage(actor, area):
        raise PermissionDenied(_("您不能管理该区域的例会"))


def _is_date(value) -> bool:
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


# ------------------------------------------------------------------------------------ series


def create_series(*, actor, area, kind: str, name: str, next_due, every_months: int | None = None,
                  remind_days: int = 7, organiser=None, quorum: dict | None = None) -> MeetingSeries:
    """A recurring meeting of ``area`` (see the module's docstring)."""

    _check(actor, area)
    if kind not in MeetingSeries.Kind.values:
        raise ValidationError({"kind": [_("请选择例会类别")]})
    name = _text(name, "name", 120, required=_("请填写例会名称"))
    if every_months is None:
        every_months = KIND_MONTHS.get(kind)
        if every_months is None:
            raise ValidationError({"every_months": [_("请填写周期（月）")]})
    if isinstance(every_months, bool) or not isinstance(every_months, int) or not 1 <= every_months <= MAX_MONTHS:
        raise ValidationError({"every_months": [_("周期应为 1 到 %(n)s 个月") % {"n": MAX_MONTHS}]})
    if isinstance(remind_days, bool) or not isinstance(remind_days, int) or not 0 <= remind_days <= MAX_REMIND_DAYS:
        raise ValidationError({"remind_days": [_("提前提醒天数应为 0 到 %(n)s 天") % {"n": MAX_REMIND_DAYS}]})
    if not _is_date(next_due):
        raise ValidationError({"next_due": [_("请填写下次应召开的日期")]})
    if organiser is not None and not (organiser.is_active and (can_manage(organiser, area)
                                                                or jurisdiction(organiser).covers_path(area.path))):
        raise ValidationError({"organiser": [_("召集人应为该区域的工作人员")]})
    if quorum is not None:
        quorum = rules.validate(quorum)
    with transaction.atomic():
        series = MeetingSeries.objects.create(area=area, kind=kind, name=name, every_months=every_months,
                                              next_due=next_due, remind_days=remind_days, organiser=organiser,
                                              quorum=quorum)
        audit.record(actor, "deliberation.create_series", series, after=audit.snapshot(series))
    return series


def set_series_active(series: MeetingSeries, *, actor, active: bool) -> MeetingSeries:
    """Stop (or resume) a cadence: a stopped series is neither reminded nor alerted."""
    _check(actor, series.area)
    with transaction.atomic():
        locked = MeetingSeries.objects.select_for_update().get(pk=series.pk)
        before = audit.snapshot(locked, ["is_active"])
        locked.is_active = bool(active)
        locked.save(update_fields=["is_active"])
        audit.record(actor, "deliberation.series_active", locked, before=before,
                     after=audit.snapshot(locked, ["is_active"]))
    return locked


def is_overdue(series: MeetingSeries, today: datetime.date | None = None) -> bool:
    return series.is_active and series.next_due < (today or timezone.localdate())


# ------------------------------------------------------------------------------------ meetings


def hold_meeting(*, actor, area=None, series: MeetingSeries | None = None, title: str, held_at, place: str = "",
                 agenda: str = "", minutes: str = "", eligible=None, present=None, attendees=None,
                 decisions=()) -> Meeting:
    """Record a meeting held (see the module's docstring)."""

    if series is not None:
        area = area or series.area
        if area.pk != series.area_id:
            raise ValidationError({"series": [_("该例会不属于所选区域")]})
    if area is None:
        raise ValidationError({"area": [_("请选择所属区域")]})
    _check(actor, area)
    title = _text(title, "title", 200, required=_("请填写会议名称"))
    place = _text(place, "place", 200)
    agenda = _text(agenda, "agenda", MAX_MINUTES)
    minutes = _text(minutes, "minutes", MAX_MINUTES, required=_("请填写会议纪要"))
    if not isinstance(held_at, datetime.datetime):
        raise ValidationError({"held_at": [_("请填写召开时间")]})
    if timezone.is_naive(held_at):
        held_at = timezone.make_aware(held_at)
    if held_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"held_at": [_("召开时间不能晚于现在")]})
    if eligible is not None:
        eligible = _count(eligible, "eligible", _("应到人数"), minimum=1)
    rows = clean_attendees(attendees)
    if rows or present is not None:
        present = count_present(eligible, present, rows)
    linked = list(decisions or ())
    for decision in linked:
        if not isinstance(decision, Decision) or not decision.area.path.startswith(area.path):
            raise ValidationError({"decisions": [_("所选表决不属于该区域")]})
    with transaction.atomic():
        locked = MeetingSeries.objects.select_for_update().get(pk=series.pk) if series is not None else None
        quorate = None
        if locked is not None and locked.quorum:
            if eligible is None or present is None:
                raise ValidationError({"eligible": [_("该例会有法定人数要求，请填写应到和实到人数")]})
            quorate = bool(rules.evaluate(locked.quorum, presets.stage_figures(eligible, present)).passed)
        meeting = Meeting.objects.create(series=locked, area=area, title=title, held_at=held_at, place=place,
                                         agenda=agenda, minutes=minutes, eligible=eligible, present=present,
                                         quorate=quorate, recorded_by=acting_user(actor))
        made = save_attendees(rows, meeting=meeting)
        for decision in Decision.objects.select_for_update().filter(pk__in=[d.pk for d in linked]).order_by("pk"):
            if decision.meeting_id is not None:
                raise Conflict(_("表决“%(title)s”已关联其他会议") % {"title": decision.title})
            decision.meeting = meeting
            decision.save(update_fields=["meeting"])
        audit.record(actor, "deliberation.hold_meeting", meeting,
                     after={**audit.snapshot(meeting), "attendees": len(made), "decisions": [d.pk for d in linked]})
        if locked is not None:
            _advance(actor, locked)
    return meeting


def _advance(actor, series: MeetingSeries) -> None:
    """Move a locked series' next due date on from its latest meeting."""
    latest = series.meetings.aggregate(at=Max("held_at"))["at"]
    new_due = add_months(timezone.localdate(latest), series.every_months)
    if new_due == series.next_due:
        return
    before = audit.snapshot(series, ["next_due"])
    series.next_due = new_due
    series.save(update_fields=["next_due"])
    audit.record(actor, "deliberation.series_advance", series, before=before, after=audit.snapshot(series, ["next_due"]))


# ------------------------------------------------------------------------------------ the worker


@dataclass
class Told:
    reminded: int = 0
    overdue: int = 0


def recipients(series: MeetingSeries) -> list[int]:
    """Who hears about a series (see the module's docstring): user ids."""
    from gongzhi.areas.models import Area
    from gongzhi.orgs.models import Membership

    if series.organiser_id and series.organiser.is_active:
        return [series.organiser_id]
    ids = [int(p) for p in series.area.path.strip("/").split("/") if p.isdigit()] or [series.area_id]
    depth = dict(Area.objects.filter(pk__in=ids).values_list("pk", "depth"))
    holders: dict[int, set[int]] = {}
    for area_id, user_id in (Membership.objects.active().filter(area_id__in=ids, role__code__in=RECIPIENT_ROLES,
                                                                user__is_active=True)
                             .values_list("area_id", "user_id")):
        holders.setdefault(area_id, set()).add(user_id)
    for area_id in sorted(holders, key=lambda a: depth.get(a, 0), reverse=True):
        return sorted(holders[area_id])
    return []


def _notify(series: MeetingSeries, kind: str, title: str, body: str) -> int:
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    users = recipients(series)
    url = reverse("deliberation:series", args=[series.pk])
    Notification.objects.bulk_create([Notification(user_id=u, kind=kind, title=title[:200], body=body[:2000], url=url)
                                      for u in users])
    return len(users)


def remind_due(now: datetime.datetime | None = None, limit: int = 200) -> Told:
    """Reminders and overdue alerts, each once per due date (see the module's docstring)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    told = Told()
    soon = (MeetingSeries.objects.filter(is_active=True, next_due__gte=today,
                                         next_due__lte=today + datetime.timedelta(days=MAX_REMIND_DAYS))
            .exclude(reminded_for=F("next_due")).order_by("next_due", "pk").values_list("pk", "next_due", "remind_days"))
    for pk, due, days in list(soon):
        if told.reminded >= limit:
            break
        if due - datetime.timedelta(days=days) > today:
            continue  # not yet: this series is reminded fewer days ahead
        with transaction.atomic():
            if MeetingSeries.objects.filter(pk=pk, is_active=True, next_due=due).exclude(
                    reminded_for=due).update(reminded_for=due) != 1:
                continue  # another worker sent it, or the meeting was held meanwhile
            series = MeetingSeries.objects.select_related("area", "organiser").get(pk=pk)
            _notify(series, "deliberation_meeting_due", _("例会提醒：%(name)s") % {"name": series.name},
                    _("%(area)s · 应于 %(due)s 前召开") % {"area": series.area.name, "due": due.isoformat()})
            told.reminded += 1
    late = (MeetingSeries.objects.filter(is_active=True, next_due__lt=today)
            .exclude(overdue_alerted_for=F("next_due")).order_by("next_due", "pk").values_list("pk", "next_due"))
    for pk, due in late[:limit]:
        with transaction.atomic():
            if MeetingSeries.objects.filter(pk=pk, is_active=True, next_due=due).exclude(
                    overdue_alerted_for=due).update(overdue_alerted_for=due) != 1:
                continue
            series = MeetingSeries.objects.select_related("area", "organiser").get(pk=pk)
            _notify(series, "deliberation_meeting_overdue", _("例会逾期：%(name)s") % {"name": series.name},
                    _("%(area)s · 应于 %(due)s 召开，已逾期 %(days)s 天") % {
                        "area": series.area.name, "due": due.isoformat(), "days": (today - due).days})
            told.overdue += 1
    return told


def reminder_job(now: datetime.datetime | None = None) -> str | None:
    """For the worker's loop (``gongzhi worker``): ``remind_due``'s one-line summary, or None."""
    told = remind_due(now)
    if not told.reminded and not told.overdue:
        return None
    return f"deliberation: {told.reminded} meeting reminders, {told.overdue} overdue alerts"
