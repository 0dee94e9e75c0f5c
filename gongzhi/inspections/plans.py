"""Inspection plans: a team's recurring inspection day and the target list its rules choose (issue 8).

Services (each permission-checked and audited as ``inspection.plan.*``; ``actor=None`` is the system):

- ``create_plan(actor, team, name, checklist, …)`` / ``update_plan(plan, actor, **changes)`` /
  ``deactivate_plan(plan, actor)`` — whoever's jurisdiction covers the station's community manages
  its plans (the same rule as stations and teams in ``services``).
- ``build_day(plan, date)`` — materialises the ``PlanDay`` of that date and its ``PlanTarget`` rows.
  Candidates: the active premises inside the station's community (``area_path`` prefix) of the
  plan's types and at least its risk level. Ranked: 1. a re-inspection (回头看) due on or before the
  date, 2. open or escalated hazards (if the plan includes them), 3. never visited, 4. last visit at
  least ``revisit_days`` before the date; ties: higher risk first, then the oldest last visit. At most
  ``max_targets``. Building again replaces only the targets not visited yet; a premises already in
  another plan's day of the same date is skipped.
- ``build_week(day_in_week, plans=None)`` — every active plan's day in that ISO week, in one
  transaction with a fixed number of queries (``Week`` reads what ranking needs for all the
  communities at once; each plan is ranked in Python; one bulk insert).
- ``mark_visited(visit)`` — fills ``PlanTarget.visit`` of the visiting team's target for that
  premises on the visit's day (``services.record_visit`` calls it).

Reads: ``rank(plan, date)`` (what a plan would get now), ``visible_plans(user)``, ``get_plan(user, pk)``,
``member_teams(user)``, ``managed_stations(user)``, ``plannable_teams(user)``.
"""

from __future__ import annotations

import datetime
import heapq

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.checklists.models import Checklist
from gongzhi.core import audit
from gongzhi.core.scoping import MAX_ID, jurisdiction
from gongzhi.premises.models import Premises, PremisesType, RiskLevel

from .models import Hazard, Plan, PlanDay, PlanTarget, Reinspection, Station, Team, TeamMember, Visit

#: Risk levels from low to high: ``min_risk_level`` keeps this level and the ones after it.
RISK_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]
OPEN_HAZARD_STATUSES = (Hazard.Status.OPEN, Hazard.Status.ESCALATED)
MAX_TARGETS_LIMIT = 200
MAX_REVISIT_DAYS = 3650
#: Rank of each reason (lower first); premises with none of them are not targets.
REASON_ORDER = {PlanTarget.Reason.REINSPECTION: 1, PlanTarget.Reason.OPEN_HAZARDS: 2,
                PlanTarget.Reason.NEVER: 3, PlanTarget.Reason.DUE: 4}
PLAN_FIELDS = ["team", "name", "weekday", "checklist", "min_risk_level", "revisit_days", "include_open_hazards",
               "max_targets", "is_active"]


# --------------------------------------------------------------------------------------------
# Who may
# --------------------------------------------------------------------------------------------


def can_manage_station(user, station: Station) -> bool:
    """Whoever's jurisdiction covers the station's community (the system always)."""
    return user is None or jurisdiction(user).covers_path(station.area.path)


def is_member(user, team: Team) -> bool:
    return (user is not None and getattr(user, "is_authenticated", False)
            and TeamMember.objects.filter(team=team, user_id=user.pk).exists())


def in_active_team(user) -> bool:
    """Is the user a member of an active team (the menu shows them 联合检查)?"""
    return (getattr(user, "is_authenticated", False)
            and TeamMember.objects.filter(user_id=user.pk, team__is_active=True).exists())


def may_use_pages(user) -> bool:
    """The plan pages are for those who work in an area and for team members."""
    return not jurisdiction(user).empty or in_active_team(user)


def _check_manage(actor, station: Station) -> None:
    if not can_manage_station(actor, station):
        raise PermissionDenied(_("该工作站不在您的管辖范围内"))


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


