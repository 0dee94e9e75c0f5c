"""Routing: which department a case goes to (rules table, then the category's default)."""

from __future__ import annotations

from gongzhi.core import refcache

from .models import Case, RoutingRule


def category_rules(category_id: int) -> list[tuple[int | None, tuple[int, int], object]]:
    """The category's rules to active departments as ``(area id, rank, department)`` (cached per process)."""
    def load():
        return [(r.area_id, (-(r.area.depth if r.area_id else -1), r.priority), r.department)
                for r in RoutingRule.objects.filter(category_id=category_id).select_related("department", "area")
                if r.department.is_active]
    return refcache.get(("routing", category_id), load)


def _ranked(case: Case) -> list[tuple[tuple[int, int], object]]:
    ancestors = set(case.area.ancestor_ids()) | {case.area_id} if case.area_id else set()
    ranked = [(rank, department) for area_id, rank, department in category_rules(case.category_id)
              if area_id is None or area_id in ancestors]
    ranked.sort(key=lambda item: item[0])
    return ranked


def departments_for(case: Case) -> list:
    """Candidate departments, best first: rules for the case's category whose area contains the case
    (deepest area first, then priority, then rules for every area), then the category's default."""
    if not case.category_id:
        return []
    found = []
    for _rank, department in _ranked(case):
        if department not in found:
            found.append(department)
    default = case.category.default_department
    if default is not None and default.is_active and default not in found:
        found.append(default)
    return found


def resolve(case: Case):
    """The one department the rules point to, or None when there is none or the best rank is shared
    by two departments (then a dispatcher decides)."""
    if not case.category_id:
        return None
    ranked = _ranked(case)
    if ranked:
        best = {d for rank, d in ranked if rank == ranked[0][0]}
        return ranked[0][1] if len(best) == 1 else None
    default = case.category.default_department
    return default if default is not None and default.is_active else None
