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
  another plan's day of the same date is skipped. One ranked query per plan, one bulk insert.
- ``build_week(day_in_week, plans=None)`` — every active plan's day in that ISO week.
- ``mark_visited(visit)`` — fills ``PlanTarget.visit`` of the visiting team's target for that
  premises on the visit's day (``services.record_visit`` calls it).

Reads: ``visible_plans(user)``, ``get_plan(user, pk)``, ``week_days(user, day)``.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min, Q
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


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Reasons:
    """The premises with a due re-inspection or an open hazard, by every prefix of their area path
    (so a station finds its community's in one dict look-up). Read with two queries for a whole
    week's build — the city has few of them next to its premises — instead of in every plan's query."""

    def __init__(self, path: str = "", until: datetime.datetime | None = None):
        self.reinspections: dict[str, list[tuple[int, datetime.datetime]]] = {}
        self.hazards: dict[str, list[int]] = {}
        due = Reinspection.objects.filter(status=Reinspection.Status.DUE)
        open_hazards = Hazard.objects.filter(status__in=OPEN_HAZARD_STATUSES)
        if path:
            due = due.filter(notice__visit__premises__area_path__startswith=path)
            open_hazards = open_hazards.filter(premises__area_path__startswith=path)
        if until is not None:
            due = due.filter(due_at__lt=until)
        for area_path, pk, first_due in (due.values_list("notice__visit__premises__area_path",
                                                         "notice__visit__premises_id")
                                         .annotate(first=Min("due_at")).order_by()):
            for prefix in self._prefixes(area_path):
                self.reinspections.setdefault(prefix, []).append((pk, first_due))
        for area_path, pk in open_hazards.values_list("premises__area_path", "premises_id").distinct().order_by():
            for prefix in self._prefixes(area_path):
                self.hazards.setdefault(prefix, []).append(pk)

    @staticmethod
    def _prefixes(path: str):
        i = path.find("/", 1)
        while i > 0:
            yield path[:i + 1]
            i = path.find("/", i + 1)

    def due_by(self, path: str, date: datetime.date) -> list[int]:
        """Premises under ``path`` with a re-inspection due before the end of ``date``."""
        end = _day_start(date + datetime.timedelta(days=1))
        return sorted({pk for pk, due in self.reinspections.get(path, ()) if due < end})

    def open_hazards(self, path: str) -> list[int]:
        return sorted(set(self.hazards.get(path, ())))