def _clean(values: dict, errors: dict) -> dict:
    """Check the rule fields present in ``values``; messages go into ``errors``."""
    cleaned = dict(values)
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name:
            errors["name"] = [_("名称不能为空")]
        elif len(name) > 100:
            errors["name"] = [_("名称不能超过 100 个字符")]
        cleaned["name"] = name
    if "weekday" in values:
        try:
            weekday = int(values["weekday"])
        except (TypeError, ValueError):
            weekday = 0
        if weekday not in Plan.Weekday.values:
            errors["weekday"] = [_("检查日应为星期一到星期日")]
        cleaned["weekday"] = weekday
    if "checklist" in values and not isinstance(values["checklist"], Checklist):
        errors["checklist"] = [_("请选择检查表")]
    if "min_risk_level" in values:
        level = values["min_risk_level"] or ""
        if level and level not in RiskLevel.values:
            errors["min_risk_level"] = [_("风险等级不正确")]
        cleaned["min_risk_level"] = level
    for field, low, high, message in (
            ("revisit_days", 1, MAX_REVISIT_DAYS, _("距上次检查天数应在 1 到 %(max)s 之间") % {"max": MAX_REVISIT_DAYS}),
            ("max_targets", 1, MAX_TARGETS_LIMIT, _("每次最多场所数应在 1 到 %(max)s 之间") % {"max": MAX_TARGETS_LIMIT})):
        if field in values:
            value = values[field]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[field] = [message]
    if "premises_types" in values:
        types = list(values["premises_types"] or ())
        if any(not isinstance(t, PremisesType) for t in types):
            errors["premises_types"] = [_("场所类型不正确")]
        cleaned["premises_types"] = types
    for field in ("include_open_hazards", "is_active"):
        if field in values:
            cleaned[field] = bool(values[field])
    return cleaned


def _snapshot(plan: Plan) -> dict:
    data = audit.snapshot(plan, PLAN_FIELDS)
    data["premises_types"] = sorted(plan.premises_types.values_list("code", flat=True))
    return data


def create_plan(*, actor, team: Team, name: str, checklist: Checklist, weekday: int = Plan.Weekday.WEDNESDAY,
                premises_types=(), min_risk_level: str = "", revisit_days: int = 90,
                include_open_hazards: bool = True, max_targets: int = 20) -> Plan:
    """A recurring inspection day of ``team`` with its target rules (see the module's docstring)."""
    _check_manage(actor, team.station)
    errors: dict = {}
    if not team.is_active:
        errors["team"] = [_("该检查小组已停用")]
    data = _clean({"name": name, "weekday": weekday, "checklist": checklist, "premises_types": premises_types,
                   "min_risk_level": min_risk_level, "revisit_days": revisit_days,
                   "include_open_hazards": include_open_hazards, "max_targets": max_targets}, errors)
    if errors:
        raise ValidationError(errors)
    types = data.pop("premises_types")
    with transaction.atomic():
        plan = Plan.objects.create(team=team, **data)
        plan.premises_types.set(types)
        audit.record(actor, "inspection.plan.create", plan, after=_snapshot(plan))
    return plan


def update_plan(plan: Plan, *, actor, **changes) -> Plan:
    """Change a plan's rules (name, weekday, checklist, premises_types, min_risk_level, revisit_days,
    include_open_hazards, max_targets, is_active). Days already built keep their targets until rebuilt."""
    _check_manage(actor, plan.team.station)
    allowed = {"name", "weekday", "checklist", "premises_types", "min_risk_level", "revisit_days",
               "include_open_hazards", "max_targets", "is_active"}
    if unknown := set(changes) - allowed:
        raise ValidationError({None: [_("不能修改：%(fields)s") % {"fields": ", ".join(sorted(unknown))}]})
    errors: dict = {}
    data = _clean(changes, errors)
    if errors:
        raise ValidationError(errors)
    types = data.pop("premises_types", None)
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        before = _snapshot(plan)
        for field, value in data.items():
            setattr(plan, field, value)
        plan.save()
        if types is not None:
            plan.premises_types.set(types)
        audit.record(actor, "inspection.plan.update", plan, before=before, after=_snapshot(plan))
    return plan


def deactivate_plan(plan: Plan, *, actor) -> Plan:
    """Stop a plan: no more days are built (days already built stay, with their visits)."""
    _check_manage(actor, plan.team.station)
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.is_active:
            plan.is_active = False
            plan.save(update_fields=["is_active"])
            audit.record(actor, "inspection.plan.deactivate", plan, before={"is_active": True},
                         after={"is_active": False})
    return plan


