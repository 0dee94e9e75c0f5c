"""The deadline sweeper: warnings, overdue marks and escalation (督办), run by the worker.

Deadlines are columns, not timers (ARCHITECTURE pattern 4, Healthchecks' ``sendalerts``). Each
open case carries ``warn_at`` (80 % of the step's time used), ``due_at`` and
``next_escalation_at``, all in partial indexes over the open states. A pass reads due rows in
bounded batches, oldest first, and *claims* each one with a conditional UPDATE that repeats the
values it read::

    UPDATE case SET escalation_level = n + 1, … WHERE id = … AND status = <read>
        AND escalation_level = <read> AND next_escalation_at = <read>

Only the claim that changed exactly one row writes the timeline event, in the same short
transaction. So two workers sweeping at once never double an event (the loser changes 0 rows),
a crash between claim and event is impossible (one transaction), and a case that moved on
between the read and the claim (accepted, handled, extended) is left alone — the next pass
reads it afresh.

Escalation levels: 1 (at ``due_at``: "overdue") → the department's heads and the nearest command
center above the case; 2 → the district-level center; 3 and beyond → the city (root) center.
Levels are ``CASE_ESCALATION_STEP_HOURS`` working hours apart (default 4). A case waiting to be
verified (HANDLED) is the command center's business only.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.notifications import recipients

from . import deadlines, services
from .choices import OPEN_STATES, LimitUnit, Status
from .models import Case, CaseEvent

logger = logging.getLogger(__name__)

#: Rows read per batch, and batches per pass (a pass is bounded; the rest waits for the next one).
BATCH_SIZE = 200
MAX_BATCHES = 50

#: States whose clock is the command center's (dispatching, verifying): no department to chase.
CENTER_CLOCK_STATES = (Status.FILED, Status.RETURNED, Status.HANDLED)


@dataclass
class SweepReport:
    """What one pass did. ``lost``: claims that changed no row (another worker, or the case moved)."""

    warned: int = 0
    overdue: int = 0
    escalated: int = 0
    lost: int = 0
    errors: int = 0

    @property
    def events(self) -> int:
        return self.warned + self.overdue + self.escalated

    def __bool__(self) -> bool:
        return bool(self.events or self.lost or self.errors)

    def __str__(self) -> str:
        return (f"warned={self.warned} overdue={self.overdue} escalated={self.escalated} "
                f"lost={self.lost} errors={self.errors}")


# --------------------------------------------------------------------------- settings and targets


def escalation_step() -> Decimal:
    """Working hours between escalation levels (setting ``CASE_ESCALATION_STEP_HOURS``, default 4)."""
    value = Decimal(str(getattr(settings, "CASE_ESCALATION_STEP_HOURS", 4)))
    if not value > 0:
        raise ValueError(f"CASE_ESCALATION_STEP_HOURS must be positive, got {value}")
    return value


def sweep_seconds() -> float:
    """Seconds between the worker's passes (setting ``CASE_SWEEP_SECONDS``, default 30)."""
    return float(getattr(settings, "CASE_SWEEP_SECONDS", 30))


def next_escalation(scheduled: datetime.datetime, now: datetime.datetime) -> datetime.datetime:
    """The moment of the next level: one step after the one just reached.

    Counted from the scheduled moment, so levels keep their rhythm whatever the sweep interval; if
    that is already past (the worker was stopped for a while), one step from now instead — every
    level gets its full time, and a backlog never fires several levels at once.
    """
    step = escalation_step()
    moment = deadlines.add(scheduled, step, LimitUnit.WORKING_HOURS)
    if moment <= now:
        moment = deadlines.add(now, step, LimitUnit.WORKING_HOURS)
    return moment


def _center_owns_clock(case: Case) -> bool:
    return case.status in CENTER_CLOCK_STATES or case.department_id is None


def escalation_targets(case: Case, level: int) -> list[int]:
    """User ids a case at escalation ``level`` goes to (see the module docstring)."""
    path = case.area_path
    if level <= 1:
        people = set(recipients.command_center(path))
        if not _center_owns_clock(case):
            people.update(recipients.department_heads(case.department_id))
    elif level == 2:
        people = set(recipients.command_center(path, top=recipients.district_index(path)))
    else:
        people = set(recipients.command_center(path, top=0))
    return sorted(people)


def _names(user_ids: list[int]) -> list[str]:
    users = {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=user_ids)}
    return [users[pk] for pk in user_ids if pk in users]


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


# --------------------------------------------------------------------------- claims


def claim_warning(case: Case, now: datetime.datetime) -> CaseEvent | None:
    """Claim the 80 % warning of ``case`` (as read) and write its "warn" event; None if lost."""
    with transaction.atomic():
        changed = Case.objects.filter(pk=case.pk, warned=False, warn_at=case.warn_at, status=case.status).update(
            warned=True, updated_at=timezone.now())
        if changed != 1:
            return None
        case.warned = True
        to = recipients.command_center(case.area_path) if _center_owns_clock(case) else []
        note = _("时限已用去 %(share)s%%，将于 %(due)s 到期") % {
            "share": int(deadlines.WARN_SHARE * 100), "due": _local(case.due_at)}
        data = {"due_at": case.due_at.isoformat() if case.due_at else None, "to": to, "to_names": _names(to)}
        return services.record_event(case, None, "warn", from_status=case.status, note=note, data=data,
                                     department=case.department)


