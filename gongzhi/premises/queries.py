"""Scoped reads of the premises registry: everything here starts from ``Premises.objects.visible_to``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from gongzhi.areas import queries as area_queries
from gongzhi.core.models import AuditLog
from gongzhi.core.scoping import get_visible_or_404

from .models import Licence, Premises

#: "Expiring soon" means within this many days, unless the caller says otherwise.
EXPIRING_DAYS = 30


def visible_premises(user):
    return Premises.objects.visible_to(user)


def get_premises(user, pk) -> Premises:
    """One premises through the read door ("not yours" and "does not exist" are the same 404)."""
    return get_visible_or_404(Premises.objects.select_related("type", "area"), user, pk=pk)


@dataclass
class Filters:
    """The list's filters; every field optional."""

    q: str = ""
    type: str = ""          # PremisesType.code
    risk: str = ""          # RiskLevel value
    area: int | None = None  # an area id: its whole subtree
    expiring: int | None = None  # licence expiring within this many days
    unlocated: bool = False


def search(user, filters: Filters):
    qs = visible_premises(user).select_related("type", "area")
    if filters.q:
        text = filters.q.strip()[:100]
        qs = qs.filter(Q(name__icontains=text) | Q(address__icontains=text) | Q(operator_name__icontains=text)
                       | Q(code=text))
    if filters.type:
        qs = qs.filter(type__code=filters.type)
    if filters.risk:
        qs = qs.filter(risk_level=filters.risk)
    if filters.area:
        area = area_queries.get_area(user, filters.area)  # 404 when not visible
        qs = qs.filter(area_path__startswith=area.path)
    if filters.expiring is not None:
        qs = qs.with_licence_expiring(filters.expiring)
    if filters.unlocated:
        qs = qs.filter(area__isnull=True)
    return qs.order_by("name", "id")


def expiring_licences(user, days: int = EXPIRING_DAYS, today: datetime.date | None = None):
    """Licences of visible premises that expire within ``days`` days (expired ones first)."""
    today = today or timezone.localdate()
    return (Licence.objects.filter(premises__in=visible_premises(user).values("pk"), valid_until__isnull=False,
                                   valid_until__lte=today + datetime.timedelta(days=days))
            .select_related("premises", "premises__type").order_by("valid_until", "id"))


def history(premises: Premises):
    """The audit rows of one premises, newest first (every change went through ``services``)."""
    return AuditLog.objects.filter(object_type=Premises._meta.label_lower, object_id=str(premises.pk)).order_by(
        "-id")

