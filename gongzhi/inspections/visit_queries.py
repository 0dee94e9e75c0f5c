"""Reads for the visit pages, the notice PDFs, the API and the premises' history: a visit or a
notice (through the app's one read door, ``queries.visible_*``: whoever's jurisdiction covers the
premises, a member of a team of its station, staff of a department it issued a notice for), the
teams and premises a user may choose for a visit, a premises' inspections.

"Not yours" and "does not exist" are the same 404 (ARCHITECTURE pattern 2).
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from gongzhi.checklists.models import Checklist, ChecklistVersion
from gongzhi.core.scoping import MAX_ID, jurisdiction, signed_in
from gongzhi.premises.models import Premises

from . import queries
from .models import Hazard, Notice, Plan, PlanTarget, Team, Visit
from .services import can_record_visit


def _pk(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def covers_premises(user, premises) -> bool:
    return bool(premises.area_id) and jurisdiction(user).covers_path(premises.area_path)


def is_member(user, team_id: int) -> bool:
    return signed_in(user) and Team.objects.filter(pk=team_id, members__user_id=user.pk).exists()


def get_visit(user, pk) -> Visit:
    """A visit through the app's one read door (``queries.visible_visits``); else 404."""
    return queries.one_or_404(queries.visible_visits(user).select_related(
        "team__station__area", "premises__type", "premises__area", "checklist_version__checklist",
        "recorded_by"), pk)


def get_notice(user, pk) -> Notice:
    """A notice through the app's one read door (``queries.visible_notices``); else 404."""
    return queries.one_or_404(queries.visible_notices(user).select_related(
        "department", "visit__team__station", "visit__premises__type", "visit__premises__area"), pk)


# --------------------------------------------------------------------------------------------
# Choosing what to inspect
# --------------------------------------------------------------------------------------------


def usable_teams(user):
    """Active teams the user may record visits for: their own, and those of stations whose community
    lies inside their jurisdiction or contains a part of it (a grid worker's grid)."""
    teams = Team.objects.filter(is_active=True).select_related("station__area")
    if not signed_in(user):
        return teams.none()
    scope = jurisdiction(user)
    if scope.everything:
        return teams
    q = Q(members__user_id=user.pk)
    prefixes: set[str] = set()
    for path in scope.paths:
        q |= Q(station__area__path__startswith=path)
        parts = [p for p in path.split("/") if p]
        prefixes.update("/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    if prefixes:
        q |= Q(station__area__path__in=prefixes)
    return teams.filter(q).distinct()


def get_team(user, pk) -> Team:
    pk = _pk(pk)
    team = usable_teams(user).filter(pk=pk).first() if pk else None
    if team is None:
        raise Http404
    return team


def premises_for(user, team: Team):
    """Premises the user may inspect with this team: in the station's community; a member sees all
    of them, anyone else those inside their jurisdiction."""
    path = team.station.area.path
    found = Premises.objects.filter(area_path__startswith=path, is_active=True).select_related("type")
    if is_member(user, team.pk):
        return found
    return found.filter(pk__in=Premises.objects.visible_to(user).values("pk"))


def get_premises_for(user, team: Team, pk) -> Premises:
    pk = _pk(pk)
    premises = (Premises.objects.select_related("type", "area").filter(pk=pk).first() if pk else None)
    if premises is None or not can_record_visit(user, team, premises):
        raise Http404
    return premises


def active_versions():
    return (ChecklistVersion.objects.filter(status=ChecklistVersion.Status.ACTIVE)
            .select_related("checklist").order_by("checklist__name"))


def version_of(checklist: Checklist | None) -> ChecklistVersion | None:
    if checklist is None:
        return None
    return active_versions().filter(checklist=checklist).first()


def default_version(team: Team | None) -> ChecklistVersion | None:
    """The checklist of the team's active plan, else the only active checklist."""
    if team is not None:
        plan = Plan.objects.filter(team=team, is_active=True).select_related("checklist").order_by("pk").first()
        if plan is not None and (found := version_of(plan.checklist)) is not None:
            return found
    versions = list(active_versions()[:2])
    return versions[0] if len(versions) == 1 else None


def get_version(pk) -> ChecklistVersion:
    """A version a visit may be filled in with: active, or retired (a phone may submit a form opened
    before the switch)."""
    pk = _pk(pk)
    version = (ChecklistVersion.objects.select_related("checklist")
               .filter(pk=pk, status__in=[ChecklistVersion.Status.ACTIVE, ChecklistVersion.Status.RETIRED])
               .first() if pk else None)
    if version is None:
        raise Http404
    return version


def get_target(user, pk) -> PlanTarget:
    """A plan's target the user may visit (their team's, the premises theirs to record)."""
    pk = _pk(pk)
    target = (PlanTarget.objects.select_related("day__plan__team__station__area", "day__plan__checklist",
                                                "premises__type", "premises__area")
              .filter(pk=pk).first() if pk else None)
    if target is None:
        raise Http404
    team = target.day.plan.team
    if not team.is_active or not can_record_visit(user, team, target.premises):
        raise Http404
    return target


# --------------------------------------------------------------------------------------------
# A premises' inspection history
# --------------------------------------------------------------------------------------------


def premises_history(premises, limit: int = 100) -> dict:
    """Visits (with their hazard count), hazards (status, deadline, escalation) and notices."""
    from .models import EscalationStep

    visits = list(premises.inspection_visits.select_related("team").order_by("-started_at", "-pk")[:limit])
    counts: dict[int, int] = {}
    for visit_id in Hazard.objects.filter(visit__in=[v.pk for v in visits]).values_list("visit_id", flat=True):
        counts[visit_id] = counts.get(visit_id, 0) + 1
    for visit in visits:
        visit.hazard_count = counts.get(visit.pk, 0)
    steps = dict(EscalationStep.objects.values_list("level", "name"))
    hazards = list(Hazard.objects.filter(premises=premises).select_related("department")
                   .order_by("-created_at", "pk")[:limit])
    for hazard in hazards:
        hazard.step_name = steps.get(hazard.escalation_level, "")
    notices = list(Notice.objects.filter(visit__premises=premises).select_related("department")
                   .order_by("-issued_at", "-pk")[:limit])
    return {"visits": visits, "hazards": hazards, "notices": notices}