def ranked_sql(plan: Plan, date: datetime.date, *, limit: int, station_path: str | None = None,
               reasons: Reasons | None = None, connection=None) -> tuple[str, list]:
    """The SQL (and its parameters) that ranks ``plan``'s targets on ``date``: rows of
    ``(premises id, reason rank)``, best first, at most ``limit``.

    Set-based: the community's last visits are one GROUP BY LEFT JOINed to the candidates; the
    premises with a due re-inspection or an open hazard come from ``reasons`` (read once per build)
    as id lists; so every reason is a plain column test and nothing is evaluated per premises in a
    sub-plan (the ORM's correlated sub-queries were repeated in the WHERE, the CASE and the ORDER BY:
    ≈ 1 s per plan for 50,000 premises). Premises already in any plan's day of that date (another
    team's, or this day's visited targets) are left out."""
    from django.db import connection as default_connection

    connection = connection or default_connection
    q = connection.ops.quote_name
    ops = connection.ops

    def t(model) -> str:
        return q(model._meta.db_table)

    def c(model, name: str) -> str:
        return q(model._meta.get_field(name).column)

    P = Premises
    station_path = station_path or plan.team.station.area.path
    reasons = reasons or Reasons(station_path, _day_start(date + datetime.timedelta(days=1)))
    path = _like_prefix(station_path)
    cutoff = ops.adapt_datetimefield_value(_day_start(date - datetime.timedelta(days=plan.revisit_days - 1)))
    postgres = connection.vendor == "postgresql"

    due_ids = reasons.due_by(station_path, date)
    hazard_ids = reasons.open_hazards(station_path) if plan.include_open_hazards else []
    if postgres:
        # A hash join on the id arrays (an "= ANY(array)" in the CASE would be a linear search per row).
        joins = (f"LEFT JOIN unnest(%s::bigint[]) AS ri(pid) ON ri.pid = c.{c(P, 'id')} "
                 f"LEFT JOIN unnest(%s::bigint[]) AS hz(pid) ON hz.pid = c.{c(P, 'id')} ")
        join_params = [due_ids, hazard_ids]
        due_sql, hazard_sql, due_params, hazard_params = "ri.pid IS NOT NULL", "hz.pid IS NOT NULL", [], []
    else:
        joins, join_params = "", []

        def among(ids: list[int]) -> tuple[str, list]:
            return (f"c.{c(P, 'id')} IN ({', '.join(['%s'] * len(ids))})", list(ids)) if ids else ("0", [])

        (due_sql, due_params), (hazard_sql, hazard_params) = among(due_ids), among(hazard_ids)
    filters, filter_params = [], []
    type_ids = list(plan.premises_types.values_list("pk", flat=True))
    if type_ids:
        filters.append(f"c.{c(P, 'type')} IN ({', '.join(['%s'] * len(type_ids))})")
        filter_params += type_ids
    if plan.min_risk_level in RiskLevel.values:
        levels = [str(v) for v in RISK_ORDER[RISK_ORDER.index(plan.min_risk_level):]]
        filters.append(f"c.{c(P, 'risk_level')} IN ({', '.join(['%s'] * len(levels))})")
        filter_params += levels
    risk_case = " ".join(f"WHEN %s THEN {i}" for i, _level in enumerate(RISK_ORDER))
    R = REASON_ORDER
    prem, visit, target, day = t(P), t(Visit), t(PlanTarget), t(PlanDay)
    sql = (
        f"SELECT id, reason FROM ("
        f"SELECT c.{c(P, 'id')} AS id, "
        f"CASE WHEN {due_sql} THEN {R[PlanTarget.Reason.REINSPECTION]} "
        f"WHEN {hazard_sql} THEN {R[PlanTarget.Reason.OPEN_HAZARDS]} "
        f"WHEN lv.last IS NULL THEN {R[PlanTarget.Reason.NEVER]} "
        f"WHEN lv.last < %s THEN {R[PlanTarget.Reason.DUE]} ELSE 0 END AS reason, "
        f"CASE c.{c(P, 'risk_level')} {risk_case} ELSE 0 END AS risk, lv.last AS last "
        f"FROM {prem} c "
        f"LEFT JOIN (SELECT v.{c(Visit, 'premises')} AS pid, MAX(v.{c(Visit, 'started_at')}) AS last "
        f"FROM {visit} v INNER JOIN {prem} p ON p.{c(P, 'id')} = v.{c(Visit, 'premises')} "
        f"WHERE p.{c(P, 'area_path')} LIKE %s ESCAPE '\\' GROUP BY v.{c(Visit, 'premises')}) lv "
        f"ON lv.pid = c.{c(P, 'id')} {joins}"
        f"WHERE c.{c(P, 'is_active')} AND c.{c(P, 'area_path')} LIKE %s ESCAPE '\\' "
        + "".join(f"AND {f} " for f in filters) +
        f"AND NOT EXISTS (SELECT 1 FROM {target} pt INNER JOIN {day} d ON d.{c(PlanDay, 'id')} = pt.{c(PlanTarget, 'day')} "
        f"WHERE pt.{c(PlanTarget, 'premises')} = c.{c(P, 'id')} AND d.{c(PlanDay, 'date')} = %s)"
        f") x WHERE reason > 0 ORDER BY reason, risk DESC, (last IS NOT NULL), last, id LIMIT %s"
    )
    params = [*due_params, *hazard_params, cutoff, *[str(v) for v in RISK_ORDER], path, *join_params, path,
              *filter_params,
              ops.adapt_datefield_value(date), limit]
    return sql, params


def ranked_targets(plan: Plan, date: datetime.date, *, limit: int | None = None, station_path: str | None = None,
                   reasons: Reasons | None = None) -> list[tuple[int, str]]:
    """``(premises id, reason)`` of the plan's best targets on ``date`` (see ``ranked_sql``)."""
    from django.db import connection

    sql, params = ranked_sql(plan, date, limit=plan.max_targets if limit is None else limit,
                             station_path=station_path, reasons=reasons, connection=connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, REASON_BY_RANK[rank]) for pk, rank in cursor.fetchall()]


