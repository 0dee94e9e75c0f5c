"""Reading the indicators — the Python interface other apps call (the wall screen, the monthly
report). Dates are ``datetime.date`` in local time (``TIME_ZONE``), ``start`` and ``end`` both
inclusive; months are given by any day of the month.

``indicators(target=None, start, end, *, scheme=None) -> Figures``
    ``target``: an ``Area`` (its whole subtree), a list of areas, a ``Department`` (with
    ``viewer=user``: only its cases inside that user's jurisdiction), a ``User`` (the person's own
    work: reports they made, cases they dispatched, handled, verified), or None (the whole city). Whole months of areas and departments are read from the fact tables; other
    ranges and persons are counted from the cases. ``Figures.counts``, ``.rates[code].percent``,
    ``.score`` (0–100, Decimal, None without data), ``.as_dict()``.

``monthly_ranking(month, level="street", within=None, *, scheme=None, viewer=None) -> Ranking``
    Areas of one level (``AreaLevel.slug``: district, street, community, grid) ranked by the
    scheme's score, with the previous month's rank and score: ``RankRow(area, score, rank,
    previous_rank, change, score_change, figures, previous_score)``. ``change`` > 0: moved up
    (e.g. 5th → 2nd is +3); None when not ranked last month. ``within``: only areas under this
    area; ``viewer``: only areas inside that user's jurisdiction. Ties share a rank (1, 2, 2, 4);
    areas without enough cases come last, unranked.

``department_ranking(month, within=None, *, scheme=None, viewer=None) -> Ranking``
    The same for departments (``RankRow.department``); ``within`` = departments serving there.

Months never counted (no ``RecountLog`` row, yet within the months that have cases) are not counted
here: ``indicators`` returns empty figures with ``Figures.pending`` listing them, the rankings a
``Ranking`` (a list) with ``.pending`` and rows without figures; pages show 尚未统计 and the worker's
recount pass counts them (``services.run_recount``). ``pending_months(months)`` asks directly.

``scheme_spec(scheme=None) -> scoring.Spec``: the default scheme (or one by code / instance).
``DEFINITIONS`` (gongzhi.evaluation.definitions): each indicator's numerator, denominator, help text.

Nothing here checks permissions beyond ``viewer``: views and the API decide who may ask what
(``gongzhi.core.scoping``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from gongzhi.areas.models import Area
from gongzhi.cases.models import CaseEvent

from . import counting, scoring
from .definitions import COUNTS, DEFINITIONS  # noqa: F401 (re-exported for callers)
from .models import AreaMonth, MonthlyFact, RecountLog, Scheme
from .scoring import Figures, Spec

__all__ = ["DEFINITIONS", "Figures", "RankRow", "Ranking", "department_ranking", "indicators", "monthly_ranking",
           "never_counted", "pending_months", "scheme_spec"]


def scheme_spec(scheme=None) -> Spec:
    """``scheme``: a Scheme, its code, a Spec, or None for the default scheme (every indicator with
    equal weights when no scheme is marked default)."""
    if isinstance(scheme, Spec):
        return scheme
    if isinstance(scheme, Scheme):
        return Spec.from_scheme(scheme)
    qs = Scheme.objects.prefetch_related("items")
    row = qs.filter(code=scheme).first() if scheme else qs.filter(is_default=True).first()
    if row is None:
        if scheme:
            raise Scheme.DoesNotExist(scheme)
        return scoring.ALL
    return Spec.from_scheme(row)


def first_month() -> datetime.date | None:
    """The month (local time) of the first case ever reported; None without cases. One indexed read."""
    from django.utils import timezone

    from gongzhi.cases.models import Case

    first = Case.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return None if first is None else counting.month_start(timezone.localdate(first))


def pending_months(months) -> list[datetime.date]:
    """The months among ``months`` (any day of each) that were never counted but may have cases — no
    ``RecountLog`` row, not before the first case's month, not after this month — oldest first. Such a
    month shows 尚未统计 until the worker counts it (``services.run_recount``); a month outside that
    range has no cases, so its (empty) figures are already right. Reads only: a page never counts."""
    from django.utils import timezone

    months = sorted({counting.month_start(m) for m in months})
    if not months:
        return []
    done = set(RecountLog.objects.filter(month__in=months).values_list("month", flat=True))
    missing = [m for m in months if m not in done]
    if not missing:
        return []
    first, this_month = first_month(), counting.month_start(timezone.localdate())
    return [m for m in missing if first is not None and first <= m <= this_month]


def never_counted() -> list[datetime.date]:
    """Every month from the first case's to this one that was never counted, newest first: what the
    worker's recount counts besides the months that changed (``services.run_recount``)."""
    from django.utils import timezone

    first = first_month()
    if first is None:
        return []
    months = counting.months_between(first, timezone.localdate())
    done = set(RecountLog.objects.filter(month__gte=first).values_list("month", flat=True))
    return [m for m in reversed(months) if m not in done]


