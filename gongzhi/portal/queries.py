"""The portal's read door and who may publish (docs/portal.md#who).

- **Residents** of an area: users with a verified ``Residency`` at or below it. They see the area's
  notices, schedules and 公开栏 — and those of every area above their home (a building's resident
  sees the estate's and the community's board).
- **Staff** whose jurisdiction covers the area see everything of it; those whose jurisdiction
  covers it *and* who manage there (a command-center role, 领导, 社区书记, 网格长, 网格员 for notices;
  the owners' committee is represented by the 社区书记 and 网格长 for the 公开栏) publish.
- Anything marked public is seen by everyone, signed in or not.

Not yours is a 404, exactly like what does not exist (``one_or_404``)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from gongzhi.areas.models import Area
from gongzhi.core.scoping import jurisdiction, one_or_404

from .models import Disclosure, Notice, Residency, ServiceSchedule

PUBLISHER_ROLES = ("leader", "party_secretary", "grid_head", "grid_worker")
DISCLOSURE_ROLES = ("leader", "party_secretary", "grid_head")
VERIFIER_ROLES = ("party_secretary", "grid_head", "grid_worker", "building_head")


def _authenticated(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def homes(user) -> QuerySet:
    """The areas the user verifiably lives in."""
    if not _authenticated(user):
        return Area.objects.none()
    return Area.objects.filter(residencies__user=user, residencies__status=Residency.Status.VERIFIED)


def home_paths(user) -> list[str]:
    cached = getattr(user, "_portal_home_paths", None)
    if cached is None:
        cached = list(homes(user).values_list("path", flat=True)) if _authenticated(user) else []
        if _authenticated(user):
            user._portal_home_paths = cached
    return cached


def _ancestor_ids(paths: list[str]) -> set[int]:
    """Every area at or above the given paths (their ids are in the paths: ``/1/5/9/``)."""
    return {int(part) for path in paths for part in path.strip("/").split("/") if part}


def area_filter(user, lookup: str = "area") -> Q:
    """Rows of an area the user may read: public ones, their homes' and everything above them, and
    everything inside their jurisdiction."""
    q = Q(is_public=True)
    if not _authenticated(user):
        return q
    scope = jurisdiction(user)
    if scope.everything:
        return Q()
    ids = _ancestor_ids(home_paths(user))
    if ids:
        q |= Q(**{f"{lookup}__in": ids})
    for path in scope.paths:
        q |= Q(**{f"{lookup}__path__startswith": path})
    if scope.ancestor_ids:
        q |= Q(**{f"{lookup}__in": scope.ancestor_ids})
    return q


def visible_notices(user, *, today=None) -> QuerySet:
    """Notices the user may read (withdrawn ones only for staff: ``include_withdrawn`` callers filter)."""
    return Notice.objects.filter(area_filter(user)).filter(withdrawn_at__isnull=True).select_related("area")


def visible_schedules(user) -> QuerySet:
    return ServiceSchedule.objects.filter(area_filter(user)).select_related("area")


def visible_disclosures(user) -> QuerySet:
    return Disclosure.objects.filter(area_filter(user)).select_related("area")


def can_publish(user, area, roles=PUBLISHER_ROLES) -> bool:
    """``user=None`` is the system (commands, the demo)."""
    if user is None:
        return True
    if not _authenticated(user):
        return False
    scope = jurisdiction(user)
    return scope.everything or scope.commands_path(area.path) or scope.holds_role_over(roles, area.path)


def can_disclose(user, area) -> bool:
    return can_publish(user, area, DISCLOSURE_ROLES)


def can_verify(user, area) -> bool:
    return can_publish(user, area, VERIFIER_ROLES)


def get_or_404(queryset, pk):
    return one_or_404(queryset, pk=pk)