REASON_BY_RANK = {rank: reason for reason, rank in REASON_ORDER.items()}


def build_day(plan: Plan, date: datetime.date, *, actor=None, reasons: Reasons | None = None) -> PlanDay:
    """Build (or rebuild) ``plan``'s day on ``date``: see the module's docstring. Targets already
    visited are kept; the others are chosen again. Returns the ``PlanDay``. ``reasons``: given by
    ``build_week`` (read once for all plans); read for this station alone otherwise."""
    team = plan.team
    station = team.station
    _check_manage(actor, station)
    with transaction.atomic():
        # One builder per station at a time: a community's premises go only to its station's plans,
        # so this is what keeps two teams from taking the same premises on one date.
        Station.objects.select_for_update().filter(pk=station.pk).first()
        plan = Plan.objects.get(pk=plan.pk)  # the rules as they are now
        team.refresh_from_db(fields=["is_active"])
        plan.team = team
        if not plan.is_active:
            raise ValidationError({"plan": [_("该检查计划已停用")]})
        if not team.is_active:
            raise ValidationError({"plan": [_("该检查小组已停用")]})
        if date.isoweekday() != plan.weekday:
            raise ValidationError({"date": [_("%(date)s 不是该计划的检查日（%(weekday)s）") % {
                "date": date.isoformat(), "weekday": plan.get_weekday_display()}]})
        day, created = PlanDay.objects.get_or_create(plan=plan, date=date)
        day.plan = plan
        replaced, kept = 0, 0
        if not created:
            replaced, _by_model = PlanTarget.objects.filter(day=day, visit__isnull=True).delete()
            kept = PlanTarget.objects.filter(day=day).count()
            day.built_at = timezone.now()
            day.save(update_fields=["built_at"])
        room = plan.max_targets - kept
        # The kept (visited) targets are in this day, so the ranked query leaves them out already.
        rows = ranked_targets(plan, date, limit=room, station_path=station.area.path,
                              reasons=reasons) if room > 0 else []
        PlanTarget.objects.bulk_create([PlanTarget(day=day, premises_id=pk, rank=i, reason=reason)
                                        for i, (pk, reason) in enumerate(rows, start=1)])
        audit.record(actor, "inspection.plan.build", day,
                     after={"plan": plan.pk, "date": date.isoformat(), "targets": len(rows), "kept": kept,
                            "replaced": replaced})
    return day


def build_week(day_in_week: datetime.date, plans=None, *, actor=None) -> list[PlanDay]:
    """Build every active plan's day in the ISO week holding ``day_in_week`` (or only ``plans``).
    The premises with a due re-inspection or an open hazard are read once for all of them."""
    if plans is None:
        plans = Plan.objects.filter(is_active=True, team__is_active=True)
    plans = list(plans.select_related("team__station__area") if hasattr(plans, "select_related") else plans)
    monday = week_start(day_in_week)
    reasons = Reasons(until=_day_start(monday + datetime.timedelta(days=7)))
    return [build_day(plan, plan_date(plan, monday), actor=actor, reasons=reasons) for plan in plans]


def ensure_day(plan: Plan, date: datetime.date) -> PlanDay | None:
    """The day if built; built now (by the system) if not and it is not in the past."""
    day = PlanDay.objects.filter(plan=plan, date=date).first()
    if day is None and plan.is_active and plan.team.is_active and date >= timezone.localdate():
        day = build_day(plan, date, actor=None)
    return day


def mark_visited(visit: Visit) -> PlanTarget | None:
    """Fill the visit into the visiting team's target for that premises on the visit's day (if the
    premises was planned and not visited yet). Returns the target or None."""
    date = timezone.localdate(visit.started_at)
    target = (PlanTarget.objects.filter(day__plan__team_id=visit.team_id, day__date=date,
                                        premises_id=visit.premises_id, visit__isnull=True)
              .order_by("pk").first())
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


def manageable_teams(user):
    return (Team.objects.filter(is_active=True, station__in=managed_stations(user).values("pk"))
            .select_related("station"))


def member_teams(user):
    if not getattr(user, "is_authenticated", False):
        return Team.objects.none()
    return Team.objects.filter(is_active=True, members__user_id=user.pk).select_related("station__area")


def day_targets(day: PlanDay):
    return (day.targets.select_related("premises__type", "visit").order_by("rank", "pk"))