class Ranking(list):
    """The rows of a ranking (a list of ``RankRow``); ``pending``: the months it needs that were
    never counted (then every row is without figures and rank: show 尚未统计)."""

    pending: tuple[datetime.date, ...] = ()


def _by_source(rows) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        source = row["source"] if isinstance(row, dict) else row.source
        scoring.add(out.setdefault(source, {}), row)
    return out


def _sum_facts(qs) -> dict[str, dict[str, int]]:
    from django.db.models import Sum

    return _by_source(qs.order_by().values("source").annotate(**{n: Sum(n) for n in COUNTS}))


def _scope_q(viewer) -> Q | None:
    """Cases (or facts) inside the viewer's jurisdiction by ``area_path``; None: no limit."""
    from gongzhi.core.scoping import jurisdiction

    if viewer is None:
        return None
    scope = jurisdiction(viewer)
    if scope.everything:
        return None
    q = Q(pk__in=[])
    for path in scope.paths:
        q |= Q(area_path__startswith=path)
    return q


def indicators(target=None, start: datetime.date | None = None, end: datetime.date | None = None, *,
               scheme=None, viewer=None) -> Figures:
    """The figures of ``target`` over [start, end] (default: this month so far). See the module doc.
    ``viewer``: for a department, count only its cases inside that user's jurisdiction."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from gongzhi.orgs.models import Department

    today = timezone.localdate()
    start = start or counting.month_start(today)
    end = end or today
    if end < start:
        raise ValueError("end before start")
    spec = scheme_spec(scheme)
    if isinstance(target, get_user_model()):
        return scoring.figures(person_counts(target, start, end), spec)
    areas = [target] if isinstance(target, Area) else list(target) if isinstance(target, list | tuple) else None
    department = target if isinstance(target, Department) else None
    if counting.whole_months(start, end):
        months = counting.months_between(start, end)
        pending = pending_months(months)
        if pending:  # never counted: no figures until the worker has counted them (never inline)
            return scoring.figures({}, spec, pending=pending)
        if department is not None:
            facts = MonthlyFact.objects.filter(month__in=months, department=department)
            limit = _scope_q(viewer)
            return scoring.figures(_sum_facts(facts if limit is None else facts.filter(limit)), spec)
        if areas is None:
            return scoring.figures(_sum_facts(MonthlyFact.objects.filter(month__in=months)), spec)
        return scoring.figures(_sum_facts(AreaMonth.objects.filter(month__in=months, area__in=_outermost(areas))),
                               spec)
    qs = counting.cohort(start, end)
    if department is not None:
        qs = qs.filter(department=department)
        limit = _scope_q(viewer)
        qs = qs if limit is None else qs.filter(limit)
    elif areas is not None:
        q = Q()
        for area in _outermost(areas):
            q |= Q(area_path__startswith=area.path)
        qs = qs.filter(q) if q else qs.none()
    return scoring.figures(_by_source(counting.count_cases(qs, ("source",))), spec)


def _outermost(areas) -> list[Area]:
    """Drop areas inside another of the list (their cases are counted once)."""
    areas = sorted({a.pk: a for a in areas}.values(), key=lambda a: len(a.path))
    kept: list[Area] = []
    for a in areas:
        if not any(a.path.startswith(k.path) for k in kept):
            kept.append(a)
    return kept


def person_counts(user, start: datetime.date, end: datetime.date) -> dict[str, dict[str, int]]:
    """A person's (post's) counts: each indicator over the cases of the period where the person did
    the step it measures — reports they made (有效上报率), cases they dispatched (准确派遣率, 响应率),
    handled (按期处置率, 返工率, 结案率, 按期结案率, 解决率, 满意率) and verified (按时核查率)."""
    base = counting.cohort(start, end)

    def did(action: str):
        return base.filter(pk__in=CaseEvent.objects.filter(actor=user, action=action).values("case_id"))

    parts = {
        "reported": (base.filter(reporter=user), ("cases", "reports", "valid")),
        "dispatched": (did("dispatch"), ("dispatched", "dispatched_right", "filed", "responded")),
        "handled": (did("handle"), ("handled", "handled_on_time", "reworked", "due_close", "closed", "closed_on_time",
                                   "visit_resolved", "visit_unresolved", "visit_satisfied", "visit_basic",
                                   "visit_unsatisfied", "rated_satisfied", "rated_basic", "rated_unsatisfied")),
        "verified": (did("verify"), ("verified", "verified_on_time")),
    }
    out: dict[str, dict[str, int]] = {}
    for qs, names in parts.values():
        for row in counting.count_cases(qs, ("source",)):
            bucket = out.setdefault(row["source"], dict.fromkeys(COUNTS, 0))
            for n in names:
                bucket[n] += row[n]
    return out


# --------------------------------------------------------------------------- rankings


@dataclass
class RankRow:
    area: Area | None
    score: Decimal | None
    rank: int | None
    previous_rank: int | None
    change: int | None          # previous_rank − rank: +3 moved up three places
    figures: Figures
    previous_score: Decimal | None = None
    score_change: Decimal | None = None
    department: object | None = None

    @property
    def subject(self):
        return self.area if self.area is not None else self.department

    @property
    def name(self) -> str:
        return str(self.subject.name)

    def as_dict(self) -> dict:
        subject = self.subject
        return {"id": subject.pk, "name": str(subject.name), "code": getattr(subject, "code", ""),
                "score": None if self.score is None else str(self.score), "rank": self.rank,
                "previous_rank": self.previous_rank, "change": self.change,
                "previous_score": None if self.previous_score is None else str(self.previous_score),
                "score_change": None if self.score_change is None else str(self.score_change),
                "figures": self.figures.as_dict()}


def _rank(scored: list[tuple[object, Figures]]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) by score, highest first; unscored subjects get no rank."""
    ordered = sorted((f.score_value, s.pk) for s, f in scored if f.score_value is not None)
    ordered.reverse()
    ranks: dict[int, int] = {}
    previous, rank = None, 0
    for i, (value, pk) in enumerate(ordered, 1):
        if value != previous:
            rank, previous = i, value
        ranks[pk] = rank
    return ranks