def claim_escalation(case: Case, now: datetime.datetime) -> CaseEvent | None:
    """Claim the next escalation level of ``case`` (as read) and write its event; None if lost.

    Level 1 is the "overdue" event, higher levels "escalate" (督办); both carry
    ``{"level": n, "to": [user ids], "to_names": [...]}``.
    """
    level = case.escalation_level + 1
    following = next_escalation(case.next_escalation_at, now)
    with transaction.atomic():
        changed = Case.objects.filter(
            pk=case.pk, status=case.status, escalation_level=case.escalation_level,
            next_escalation_at=case.next_escalation_at,
        ).update(overdue=True, warned=True, escalation_level=level, next_escalation_at=following,
                 updated_at=timezone.now())
        if changed != 1:
            return None
        case.overdue, case.warned, case.escalation_level, case.next_escalation_at = True, True, level, following
        to = escalation_targets(case, level)
        names = _names(to)
        shown = "、".join(names) or _("（未找到督办对象）")
        if level == 1:
            action = "overdue"
            note = _("已超过期限 %(due)s，督办：%(names)s") % {"due": _local(case.due_at), "names": shown}
        else:
            action = "escalate"
            note = _("超期未办结，第 %(level)s 级督办：%(names)s") % {"level": level, "names": shown}
        data = {"level": level, "to": to, "to_names": names,
                "due_at": case.due_at.isoformat() if case.due_at else None, "next_at": following.isoformat()}
        return services.record_event(case, None, action, from_status=case.status, note=note, data=data,
                                     department=case.department)


# --------------------------------------------------------------------------- a pass


def _due(field: str, now: datetime.datetime, skip: set[int], batch_size: int, **extra) -> list[Case]:
    """One batch of open cases whose ``field`` has come, oldest first (served by the partial index)."""
    qs = (Case.objects.filter(status__in=OPEN_STATES, **{f"{field}__lte": now}, **extra)
          .select_related("department").order_by(field, "pk"))
    if skip:
        qs = qs.exclude(pk__in=skip)
    return list(qs[:batch_size])


def _run(claim: Callable[[Case, datetime.datetime], CaseEvent | None], field: str, now: datetime.datetime,
         report: SweepReport, *, batch_size: int, max_batches: int, should_stop: Callable[[], bool],
         **extra) -> None:
    skip: set[int] = set()  # lost or failed claims: not retried in this pass (no spinning)
    for _batch in range(max_batches):
        rows = _due(field, now, skip, batch_size, **extra)
        for case in rows:
            if should_stop():
                return
            try:
                event = claim(case, now)
            except Exception:
                logger.exception("sweeper: %s of case %s failed", claim.__name__, case.pk)
                report.errors += 1
                skip.add(case.pk)
                continue
            if event is None:
                report.lost += 1
                skip.add(case.pk)
            elif event.action == "warn":
                report.warned += 1
            elif event.action == "overdue":
                report.overdue += 1
            else:
                report.escalated += 1
            if event is not None:
                logger.info("sweeper: case %s %s (level %s)", case.number, event.action,
                            event.data.get("level", "-"))
        if len(rows) < batch_size:
            return


def sweep(now: datetime.datetime | None = None, *, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES,
          should_stop: Callable[[], bool] | None = None) -> SweepReport:
    """One pass over the due columns: escalations first (an overdue case needs no warning any
    more), then warnings. Safe to run in several workers at once; idempotent for a given ``now``."""
    now = now or timezone.now()
    should_stop = should_stop or (lambda: False)
    report = SweepReport()
    options = {"batch_size": batch_size, "max_batches": max_batches, "should_stop": should_stop}
    _run(claim_escalation, "next_escalation_at", now, report, **options)
    _run(claim_warning, "warn_at", now, report, warned=False, **options)
    return report


def run_forever(stop: threading.Event, *, interval: float | None = None,
                jobs: Sequence[Callable[[], object]] | None = None) -> None:
    """Run ``jobs`` (default: one sweep) every ``interval`` seconds until ``stop`` is set.

    After each pass the thread's connections are closed when they are broken or older than
    ``CONN_MAX_AGE`` (Django's ``close_old_connections``, as at the end of a request), so a
    long-lived loop never holds a stale or broken connection and a 1-second loop (the outbox) does
    not reconnect every second. A failing job is logged and the loop goes on.
    """
    interval = sweep_seconds() if interval is None else interval
    jobs = list(jobs) if jobs else [lambda: sweep(should_stop=stop.is_set)]
    name = threading.current_thread().name  # gongzhi-sweeper or gongzhi-outbox (run_worker)
    logger.info("%s: started, a pass every %s s", name, interval)
    while not stop.is_set():
        for job in jobs:
            if stop.is_set():
                break
            try:
                result = job()
                if result:
                    logger.info("%s: %s", name, result)
            except Exception:
                logger.exception("%s: a periodic job failed", name)
        close_old_connections()
        stop.wait(interval)
    connections.close_all()
    logger.info("%s: stopped", name)
