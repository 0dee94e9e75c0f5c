"""Template context for the navigation: the user's unread inbox count."""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError


def inbox(request) -> dict[str, Callable[[], int]]:
    """``inbox_unread``: how many unread messages the user has (0 for visitors).

    The count is computed lazily, at most once per request, and only when a template uses it.
    """
    cache: list[int] = []

    def unread() -> int:
        if not cache:
            cache.append(_count(getattr(request, "user", None)))
        return cache[0]

    return {"inbox_unread": unread}


def _count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    from .services import unread_count

    try:
        return unread_count(user)
    except DatabaseError:
        return 0
