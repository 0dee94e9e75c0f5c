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

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.core.scoping import jurisdiction, one_or_404, signed_in
from gongzhi.core.templatetags.gongzhi import lname

from .models import Disclosure, Notice, Residency, ServiceSchedule

PUBLISHER_ROLES = ("leader", "party_secretary", "grid_head", "grid_worker")
DISCLOSURE_ROLES = ("leader", "party_secretary", "grid_head")
VERIFIER_ROLES = ("party_secretary", "grid_head", "grid_worker", "building_head")


def homes(user) -> QuerySet:
    """The areas the user verifiably lives in."""
    if not signed_in(user):
        return Area.objects.none()
    return Area.objects.filter(residencies__user=user, residencies__status=Residency.Status.VERIFIED)


def home_paths(user) -> list[str]:
    cached = getattr(user, "_portal_home_paths", None)
    if cached is None:
        cached = list(homes(user).values_list("path", flat=True)) if signed_in(user) else []
        if signed_in(user):
            user._portal_home_paths = cached
    return cached


def _ancestor_ids(paths: list[str]) -> set[int]:
    """Every area at or above the given paths (their ids are in the paths: ``/1/5/9/``)."""
    return {int(part) for path in paths for part in path.strip("/").split("/") if part}


def area_filter(user, lookup: str = "area") -> Q:
    """Rows of an area the user may read: public ones, their homes' and everything above them, and
    everything inside their jurisdiction."""
    q = Q(is_public=True)
    if not signed_in(user):
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
    """Notices the user may read, never withdrawn ones (those are for their publishers only:
    ``notices.withdrawn_for`` / ``notices.readable``)."""
    return Notice.objects.filter(area_filter(user)).filter(withdrawn_at__isnull=True).select_related("area")


def visible_schedules(user) -> QuerySet:
    return ServiceSchedule.objects.filter(area_filter(user)).select_related("area")


def visible_disclosures(user) -> QuerySet:
    return Disclosure.objects.filter(area_filter(user)).select_related("area")


def can_publish(user, area, roles=PUBLISHER_ROLES) -> bool:
    """``user=None`` is the system (commands, the demo)."""
    if user is None:
        return True
    if not signed_in(user):
        return False
    scope = jurisdiction(user)
    return scope.everything or scope.commands_path(area.path) or scope.holds_role_over(roles, area.path)


def can_disclose(user, area) -> bool:
    return can_publish(user, area, DISCLOSURE_ROLES)


def can_verify(user, area) -> bool:
    return can_publish(user, area, VERIFIER_ROLES)


def get_or_404(queryset, pk):
    return one_or_404(queryset, pk=pk)


# ------------------------------------------------------------------------------ who published it
#
# Residents and the public see the publishing *body* of a notice or a 公开栏 version — the area and
# the role the publisher acted in (“东一社区 · 社区书记”) — never a staff member's personal name;
# those who may publish in the area see the person as well (docs/portal.md#publisher).


def publishing_body(user, area, when: datetime.datetime | None = None, roles=PUBLISHER_ROLES) -> str:
    """What a resident sees as the publisher: the area where ``user`` held a publishing role (or a
    command-center role) over ``area`` on the day of ``when`` — the nearest one — with the role's
    name; failing that, any such role they held; failing that (the system, an administrator) the
    name of ``area`` itself."""
    from gongzhi.orgs.models import Membership

    if user is None or area is None:
        return area.name if area is not None else ""
    day = timezone.localdate(when) if when is not None else timezone.localdate()
    held = (Membership.objects.filter(user=user, area_id__in=[*area.ancestor_ids(), area.pk])
            .filter(Q(role__code__in=roles) | Q(role__is_command_center=True))
            .select_related("area", "role").order_by("-area__depth", "-started_on", "-pk"))
    found = (held.filter(started_on__lte=day).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=day)).first()
             or held.first())
    if found is None:
        return area.name
    return f"{found.area.name} · {lname(found.role)}"


def label_publishers(viewer, rows, *, area=None, roles=PUBLISHER_ROLES, attr="published_by") -> list:
    """Set ``row.publisher_body`` (for everyone) and ``row.publisher_person`` (the person's name, only
    when ``viewer`` may publish in the row's area; else ``None``) on notices or 公开栏 versions.
    ``area``: the area of every row (a disclosure's versions), else each row's own ``area``."""
    rows = list(rows)
    bodies: dict = {}
    may: dict = {}
    for row in rows:
        where = area if area is not None else row.area
        user = getattr(row, attr)
        when = getattr(row, "published_at", None)
        day = timezone.localdate(when) if when is not None else None
        key = (getattr(user, "pk", None), where.pk, day)
        if key not in bodies:
            bodies[key] = publishing_body(user, where, when, roles)
        if where.pk not in may:
            may[where.pk] = signed_in(viewer) and can_publish(viewer, where, roles)
        row.publisher_body = bodies[key]
        row.publisher_person = str(user) if (user is not None and may[where.pk]) else None
    return rows
