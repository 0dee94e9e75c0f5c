"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError


def shell(request):
    """What every page's layout needs."""
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "calendar_warning": _calendar_warning_for(request),
        # Called by the template only where the menu is drawn: staff links for those who work in an area.
        "works_in_an_area": lambda: _works_in_an_area(request),
        # The 联合检查 link for team members without a jurisdiction (asked only if works_in_an_area is false).
        "in_inspection_team": lambda: _in_inspection_team(request),
    }


def _works_in_an_area(request) -> bool:
    """Whether the user holds a role in an area or works for a department (a jurisdiction): the menu
    shows them the areas, people, premises, evaluation … pages; residents see what is theirs."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return False
    from .scoping import jurisdiction

    try:
        return not jurisdiction(user).empty
    except DatabaseError:
        return False


def _in_inspection_team(request) -> bool:
    """Whether the user is a member of an active inspection team (inspections/plans.py)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return False
    from gongzhi.inspections.plans import in_active_team

    try:
        return in_active_team(user)
    except DatabaseError:
        return False


def _calendar_warning_for(request) -> str | None:
    """The missing-calendar message, for staff only; None for everyone else or if the DB is down."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_staff", False):
        return None
    from .calendar import calendar_warning

    try:
        return calendar_warning()
    except DatabaseError:
        return None
