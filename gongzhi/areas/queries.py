"""Scoped reads of the area tree: every function takes the user and stays inside their jurisdiction."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from gongzhi.core.scoping import get_visible_or_404, jurisdiction

from .models import Area


def visible_areas(user) -> QuerySet[Area]:
    return Area.objects.visible_to(user).select_related("level")


def get_area(user, pk) -> Area:
    return get_visible_or_404(Area.objects.select_related("level", "parent"), user, pk=pk)


def roots_for(user) -> QuerySet[Area]:
    """The top of what the user sees: the root for the city, their own areas for everyone else."""
    scope = jurisdiction(user)
    qs = visible_areas(user)
    if scope.everything:
        return qs.filter(parent__isnull=True)
    return qs.filter(path__in=scope.paths)


def children(user, area: Area) -> QuerySet[Area]:
    return visible_areas(user).filter(parent=area).annotate(child_count=Count("children"))


def search(user, text: str, *, under: Area | None = None, level: str | None = None) -> QuerySet[Area]:
    qs = visible_areas(user)
    text = (text or "").strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(code__startswith=text) | Q(name_en__icontains=text))
    if under is not None:
        qs = qs.under(under)
    if level:
        qs = qs.filter(level__slug=level)
    return qs


def breadcrumbs(user, area: Area) -> list[Area]:
    """The ancestors the user may see (those inside their jurisdiction), top first, then the area."""
    return [*visible_areas(user).filter(pk__in=area.ancestor_ids()).order_by("depth"), area]