# --------------------------------------------------------------------------------------------
# Building a day's targets
# --------------------------------------------------------------------------------------------


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s ISO week."""
    return day - datetime.timedelta(days=day.isoweekday() - 1)


def plan_date(plan: Plan, day_in_week: datetime.date) -> datetime.date:
    """The date of ``plan``'s inspection day in the ISO week holding ``day_in_week``."""
    return week_start(day_in_week) + datetime.timedelta(days=plan.weekday - 1)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _under_any(paths, field: str = "area_path") -> Q:
    q = Q()
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


class Week:
    """What ranking needs for a set of stations, read with a few queries for all their plans at once:
    the active premises of each community (id, type, risk, last visit), the premises with a
    re-inspection due (and when) or an open hazard, and the premises already planned on each date."""

    def __init__(self, station_paths, dates):
        from gongzhi.areas.models import Area

        paths = sorted(set(station_paths))
        by_path: dict[str, list] = {path: [] for path in paths}
        # The communities' areas (grids, buildings …) by id: premises and visits are then filtered by
        # an indexed id list rather than by one LIKE per community on every row.
        area_station = {pk: self._station_of(path, by_path)
                        for pk, path in Area.objects.filter(_under_any(paths, "path")).values_list("pk", "path")}
        area_ids = [pk for pk, station in area_station.items() if station is not None]
        last = dict(Visit.objects.filter(premises__area_id__in=area_ids).order_by()
                    .values("premises_id").annotate(last=Max("started_at")).values_list("premises_id", "last"))
        risk = {level: i for i, level in enumerate(RISK_ORDER)}
        for pk, type_id, level, area_id in (Premises.objects.filter(area_id__in=area_ids, is_active=True)
                                            .values_list("pk", "type_id", "risk_level", "area_id")):
            by_path[area_station[area_id]].append((pk, type_id, risk.get(level, 0), last.get(pk)))
        self.premises = by_path
        self.due: dict[int, datetime.datetime] = dict(
            Reinspection.objects.filter(notice__visit__premises__area_id__in=area_ids,
                                        status=Reinspection.Status.DUE).order_by()
            .values("notice__visit__premises_id").annotate(first=Min("due_at"))
            .values_list("notice__visit__premises_id", "first"))
        self.hazards: set[int] = set(
            Hazard.objects.filter(premises__area_id__in=area_ids, status__in=OPEN_HAZARD_STATUSES)
            .values_list("premises_id", flat=True))
        self.taken: dict[datetime.date, set[int]] = {date: set() for date in dates}
        for date, pk in PlanTarget.objects.filter(day__date__in=list(dates)).values_list("day__date", "premises_id"):
            self.taken[date].add(pk)

    @staticmethod
    def _station_of(area_path: str, by_path: dict) -> str | None:
        i = area_path.find("/", 1)
        while i > 0:
            if area_path[:i + 1] in by_path:
                return area_path[:i + 1]
            i = area_path.find("/", i + 1)
        return None

    def rank(self, plan: Plan, date: datetime.date, limit: int, types: set[int]) -> list[tuple[int, str]]:
        """The plan's best ``limit`` targets on ``date`` as ``(premises id, reason)``, best first:
        reason, then higher risk, then the oldest last visit (never visited first), then the id."""
        end = _day_start(date + datetime.timedelta(days=1))
        cutoff = _day_start(date - datetime.timedelta(days=plan.revisit_days - 1))
        minimum = RISK_ORDER.index(plan.min_risk_level) if plan.min_risk_level in RiskLevel.values else 0
        taken = self.taken.setdefault(date, set())
        due, hazards = self.due, self.hazards if plan.include_open_hazards else set()
        keyed = []
        for pk, type_id, risk, last in self.premises.get(plan.team.station.area.path, ()):
            if risk < minimum or (types and type_id not in types) or pk in taken:
                continue
            first_due = due.get(pk)
            if first_due is not None and first_due < end:
                reason = 1
            elif pk in hazards:
                reason = 2
            elif last is None:
                reason = 3
            elif last < cutoff:
                reason = 4
            else:
                continue
            keyed.append((reason, -risk, last is not None, last or end, pk))
        return [(key[4], REASON_BY_RANK[key[0]]) for key in heapq.nsmallest(limit, keyed)]


REASON_BY_RANK = {rank: reason for reason, rank in REASON_ORDER.items()}


