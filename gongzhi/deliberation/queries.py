"""Scoped reads of co-decision (the read door, ARCHITECTURE pattern 2) and who may do what.

- **Manage** (rolls, decisions, procedures, meetings, projects, publications; close and publish):
  a superuser, a command-center role, or a 领导 / 社区书记 / 网格长 at or above the area.
- **Enter ballots** (paper and door-to-door, double entry): managers and anyone whose jurisdiction
  covers the area or lies inside it (grid workers, building heads … who go door to door).
- **See** the staff side (rolls, every decision, procedures, meetings, projects): anyone whose
  jurisdiction covers the area; a decision also to staff working inside its area (they enter
  door-to-door ballots). A voter roll holds names and phone numbers: nobody else sees it.
- **Residents** see the decisions they are an elector of (and vote there), and the publications of
  those decisions; the publications of procedures and projects of an area are public.

Anything else is a 404, exactly like an object that does not exist.
"""

from __future__ import annotations

from django.db.models import Q

from gongzhi.core import scoping
from gongzhi.core.scoping import jurisdiction, signed_in

from .models import (
    Decision,
    Meeting,
    MeetingSeries,
    Procedure,
    Project,
    Publication,
    ShareStatement,
    Unit,
    VoterRoll,
)

MANAGER_ROLES = ("leader", "party_secretary", "grid_head")


def can_manage(user, area) -> bool:
    """``user=None`` is the system (commands, the worker, the demo): always allowed."""
    if user is None:
        return True
    scope = jurisdiction(user)
    return scope.everything or scope.commands_path(area.path) or scope.holds_role_over(MANAGER_ROLES, area.path)


def can_enter_ballots(user, area) -> bool:
    """Managers, and whoever works in, above or inside the area: a grid worker of one of the
    community's grids goes door to door for the community's vote."""
    if user is None or can_manage(user, area):
        return True
    scope = jurisdiction(user)
    return scope.covers_path(area.path) or any(p.startswith(area.path) for p in scope.paths)


def manager_paths(user) -> tuple[str, ...] | None:
    """The subtrees where ``can_manage`` holds: ``None`` for everything."""
    scope = jurisdiction(user)
    if scope.everything:
        return None
    return tuple(scope.command_paths) + tuple(p for code in MANAGER_ROLES for p in scope.role_paths.get(code, ()))


def manageable_areas(user):
    """The areas where the user may start things, top first."""
    from gongzhi.areas.models import Area

    paths = manager_paths(user)
    if paths == ():
        return Area.objects.none()
    return Area.objects.filter(_under(paths, "path")).select_related("level").order_by("depth", "path")


def _under(paths, field: str) -> Q:
    if paths is None:
        return Q()
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{field}__startswith": path})
    return query


def _staff_q(user, field: str = "area__path") -> Q | None:
    """What the user's jurisdiction covers: ``None`` for everything, an always-false Q for nothing."""
    scope = jurisdiction(user)
    if scope.everything:
        return None
    return _under(scope.paths, field)


def _staff_scoped(qs, user, field: str = "area__path"):
    if not signed_in(user):
        return qs.none()
    q = _staff_q(user, field)
    return qs if q is None else qs.filter(q)


# ------------------------------------------------------------------------------------ the doors


def visible_rolls(user):
    return _staff_scoped(VoterRoll.objects.select_related("area"), user)


def visible_decisions(user):
    """Staff: every decision of their areas. Residents: the decisions they are an elector of, once
    opened (a draft is nobody's business but its organisers')."""
    qs = Decision.objects.select_related("area", "roll")
    if not signed_in(user):
        return qs.none()
    q = _staff_q(user)
    if q is None:
        return qs
    # Staff working inside the decision's area (a grid worker of the community) see it: they
    # enter the door-to-door ballots (``can_enter_ballots``).
    inside = Q(area_id__in=jurisdiction(user).ancestor_ids)
    as_elector = Q(electors__user=user) & ~Q(status=Decision.Status.DRAFT)
    return qs.filter(q | inside | as_elector).distinct()


def visible_procedures(user):
    return _staff_scoped(Procedure.objects.select_related("area"), user)


def visible_series(user):
    return _staff_scoped(MeetingSeries.objects.select_related("area"), user)


def visible_meetings(user):
    return _staff_scoped(Meeting.objects.select_related("area", "series"), user)


def visible_projects(user):
    return _staff_scoped(Project.objects.select_related("area", "decision"), user)


def visible_publications(user):
    """Staff: those of their areas. Residents: those of the decisions they are an elector of, and
    every procedure's and project's publication (village and estate affairs are public)."""
    qs = Publication.objects.select_related("area", "decision", "procedure", "project")
    if not signed_in(user):
        return qs.none()
    q = _staff_q(user)
    if q is None:
        return qs
    inside = Q(area_id__in=jurisdiction(user).ancestor_ids)  # as for decisions
    public = Q(procedure__isnull=False) | Q(project__isnull=False) | Q(decision__electors__user=user)
    return qs.filter(q | inside | public).distinct()


def my_statements(user):
    """The cost statements of the units where ``user`` is a member of the roll (linked account): what
    their household owes for each project. Residents see these without seeing the staff side."""
    if not signed_in(user):
        return ShareStatement.objects.none()
    units = Unit.objects.filter(members__user=user).values("pk")
    return (ShareStatement.objects.filter(unit__in=units)
            .select_related("project__area", "unit").order_by("-project__created_at", "unit__code"))


def one_or_404(queryset, pk):
    """One object through a door above; anything outside it (or a malformed id) is a plain 404."""
    return scoping.one_or_404(queryset, pk=pk)


def elector_of(user, decision):
    """The user's elector row in a decision (the one they vote as), or ``None``."""
    if not signed_in(user):
        return None
    return decision.electors.filter(user=user).first()
