"""Jurisdiction: what part of the area tree a user may see.

This is the one place that decides it. Every ``visible_to(user)`` queryset method asks
``jurisdiction(user)``; views and the API fetch single objects with ``get_visible_or_404`` so that
"not yours" and "does not exist" give the same 404 (Zulip's access_* helpers).

A user's jurisdiction is the union of the subtrees of
- every area where they hold an active role (``orgs.Membership``), and
- every area served by a department they work for (``orgs.Staff``).
Superusers see everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404


@dataclass(frozen=True)
class Jurisdiction:
    everything: bool = False
    paths: tuple[str, ...] = ()
    ancestor_ids: frozenset[int] = field(default_factory=frozenset)
    department_ids: frozenset[int] = field(default_factory=frozenset)
    #: subtrees where the user holds a command-center role (受理/派遣/值班长): may file and dispatch there
    command_paths: tuple[str, ...] = ()
    #: role code → subtrees where the user holds that role
    role_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.paths

    def covers_path(self, path: str) -> bool:
        return self.everything or any(path.startswith(p) for p in self.paths)

    def commands_path(self, path: str | None) -> bool:
        """May the user act as command center for this area (``None``: a case not yet located)?"""
        if self.everything:
            return True
        if path is None or path == "":
            return self.sees_unlocated
        return any(path.startswith(p) for p in self.command_paths)

    def holds_role_over(self, codes, path: str) -> bool:
        """Does the user hold one of these roles in an area at or above ``path``?"""
        return self.everything or any(path.startswith(p) for c in codes for p in self.role_paths.get(c, ()))

    @property
    def sees_unlocated(self) -> bool:
        """Cases not yet placed in a grid are the city center's: a command role at the root."""
        return self.everything or any(p.count("/") == 2 for p in self.command_paths)


NOTHING = Jurisdiction()
EVERYTHING = Jurisdiction(everything=True)


def _minimal(paths: set[str]) -> tuple[str, ...]:
    """Drop paths already inside another path of the set, so queries carry no redundant ORs."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return tuple(sorted(kept))


def jurisdiction(user) -> Jurisdiction:
    """The user's jurisdiction, computed once per user object (i.e. once per request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached = getattr(user, "_gongzhi_jurisdiction", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = EVERYTHING
    else:
        from gongzhi.areas.models import Area
        from gongzhi.orgs.models import Membership, Staff

        department_ids = frozenset(Staff.objects.filter(user=user).values_list("department_id", flat=True))
        memberships = list(Membership.objects.active().filter(user=user).values_list(
            "area__path", "role__code", "role__sees_subtree", "role__is_command_center"))
        member_paths = [path for path, _code, sees, _cmd in memberships if sees]
        role_paths: dict[str, set[str]] = {}
        for path, code, _sees, _cmd in memberships:
            role_paths.setdefault(code, set()).add(path)
        command_paths = _minimal({path for path, _code, _sees, cmd in memberships if cmd})
        served_paths = Area.objects.filter(
            departments__in=department_ids, departments__is_active=True
        ).values_list("path", flat=True)
        paths = _minimal({p for p in [*member_paths, *served_paths] if p})
        ancestors = frozenset(int(s) for p in paths for s in p.strip("/").split("/")[:-1] if s)
        scope = Jurisdiction(False, paths, ancestors, department_ids, command_paths,
                             {code: _minimal(p) for code, p in role_paths.items()})
    user._gongzhi_jurisdiction = scope
    return scope


MAX_ID = 2**63 - 1  # the largest primary key a database column holds


def get_visible_or_404(queryset, user, **lookup):
    """Fetch one object through the read door; anything outside it is a plain 404."""
    pk = lookup.get("pk", lookup.get("id"))
    if pk is not None and not (isinstance(pk, int) and 0 < pk <= MAX_ID):
        try:
            if not 0 < int(pk) <= MAX_ID:
                raise Http404
        except (TypeError, ValueError):
            raise Http404 from None
    try:
        return queryset.visible_to(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
