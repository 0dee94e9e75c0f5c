"""Reads for the accuracy report: suggestions made, and whether they were taken, per model version,
target and category, over a period — scoped to the cases the user sees.

A suggestion's outcome is read from its case, so it is always current:

- category: *decided* once the case is filed with a category; *taken* when that category's code is
  the top-1 label, *top 3* when it is any of the three;
- department: *decided* while the case has a department (a returned case is undecided until it is
  dispatched again); *taken* / *top 3* the same way.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.scoping import jurisdiction

from .models import RouterModel, Suggestion, Target

PERIODS = (7, 30, 90, 365)


def may_view_report(user) -> bool:
    """Command-center users and admins (the report shows how dispatching goes)."""
    if not getattr(user, "is_authenticated", False):
        return False
    scope = jurisdiction(user)
    return scope.everything or bool(scope.command_paths)


def require_report(user) -> None:
    if not may_view_report(user):
        raise PermissionDenied(_("只有指挥中心人员和管理员可以查看智能分派准确率"))


def _final(target: str) -> F:
    return F("case__category__code") if target == Target.CATEGORY else F("case__department__code")


def _decided(target: str) -> Q:
    if target == Target.CATEGORY:
        return Q(case__filed_at__isnull=False, case__category__isnull=False)
    return Q(case__department__isnull=False)


def _outcomes(target: str) -> dict:
    final = _final(target)
    decided = _decided(target)
    return {
        "made": Count("pk"),
        "decided": Count("pk", filter=decided),
        "taken": Count("pk", filter=decided & Q(label1=final)),
        "top3": Count("pk", filter=decided & (Q(label1=final) | Q(label2=final) | Q(label3=final))),
        "auto": Count("pk", filter=Q(auto_dispatched=True)),
    }


def suggestions(user, *, since=None, until=None):
    """Suggestions on cases the user sees, made in [since, until)."""
    from gongzhi.cases.models import Case

    qs = Suggestion.objects.all()
    if not jurisdiction(user).everything:
        qs = qs.filter(case__in=Case.objects.visible_to(user).values("pk"))
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs


@dataclass
class Rate:
    made: int
    decided: int
    taken: int
    top3: int
    auto: int = 0

    @property
    def taken_rate(self) -> float | None:
        return self.taken / self.decided if self.decided else None

    @property
    def top3_rate(self) -> float | None:
        return self.top3 / self.decided if self.decided else None

    def as_dict(self) -> dict:
        return {"made": self.made, "decided": self.decided, "taken": self.taken, "top3": self.top3, "auto": self.auto,
                "taken_rate": _round(self.taken_rate), "top3_rate": _round(self.top3_rate)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def by_model(user, *, since=None, until=None) -> list[dict]:
    """One row per model version that made suggestions in the period."""
    base = suggestions(user, since=since, until=until)
    models = {m.pk: m for m in RouterModel.objects.defer("blob").filter(
        pk__in=base.values("model_id").distinct())}
    rows = []
    for target in (Target.CATEGORY, Target.DEPARTMENT):
        for row in base.filter(target=target).values("model_id").annotate(**_outcomes(target)).order_by("-model_id"):
            model = models.get(row.pop("model_id"))
            rows.append({"model": model, "target": target, "rate": Rate(**row)})
    return rows


def by_category(user, *, target: str, since=None, until=None, limit: int = 200) -> list[dict]:
    """One row per final category of the cases (``target``'s suggestions), most suggestions first."""
    base = suggestions(user, since=since, until=until).filter(target=target)
    rows = (base.values("case__category__code", "case__category__name").annotate(**_outcomes(target))
            .order_by("-made", "case__category__code")[:limit])
    out = []
    for row in rows:
        code, name = row.pop("case__category__code"), row.pop("case__category__name")
        out.append({"code": code or "", "name": name or "", "rate": Rate(**row)})
    return out


def totals(user, *, target: str, since=None, until=None) -> Rate:
    return Rate(**suggestions(user, since=since, until=until).filter(target=target).aggregate(**_outcomes(target)))


def period(days) -> tuple[int, datetime.datetime]:
    """A period from a ``days`` parameter (7, 30, 90 or 365; anything else is 30)."""
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 30
    if days not in PERIODS:
        days = 30
    return days, timezone.now() - datetime.timedelta(days=days)


def models_list():
    return RouterModel.objects.defer("blob").order_by("target", "-version")