def rank(plan: Plan, date: datetime.date, limit: int | None = None) -> list[tuple[int, str]]:
    """The targets ``plan`` would get on ``date`` now (nothing is written): premises already on a
    plan day of that date — this plan's included — are left out."""
    week = Week([plan.team.station.area.path], [date])
    return week.rank(plan, date, plan.max_targets if limit is None else limit,
                     set(plan.premises_types.values_list("pk", flat=True)))


def _build(requested: list[tuple[Plan, datetime.date]], actor) -> list[PlanDay]:
    """Build the days of ``requested`` (plan, date) pairs in that order, in one transaction and with
    a fixed number of queries: lock the stations, re-read the rules, create or reuse the days, drop
    their unvisited targets, read a ``Week``, rank each plan in order (each takes what the previous
    ones left), insert every target at once."""
    if not requested:
        return []
    with transaction.atomic():
        # One builder per station at a time: a community's premises go only to its station's plans,
        # so this is what keeps two teams from taking the same premises on one date.
        station_ids = sorted({plan.team.station_id for plan, _date in requested})
        list(Station.objects.select_for_update().filter(pk__in=station_ids).order_by("pk").values_list("pk"))
        fresh = {p.pk: p for p in Plan.objects.filter(pk__in=[plan.pk for plan, _d in requested])
                 .select_related("team__station__area").prefetch_related("premises_types")}
        pairs = []
        for plan, date in requested:
            plan = fresh[plan.pk]  # the rules as they are now
            if not plan.is_active:
                raise ValidationError({"plan": [_("该检查计划已停用")]})
            if not plan.team.is_active:
                raise ValidationError({"plan": [_("该检查小组已停用")]})
            if date.isoweekday() != plan.weekday:
                raise ValidationError({"date": [_("%(date)s 不是该计划的检查日（%(weekday)s）") % {
                    "date": date.isoformat(), "weekday": plan.get_weekday_display()}]})
            pairs.append((plan, date))
        dates = sorted({date for _plan, date in pairs})
        now = timezone.now()
        existing = {(d.plan_id, d.date): d for d in PlanDay.objects.filter(
            plan_id__in=list(fresh), date__in=dates)}
        # (plan, date) pairs not asked for are never touched
        wanted = {(plan.pk, date) for plan, date in pairs}
        existing = {key: day for key, day in existing.items() if key in wanted}
        replaced = 0
        if existing:
            ids = [day.pk for day in existing.values()]
            replaced, _by_model = PlanTarget.objects.filter(day_id__in=ids, visit__isnull=True).delete()
            PlanDay.objects.filter(pk__in=ids).update(built_at=now)
        missing = [PlanDay(plan=plan, date=date, built_at=now) for plan, date in pairs
                   if (plan.pk, date) not in existing]
        PlanDay.objects.bulk_create(missing)
        days = {**existing, **{(d.plan_id, d.date): d for d in PlanDay.objects.filter(
            plan_id__in=[d.plan_id for d in missing], date__in=dates)}} if missing else existing
        kept = dict(PlanTarget.objects.filter(day_id__in=[d.pk for d in days.values()]).order_by()
                    .values("day_id").annotate(n=Count("id")).values_list("day_id", "n"))
        week = Week([plan.team.station.area.path for plan, _d in pairs], dates)
        targets, built, summary = [], [], []
        for plan, date in pairs:
            day = days[(plan.pk, date)]
            day.plan, day.built_at = plan, now
            room = plan.max_targets - kept.get(day.pk, 0)
            rows = week.rank(plan, date, room, {t.pk for t in plan.premises_types.all()}) if room > 0 else []
            week.taken[date].update(pk for pk, _reason in rows)
            targets += [PlanTarget(day=day, premises_id=pk, rank=i, reason=reason)
                        for i, (pk, reason) in enumerate(rows, start=1)]
            built.append(day)
            summary.append([plan.pk, date.isoformat(), len(rows), kept.get(day.pk, 0)])
        PlanTarget.objects.bulk_create(targets, batch_size=5000)
        if len(built) == 1:
            plan_pk, date_iso, count, kept_count = summary[0]
            audit.record(actor, "inspection.plan.build", built[0],
                         after={"plan": plan_pk, "date": date_iso, "targets": count, "kept": kept_count,
                                "replaced": replaced})
        else:
            audit.record(actor, "inspection.plan.build_week", None, object_type=PlanDay._meta.label_lower,
                         after={"dates": [d.isoformat() for d in dates], "days": len(built),
                                "targets": len(targets), "replaced": replaced,
                                "plans": summary[:1000]})  # [plan, date, targets, kept]
    return built


