"""Counting cases: the one place that says, per case, which counts it adds to (docs/indicators.md).

``count_cases(queryset, group_by)`` is used both by the recount that fills the fact tables and by
the live path (date ranges that are not whole months, a person's figures), so the aggregate and a
full recount from the raw cases can only agree.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from gongzhi.cases.choices import OPEN_STATES, Rating, Status
from gongzhi.cases.models import Case, CaseEvent

from .definitions import COUNTS

#: The states whose clock counts against each step (cases.choices.STEP_OF_STATE).
DISPATCH_STATES = (Status.FILED, Status.RETURNED)
HANDLE_STATES = (Status.DISPATCHED, Status.IN_PROGRESS)
VERIFY_STATES = (Status.HANDLED,)
RESPONSE_STATES = (Status.FILED, Status.RETURNED, Status.DISPATCHED)


def late(states) -> Exists:
    """The case was marked overdue (the sweeper's ``overdue`` event) while in one of ``states``, and
    no extension was approved after that mark (an approved extension sets a new deadline)."""
    approved_after = CaseEvent.objects.filter(case_id=OuterRef("case_id"), action="decide_extension",
                                              data__approved=True, at__gt=OuterRef("at"))
    marks = CaseEvent.objects.filter(case_id=OuterRef("pk"), action="overdue", from_status__in=states)
    return Exists(marks.filter(~Exists(approved_after)))


def conditions() -> dict[str, Q]:
    """count name → the condition a case meets to add 1 to it."""
    alive = ~Q(status__in=(Status.WITHDRAWN, Status.MERGED))
    filed = alive & Q(filed_at__isnull=False)
    again = Q(rework_count__gt=0) | Q(reopen_count__gt=0)
    closed = Q(status=Status.CLOSED)
    verified = alive & (closed | again)
    dispatched = alive & Q(dispatched_at__isnull=False)
    handled = alive & (Q(status__in=(Status.HANDLED, Status.CLOSED)) | again)
    accepted = alive & (Q(status__in=(Status.IN_PROGRESS, Status.HANDLED, Status.CLOSED)) | again)
    late_dispatch, late_handle, late_verify = late(DISPATCH_STATES), late(HANDLE_STATES), late(VERIFY_STATES)
    answered = Q(return_visit__status="answered")
    rated = Q(rated_at__isnull=False) & ~answered & closed
    return {
        "cases": Q(pk__isnull=False),
        "reports": alive & (Q(filed_at__isnull=False) | Q(status=Status.NOT_FILED)),
        "valid": filed,
        "verified": verified,
        "verified_on_time": verified & ~late_verify,
        "dispatched": dispatched,
        "dispatched_right": dispatched & Q(return_count=0),
        "handled": handled,
        "handled_on_time": handled & ~late_handle,
        "reworked": alive & Q(rework_count__gt=0),
        "due_close": filed & (closed | (Q(status__in=OPEN_STATES) & Q(overdue=True))),
        "filed": filed,
        "closed": closed,
        "closed_on_time": closed & ~late_dispatch & ~late_handle & ~late_verify,
        "responded": accepted & ~late(RESPONSE_STATES),
        "visit_resolved": closed & answered & Q(return_visit__resolved=True),
        "visit_unresolved": closed & answered & Q(return_visit__resolved=False),
        "visit_satisfied": closed & answered & Q(return_visit__satisfaction=Rating.SATISFIED),
        "visit_basic": closed & answered & Q(return_visit__satisfaction=Rating.BASIC),
        "visit_unsatisfied": closed & answered & Q(return_visit__satisfaction=Rating.UNSATISFIED),
        "rated_satisfied": rated & Q(rating=Rating.SATISFIED),
        "rated_basic": rated & Q(rating=Rating.BASIC),
        "rated_unsatisfied": rated & Q(rating=Rating.UNSATISFIED),
    }


def count_cases(queryset, group_by: tuple[str, ...] = ()) -> list[dict]:
    """One aggregate query: per group (values of ``group_by`` fields of Case), every count."""
    conds = conditions()
    aggregates = {name: Count("pk", filter=conds[name]) for name in COUNTS}
    if not group_by:
        row = queryset.aggregate(**aggregates)
        return [row] if row["cases"] else []
    return list(queryset.order_by().values(*group_by).annotate(**aggregates))


# --------------------------------------------------------------------------- periods


def local_zone() -> datetime.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def previous_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The months touched by [start, end] (both inclusive)."""
    out, m = [], month_start(start)
    while m <= end:
        out.append(m)
        m = next_month(m)
    return out


def whole_months(start: datetime.date, end: datetime.date) -> bool:
    """Is [start, end] made of whole calendar months?"""
    return start.day == 1 and (end + datetime.timedelta(days=1)).day == 1


def moment_range(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in local time, as aware datetimes."""
    tz = local_zone()
    return (datetime.datetime.combine(start, datetime.time(), tz),
            datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tz))


def cohort(start: datetime.date, end: datetime.date, queryset=None):
    """Cases reported (``created_at``, local time) between start and end, both inclusive."""
    lo, hi = moment_range(start, end)
    qs = Case.objects.all() if queryset is None else queryset
    return qs.filter(created_at__gte=lo, created_at__lt=hi)
