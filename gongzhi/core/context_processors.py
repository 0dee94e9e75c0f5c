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
    }


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
