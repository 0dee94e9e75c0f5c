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

import functools
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


def _grants(user_id: int) -> tuple[list[tuple], frozenset[int], list[str]]:
    """What a user holds, in one statement (asked on nearly every request, so its SQL is written
    once per process rather than built by the ORM each time):

    - their active memberships as ``(area path, role code, sees_subtree, is_command_center)``;
    - the departments they work for (``orgs.Staff``, active or not);
    - the paths of the areas those of them that are active serve.
    """
    from django.db import connections, router

    from gongzhi.orgs.models import Membership

    alias = router.db_for_read(Membership)
    with connections[alias].cursor() as cursor:
        cursor.execute(_grants_sql(alias), [user_id, user_id, user_id])
        rows = cursor.fetchall()
    memberships = [(path, code, bool(sees), bool(cmd)) for kind, path, code, sees, cmd, _d in rows if kind == "m"]
    department_ids = frozenset(dept for kind, _p, _c, _s, _m, dept in rows if kind == "s")
    served = [path for kind, path, *_rest in rows if kind == "d"]
    return memberships, department_ids, served


@functools.cache
def _grants_sql(alias: str) -> str:
    from django.db import connections

    from gongzhi.areas.models import Area
    from gongzhi.orgs.models import Department, Membership, Role, Staff

    q = connections[alias].ops.quote_name

    def table(model) -> str:
        return q(model._meta.db_table)

    def col(model, name: str) -> str:
        return q(model._meta.get_field(name).column)

    area, role, member, staff, dept = table(Area), table(Role), table(Membership), table(Staff), table(Department)
    served = Department._meta.get_field("areas").remote_field.through
    served_field = Department._meta.get_field("areas")
    link = table(served)
    link_dept, link_area = q(served_field.m2m_column_name()), q(served_field.m2m_reverse_name())
    area_pk, role_pk, dept_pk = q(Area._meta.pk.column), q(Role._meta.pk.column), q(Department._meta.pk.column)
    return (
        f"SELECT 'm', {area}.{col(Area, 'path')}, {role}.{col(Role, 'code')}, {role}.{col(Role, 'sees_subtree')}, "
        f"{role}.{col(Role, 'is_command_center')}, NULL FROM {member} "
        f"INNER JOIN {area} ON {area}.{area_pk} = {member}.{col(Membership, 'area')} "
        f"INNER JOIN {role} ON {role}.{role_pk} = {member}.{col(Membership, 'role')} "
        f"WHERE {member}.{col(Membership, 'user')} = %s AND {member}.{col(Membership, 'ended_on')} IS NULL "
        f"UNION ALL "
        f"SELECT 's', NULL, NULL, NULL, NULL, {staff}.{col(Staff, 'department')} FROM {staff} "
        f"WHERE {staff}.{col(Staff, 'user')} = %s "
        f"UNION ALL "
        f"SELECT 'd', {area}.{col(Area, 'path')}, NULL, NULL, NULL, NULL FROM {staff} "
        f"INNER JOIN {dept} ON {dept}.{dept_pk} = {staff}.{col(Staff, 'department')} "
        f"INNER JOIN {link} ON {link}.{link_dept} = {dept}.{dept_pk} "
        f"INNER JOIN {area} ON {area}.{area_pk} = {link}.{link_area} "
        f"WHERE {staff}.{col(Staff, 'user')} = %s AND {dept}.{col(Department, 'is_active')}"
    )


def signed_in(user) -> bool:
    """A real, active account: not ``None`` (the system), not an anonymous visitor."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def acting_user(actor):
    """The actor as the account to store on a row (``None`` for the system or an anonymous request)."""
    return actor if getattr(actor, "is_authenticated", False) else None


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
        memberships, department_ids, served_paths = _grants(user.pk)
        member_paths = [path for path, _code, sees, _cmd in memberships if sees]
        role_paths: dict[str, set[str]] = {}
        for path, code, _sees, _cmd in memberships:
            role_paths.setdefault(code, set()).add(path)
        command_paths = _minimal({path for path, _code, _sees, cmd in memberships if cmd})
        paths = _minimal({p for p in [*member_paths, *served_paths] if p})
        ancestors = frozenset(int(s) for p in paths for s in p.strip("/").split("/")[:-1] if s)
        scope = Jurisdiction(False, paths, ancestors, department_ids, command_paths,
                             {code: _minimal(p) for code, p in role_paths.items()})
    user._gongzhi_jurisdiction = scope
    return scope


MAX_ID = 2**63 - 1  # the largest primary key a database column holds


def one_or_404(visible, **lookup):
    """One object of an already scoped queryset; an impossible key or anything outside is a plain 404."""
    pk = lookup.get("pk", lookup.get("id"))
    if pk is not None and not (isinstance(pk, int) and 0 < pk <= MAX_ID):
        try:
            if not 0 < int(pk) <= MAX_ID:
                raise Http404
        except (TypeError, ValueError):
            raise Http404 from None
    try:
        return visible.get(**lookup)
    except (visible.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_visible_or_404(queryset, user, **lookup):
    """Fetch one object through the read door; anything outside it is a plain 404."""
    return one_or_404(queryset.visible_to(user), **lookup)
