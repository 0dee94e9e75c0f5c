"""Who sees and who reveals what, per registry (docs/registries.md#who). The one place that decides it.

Three levels, each needing the one before:

1. **See** an entry (masked: names, categories, dates, masked identity numbers and phones) — the
   registry's *audience* over the entry's area: area roles at or above it (``holds_role_over``) and
   staff of departments of the registry's kinds that serve it; plus people tied to the one record
   (a correction's team members, a household's helper, the mediator, the visitor; ``queries.py``).
2. **Reveal** the full record — level 1 and the ``registries.reveal_sensitive`` permission (given
   to a group by an administrator), and a stated purpose each time (``access.py`` writes the log).
3. **Export** sensitive data — ``registries.export_sensitive`` to ask, a *different* person with
   ``registries.approve_export`` to approve (``exports.py``).

Command-center roles (受理/派遣) are not an audience of any registry: filing a case does not need
anybody's criminal record. Superusers are level 1 everywhere; revealing still asks for a purpose.
"""

from __future__ import annotations

from gongzhi.core.scoping import jurisdiction, signed_in

from .models import Registry

#: registry → (area roles, department kinds) that see its entries inside their areas
AUDIENCE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    Registry.RESIDENTS: (frozenset({"grid_worker", "grid_head", "area_head", "party_secretary", "leader"}),
                         frozenset({"police", "street_office"})),
    Registry.KEY_PERSONS: (frozenset({"grid_worker", "grid_head", "party_secretary", "leader"}),
                           frozenset({"police", "judicial"})),
    Registry.CORRECTIONS: (frozenset({"party_secretary", "leader"}), frozenset({"judicial", "police"})),
    Registry.ASSISTANCE: (frozenset({"grid_worker", "grid_head", "building_head", "party_secretary", "leader"}),
                          frozenset({"street_office"})),
    Registry.LEGAL: (frozenset({"party_secretary", "leader"}), frozenset({"judicial"})),
    Registry.VISITS: (frozenset({"grid_worker", "grid_head", "party_secretary", "leader"}), frozenset()),
}

#: who may write (register, update, close) in a registry: the same audience unless listed here
WRITERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    Registry.CORRECTIONS: (frozenset(), frozenset({"judicial"})),
    Registry.LEGAL: (frozenset({"party_secretary"}), frozenset({"judicial"})),
}

REVEAL_PERMISSION = "registries.reveal_sensitive"
EXPORT_PERMISSION = "registries.export_sensitive"
APPROVE_PERMISSION = "registries.approve_export"


def _department_paths(user, kinds: frozenset[str]) -> tuple[str, ...]:
    """Paths served by the active departments of these kinds the user works for (cached per request)."""
    if not kinds:
        return ()
    scope = jurisdiction(user)
    if not scope.department_ids:
        return ()
    cache = user.__dict__.setdefault("_registry_dept_paths", {})
    if kinds not in cache:
        from gongzhi.orgs.models import Department

        cache[kinds] = tuple(sorted(set(
            Department.objects.filter(pk__in=scope.department_ids, kind__in=kinds, is_active=True)
            .values_list("areas__path", flat=True)) - {None}))
    return cache[kinds]


def paths(user, registry: str, *, write: bool = False) -> tuple[str, ...] | None:
    """The subtrees where ``user`` sees (or, with ``write``, may write) entries of ``registry``:
    ``None`` means everywhere (superuser), ``()`` nowhere."""
    if not signed_in(user):
        return ()
    scope = jurisdiction(user)
    if scope.everything:
        return None
    roles, kinds = (WRITERS.get(registry) if write and registry in WRITERS else AUDIENCE[registry])
    found = {p for code in roles for p in scope.role_paths.get(code, ())}
    found.update(_department_paths(user, kinds))
    return tuple(sorted(found))


def covers(area_paths: tuple[str, ...] | None, path: str) -> bool:
    return area_paths is None or any(path.startswith(p) for p in area_paths)


def can_see(user, registry: str, area) -> bool:
    """Level 1 over an area (not counting people tied to one record: see ``queries.visible``)."""
    return covers(paths(user, registry), area.path)


def can_write(user, registry: str, area) -> bool:
    """``user=None`` is the system (commands, the worker, the demo)."""
    return user is None or covers(paths(user, registry, write=True), area.path)


def may_reveal(user) -> bool:
    return signed_in(user) and user.has_perm(REVEAL_PERMISSION)


def may_request_export(user) -> bool:
    return signed_in(user) and user.has_perm(EXPORT_PERMISSION)


def may_approve_export(user) -> bool:
    return signed_in(user) and user.has_perm(APPROVE_PERMISSION)


def any_registry(user) -> bool:
    """Does the user see any registry at all (menu entry, index page)?"""
    return any(paths(user, registry) != () for registry in Registry.values)
