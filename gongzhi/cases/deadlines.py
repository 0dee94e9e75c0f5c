"""Time limits: how long a step may take, and the moment it is due (in working time)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from gongzhi.core import calendar, refcache

from .choices import LimitUnit, Step
from .models import Case, TimeLimit

#: Used when a category has no time limit for a step (local standards set their own tables):
#: dispatch within 2 working hours, handle within 5 working days, verify within 1 working day;
#: urgent cases run on natural hours (2 h, 24 h, 4 h).
DEFAULT_LIMITS: dict[tuple[str, bool], tuple[Decimal, str]] = {
    (Step.DISPATCH, False): (Decimal(2), LimitUnit.WORKING_HOURS),
    (Step.HANDLE, False): (Decimal(5), LimitUnit.WORKING_DAYS),
    (Step.VERIFY, False): (Decimal(1), LimitUnit.WORKING_DAYS),
    (Step.DISPATCH, True): (Decimal(2), LimitUnit.NATURAL_HOURS),
    (Step.HANDLE, True): (Decimal(24), LimitUnit.NATURAL_HOURS),
    (Step.VERIFY, True): (Decimal(4), LimitUnit.NATURAL_HOURS),
}

#: The share of the time after which a warning goes out (预警).
WARN_SHARE = Decimal("0.8")


def limit_for(case: Case, step: str) -> tuple[Decimal, str]:
    """The most specific limit: (category, class, urgent) → (category, any class, urgent) → defaults."""
    area_class = case.area.effective_area_class() if case.area_id else "B"
    if case.category_id:
        rows = category_limits(case.category_id)
        for key in ((step, area_class, case.urgent), (step, "", case.urgent)):
            if key in rows:
                return rows[key]
    return DEFAULT_LIMITS[(step, bool(case.urgent))]


def category_limits(category_id: int) -> dict[tuple[str, str, bool], tuple[Decimal, str]]:
    """``{(step, area class, urgent): (amount, unit)}`` of one category (cached per process)."""
    def load():
        return {(r.step, r.area_class, r.urgent): (r.amount, r.unit)
                for r in TimeLimit.objects.filter(category_id=category_id)}
    return refcache.get(("time-limits", category_id), load)


def add(moment: datetime.datetime, amount: Decimal, unit: str) -> datetime.datetime:
    """``moment`` plus a limit in its unit, counting office hours where the unit says so."""
    if unit == LimitUnit.NATURAL_HOURS:
        return moment + datetime.timedelta(hours=float(amount))
    if unit == LimitUnit.WORKING_DAYS:
        return calendar.add_working_days(moment, amount)
    return calendar.add_working_hours(moment, amount)


def schedule(case: Case, step: str, start: datetime.datetime) -> None:
    """Set the case's clock for ``step`` from ``start``: due_at, the warning moment, no escalation yet."""
    amount, unit = limit_for(case, step)
    case.step_started_at = start
    case.due_at = add(start, amount, unit)
    case.warn_at = add(start, amount * WARN_SHARE, unit)
    case.warned = False
    case.overdue = False
    case.escalation_level = 0
    case.next_escalation_at = case.due_at


def stop(case: Case) -> None:
    """No clock runs (a terminal state, or waiting on the reporter)."""
    case.step_started_at = case.due_at = case.warn_at = case.next_escalation_at = None
    case.warned = False
    case.overdue = False