def build_day(plan: Plan, date: datetime.date, *, actor=None) -> PlanDay:
    """Build (or rebuild) ``plan``'s day on ``date``: see the module's docstring. Targets already
    visited are kept; the others are chosen again. Returns the ``PlanDay``."""
    _check_manage(actor, plan.team.station)
    return _build([(plan, date)], actor)[0]


def build_week(day_in_week: datetime.date, plans=None, *, actor=None) -> list[PlanDay]:
    """Build every active plan's day in the ISO week holding ``day_in_week`` (or only ``plans``), all
    in one go: a fixed number of queries whatever the number of plans and premises."""
    if plans is None:
        plans = Plan.objects.filter(is_active=True, team__is_active=True)
    plans = list(plans.select_related("team__station__area") if hasattr(plans, "select_related") else plans)
    for plan in plans:
        _check_manage(actor, plan.team.station)
    monday = week_start(day_in_week)
    return _build([(plan, plan_date(plan, monday)) for plan in plans], actor)


def ensure_day(plan: Plan, date: datetime.date) -> PlanDay | None:
    """The day if built; built now (by the system) if not and it lies in this week or later — a team
    that could not go on Wednesday still finds Wednesday's list on Thursday."""
    day = PlanDay.objects.filter(plan=plan, date=date).first()
    if day is None and plan.is_active and plan.team.is_active and date >= week_start(timezone.localdate()):
        day = build_day(plan, date, actor=None)
    return day


def mark_visited(visit: Visit) -> PlanTarget | None:
    """Fill the visit into the visiting team's target for that premises on the visit's day, or on an
    earlier plan day of the same week (a visit made late), if not visited yet. Returns the target or None."""
    date = timezone.localdate(visit.started_at)
    target = (PlanTarget.objects.filter(day__plan__team_id=visit.team_id, day__date__range=(week_start(date), date),
                                        premises_id=visit.premises_id, visit__isnull=True)
              .order_by("-day__date", "pk").first())
    if target is None:
        return None
    if PlanTarget.objects.filter(pk=target.pk, visit__isnull=True).update(visit=visit) != 1:
        return None  # someone else filled it first
    target.visit = visit
    audit.record(None, "inspection.plan.visited", target, after={"visit": visit.pk, "day": target.day_id})
    return target


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def managed_stations(user):
    """Stations whose community lies inside the user's jurisdiction."""
    scope = jurisdiction(user)
    if scope.everything:
        return Station.objects.select_related("area")
    if not scope.paths:
        return Station.objects.none()
    q = Q()
    for path in scope.paths:
        q |= Q(area__path__startswith=path)
    return Station.objects.filter(q).select_related("area")


def visible_plans(user):
    """Plans of the stations the user manages and of the teams they belong to."""
    q = Q(team__station__in=managed_stations(user).values("pk"))
    if getattr(user, "is_authenticated", False):
        q |= Q(team__members__user_id=user.pk)
    return Plan.objects.filter(q).distinct().select_related("team__station__area", "checklist")


def get_plan(user, pk) -> Plan:
    """One plan the user may see; "not yours" and "does not exist" are the same 404."""
    if not isinstance(pk, int) or not 0 < pk <= MAX_ID:
        raise Http404
    plan = visible_plans(user).filter(pk=pk).first()
    if plan is None:
        raise Http404
    return plan


def plannable_teams(user):
    """Teams (active or not) a plan may be asked for: of the stations the user manages, and the
    user's own teams. Any other team is not theirs (the API's 404); ``create_plan`` still decides
    who may (a member who manages nothing gets its ``PermissionDenied``)."""
    q = Q(station__in=managed_stations(user).values("pk"))
    if getattr(user, "is_authenticated", False):
        q |= Q(members__user_id=user.pk)
    return Team.objects.filter(q).distinct().select_related("station__area")


def manageable_teams(user):
    return (Team.objects.filter(is_active=True, station__in=managed_stations(user).values("pk"))
            .select_related("station"))


def member_teams(user):
    if not getattr(user, "is_authenticated", False):
        return Team.objects.none()
    return Team.objects.filter(is_active=True, members__user_id=user.pk).select_related("station__area")


def day_targets(day: PlanDay):
    return (day.targets.select_related("premises__type", "visit").order_by("rank", "pk"))
