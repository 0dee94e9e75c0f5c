"""Scoped reads of people and departments."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from gongzhi.core.scoping import get_visible_or_404

from .models import Department, Membership


def visible_memberships(user) -> QuerySet[Membership]:
    return Membership.objects.active().visible_to(user).select_related("user", "area", "area__level", "role")


def search_people(user, text: str = "", *, role: str | None = None, area=None) -> QuerySet[Membership]:
    qs = visible_memberships(user)
    text = (text or "").strip()
    if text:
        qs = qs.filter(Q(user__display_name__icontains=text) | Q(user__username__icontains=text)
                       | Q(user__phone__startswith=text))
    if role:
        qs = qs.filter(role__code=role)
    if area is not None:
        qs = qs.filter(area__path__startswith=area.path)
    return qs.order_by("area__path", "role__sort", "user__display_name")


def visible_departments(user) -> QuerySet[Department]:
    return Department.objects.visible_to(user)


def get_department(user, pk) -> Department:
    return get_visible_or_404(Department.objects.all(), user, pk=pk)