def _rows(subjects, current: dict, before: dict, spec: Spec, pending=(), **kind) -> Ranking:
    """The ranked rows; with ``pending`` months (never counted), every row without figures or rank."""
    now = [(s, scoring.figures(current.get(s.pk, {}), spec, pending=pending)) for s in subjects]
    then = [(s, scoring.figures(before.get(s.pk, {}), spec)) for s in subjects]
    ranks, previous_ranks = _rank(now), _rank(then)
    previous_score = {s.pk: f.score for s, f in then}
    out = Ranking()
    out.pending = tuple(pending)
    for subject, fig in now:
        rank, prev = ranks.get(subject.pk), previous_ranks.get(subject.pk)
        prev_score = previous_score[subject.pk]
        out.append(RankRow(
            area=subject if kind.get("areas") else None, department=None if kind.get("areas") else subject,
            score=fig.score, rank=rank, previous_rank=prev,
            change=(prev - rank) if rank is not None and prev is not None else None,
            figures=fig, previous_score=prev_score,
            score_change=(fig.score - prev_score) if fig.score is not None and prev_score is not None else None))
    out.sort(key=lambda r: (r.rank is None, r.rank or 0, str(r.name)))
    return out


def monthly_ranking(month: datetime.date, level: str = "street", within: Area | None = None, *,
                    scheme=None, viewer=None) -> Ranking:
    """Areas of ``level`` ranked for ``month`` with the change from the previous month."""
    if level == "department":
        return department_ranking(month, within, scheme=scheme, viewer=viewer)
    month = counting.month_start(month)
    before_month = counting.previous_month(month)
    pending = pending_months([before_month, month])
    spec = scheme_spec(scheme)
    areas = Area.objects.filter(level__slug=level)
    if within is not None:
        areas = areas.filter(path__startswith=within.path)
    if viewer is not None:
        areas = areas.visible_to(viewer)
    areas = list(areas.order_by("path"))
    ids = [a.pk for a in areas]
    current: dict[int, dict] = {}
    before: dict[int, dict] = {}
    rows = AreaMonth.objects.filter(month__in=(month, before_month), area_id__in=ids).values(
        "month", "area_id", "source", *COUNTS)
    if not pending:
        for row in rows:
            target = current if row["month"] == month else before
            scoring.add(target.setdefault(row["area_id"], {}).setdefault(row["source"], {}), row)
    return _rows(areas, current, before, spec, pending, areas=True)


def department_ranking(month: datetime.date, within: Area | None = None, *, scheme=None,
                       viewer=None) -> Ranking:
    """Departments ranked for ``month`` by the cases dispatched to each one — only those inside
    ``within`` and the viewer's jurisdiction, so a street sees its departments' work in the street."""
    from django.db.models import Sum

    from gongzhi.orgs.models import Department

    month = counting.month_start(month)
    before_month = counting.previous_month(month)
    pending = pending_months([before_month, month])
    spec = scheme_spec(scheme)
    departments = Department.objects.filter(is_active=True)
    if within is not None:
        departments = departments.filter(areas__path__startswith=within.path).distinct()
    if viewer is not None:
        departments = departments.visible_to(viewer)
    departments = list(departments.order_by("name"))
    current: dict[int, dict] = {}
    before: dict[int, dict] = {}
    facts = MonthlyFact.objects.filter(month__in=(month, before_month), department__in=[d.pk for d in departments])
    if within is not None:
        facts = facts.filter(area_path__startswith=within.path)
    limit = _scope_q(viewer)
    if limit is not None:
        facts = facts.filter(limit)
    rows = (facts.order_by().values("month", "department_id", "source").annotate(**{n: Sum(n) for n in COUNTS}))
    if not pending:
        for row in rows:
            target = current if row["month"] == month else before
            scoring.add(target.setdefault(row["department_id"], {}).setdefault(row["source"], {}), row)
    return _rows(departments, current, before, spec, pending)
