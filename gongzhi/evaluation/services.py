"""Every write of the evaluation app: the recount of the fact tables, and return visits (回访).

**Recount.** ``recount_month(month)`` rewrites one month's ``MonthlyFact`` rows (cases reported in
that month, grouped by area × department × category × source, counted by
``counting.count_cases``) and their roll-up ``AreaMonth`` (every grid's counts added to each of its
ancestors, found from the materialised path), in one transaction: readers see the old month or the
new one. Idempotent: running it twice gives the same rows. The worker's periodic job
(``recount_job``, every ``recount_minutes``) claims the schedule with a conditional UPDATE, so of
several workers only one queues the task (``tasks.recount``), which re-counts this month and the
months whose cases changed since its last pass (``run_recount``: new timeline rows, answered
visits), and the months never counted (a page asking for one shows 尚未统计 and never counts it;
while there are such months the schedule is claimed early, on the worker's next pass, once the
previous pass has finished). ``gongzhi recount_indicators --months N`` or ``--all`` rewrites any
months by hand; ``ensure_counted`` counts missing months synchronously for a command.

**Return visits.** ``draw_sample(month)`` tops up the month's sample of closed cases, per
department × street, to ``visit_share`` of the cases closed so far (at least ``visit_min_per_group``
per group); a case whose reporter has an account is asked online (an inbox message with a link to
the phone page), the others go to the callers' queue. ``answer_visit`` records the answer (from the
phone page or a caller's form), with an audit row.
"""

from __future__ import annotations

import datetime
import logging
import math
import random
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.cases.choices import Rating, Status
from gongzhi.cases.models import Case
from gongzhi.core import audit
from gongzhi.core.errors import Conflict

from . import counting
from .definitions import COUNTS
from .models import AreaMonth, EvaluationSettings, MonthlyFact, RecountLog, ReturnVisit

logger = logging.getLogger(__name__)

FACT_KEYS = ("area_id", "area_path", "department_id", "category_id", "source")


# --------------------------------------------------------------------------- recount


def recount_month(month: datetime.date) -> RecountLog:
    """Rewrite the facts of ``month`` (any day of it) from the cases. Returns the log row."""
    month = counting.month_start(month)
    started = time.perf_counter()
    end = counting.next_month(month) - datetime.timedelta(days=1)
    rows = counting.count_cases(counting.cohort(month, end), ("area_id", "area_path", "department_id",
                                                               "category_id", "source"))
    facts = [MonthlyFact(month=month, area_id=r["area_id"], area_path=r["area_path"] or "",
                         department_id=r["department_id"], category_id=r["category_id"], source=r["source"],
                         **{n: r[n] for n in COUNTS}) for r in rows]
    rollup = roll_up(facts, month)
    with transaction.atomic():
        MonthlyFact.objects.filter(month=month).delete()
        AreaMonth.objects.filter(month=month).delete()
        MonthlyFact.objects.bulk_create(facts, batch_size=2000)
        AreaMonth.objects.bulk_create(rollup, batch_size=2000)
        log, _created = RecountLog.objects.update_or_create(month=month, defaults={
            "counted_at": timezone.now(), "cases": sum(f.cases for f in facts), "rows": len(facts),
            "seconds": round(time.perf_counter() - started, 3)})
    return log


def roll_up(facts: list[MonthlyFact], month: datetime.date) -> list[AreaMonth]:
    """Each fact's counts added to its area and every ancestor (ids read from the path)."""
    sums: dict[tuple[int, str], dict[str, int]] = {}
    for fact in facts:
        if not fact.area_path:
            continue  # not yet located: in no area until it is placed in a grid
        for part in fact.area_path.strip("/").split("/"):
            key = (int(part), fact.source)
            bucket = sums.setdefault(key, dict.fromkeys(COUNTS, 0))
            for n in COUNTS:
                bucket[n] += getattr(fact, n)
    ids = {area_id for area_id, _s in sums}
    areas = {a.pk: a for a in Area.objects.filter(pk__in=ids).only("pk", "level_id", "path")}
    return [AreaMonth(month=month, area_id=area_id, level_id=areas[area_id].level_id, area_path=areas[area_id].path,
                      source=source, **counts)
            for (area_id, source), counts in sums.items() if area_id in areas]


def recent_months(n: int, today: datetime.date | None = None) -> list[datetime.date]:
    month = counting.month_start(today or timezone.localdate())
    out = []
    for _i in range(n):
        out.append(month)
        month = counting.previous_month(month)
    return out


def recount_recent(n: int | None = None) -> list[RecountLog]:
    """Re-count the last ``n`` months (default: the setting), the oldest first."""
    n = n or EvaluationSettings.load().recount_months
    return [recount_month(m) for m in reversed(recent_months(n))]


def months_with_cases() -> list[datetime.date]:
    first = Case.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return []
    return counting.months_between(timezone.localdate(first), timezone.localdate())


#: At most this many never-counted months per recount pass (newest first); the next pass, early
#: (``catching_up``), goes on with the rest.
CATCH_UP_MONTHS = 12


def ensure_counted(months) -> list[RecountLog]:
    """Count now, in this process, the months among ``months`` that were never counted (the
    ``monthly_report`` command before it writes its files). Not for pages: they only read
    (``queries.pending_months``) and the worker counts."""
    from . import queries

    return [recount_month(m) for m in queries.pending_months(months)]


def count_missing(limit: int = CATCH_UP_MONTHS, skip=()) -> list[RecountLog]:
    """Count up to ``limit`` months that were never counted (``queries.never_counted``, newest
    first), but not those in ``skip`` — the worker's catch-up, part of ``run_recount``."""
    from . import queries

    return [recount_month(m) for m in [m for m in queries.never_counted() if m not in skip][:limit]]


def catching_up(row: EvaluationSettings) -> bool:
    """May the schedule be claimed before it is due? Yes when some month was never counted (a page
    shows 尚未统计 for it) and the pass queued by the last claim has finished (``last_recount_at``, set
    by the pass when it ends to its start, is not older than that claim) — so passes never overlap."""
    from . import queries

    claimed_at = row.next_recount_at - datetime.timedelta(minutes=row.recount_minutes)
    if row.last_recount_at is None or row.last_recount_at < claimed_at:
        return False
    return bool(queries.never_counted())


def claim_recount(now=None) -> bool:
    """The worker's claim: one conditional UPDATE of ``next_recount_at`` repeating the value read.
    Due every ``recount_minutes``, and early while a month was never counted (``catching_up``)."""
    now = now or timezone.now()
    row = EvaluationSettings.load()
    due = row.next_recount_at
    if due is not None and due > now and not catching_up(row):
        return False
    rows = EvaluationSettings.objects.filter(pk=1)
    rows = rows.filter(next_recount_at__isnull=True) if due is None else rows.filter(next_recount_at=due)
    return rows.update(next_recount_at=now + datetime.timedelta(minutes=row.recount_minutes)) == 1


def recount_job(now=None) -> str | None:
    """The worker's periodic job (run_worker): when due and this worker wins the claim, queue the
    recount (it runs in the task worker, not in the sweeper's thread)."""
    if not claim_recount(now):
        return None
    from . import tasks

    tasks.recount.enqueue()
    return "evaluation: recount queued"


def changed_months(after_event_id: int, upto_event_id: int, since=None) -> set[datetime.date]:
    """The report months of the cases with a timeline row in (after, upto], and of the cases whose
    return visit was answered since ``since``: the months whose figures may have changed."""
    from gongzhi.cases.models import CaseEvent

    tz = counting.local_zone()
    touched = CaseEvent.objects.filter(id__gt=after_event_id, id__lte=upto_event_id).values("case_id")
    months = {m.date() for m in Case.objects.filter(pk__in=touched).datetimes("created_at", "month", tzinfo=tz)}
    if since is not None:
        answered = ReturnVisit.objects.filter(answered_at__gte=since).values("case_id")
        months |= {m.date() for m in Case.objects.filter(pk__in=answered).datetimes("created_at", "month", tzinfo=tz)}
    return months


def run_recount() -> str:
    """What the queued task does, incrementally: top up this month's and last month's return-visit
    samples, then re-count this month and every month whose cases changed since the last pass (a
    timeline row newer than ``last_event_id`` — every transition, the sweeper's marks and new reports
    write one — or a return visit answered). Old months with a late change are re-counted too. Then
    it counts up to ``CATCH_UP_MONTHS`` months never counted (newest first): those the pages show as
    尚未统计 (a page never counts; ``queries.pending_months``)."""
    from django.db.models import Max

    from gongzhi.cases.models import CaseEvent

    cfg = EvaluationSettings.load()
    started = timezone.now()
    upto = CaseEvent.objects.aggregate(m=Max("id"))["m"] or 0
    this_month = counting.month_start(timezone.localdate())
    sampled = sum(len(draw_sample(m)) for m in (counting.previous_month(this_month), this_month))
    months = changed_months(cfg.last_event_id, upto, cfg.last_recount_at) | {this_month}
    logs = [recount_month(m) for m in sorted(months)]
    missing = count_missing(skip=months)
    logs += missing
    EvaluationSettings.objects.filter(pk=1).update(last_recount_at=started, last_event_id=upto)
    message = (f"evaluation: recounted {len(logs)} months ({len(missing)} never counted before; "
               f"{sum(lg.cases for lg in logs)} cases, {sum(lg.seconds for lg in logs):.1f} s), "
               f"{sampled} return visits drawn")
    logger.info(message)
    return message


# --------------------------------------------------------------------------- return visits


def _stratum(case: Case, street_of: dict[int, str]) -> str:
    street = ""
    parts = (case.area_path or "").strip("/").split("/")
    for part in parts:
        if part and int(part) in street_of:
            street = street_of[int(part)]
    return f"{case.department_id or 0}:{street or '-'}"


def draw_sample(month: datetime.date, *, share=None, minimum: int | None = None, seed: str = "") -> list[ReturnVisit]:
    """Top up the return-visit sample of cases closed in ``month`` (local time): per department ×
    street, ceil(share × closed) cases (at least ``minimum``, at most all), chosen at random among
    those not yet drawn. Idempotent: run again with nothing new closed, it draws nothing."""
    cfg = EvaluationSettings.load()
    share = cfg.visit_share if share is None else share
    minimum = cfg.visit_min_per_group if minimum is None else minimum
    month = counting.month_start(month)
    lo, hi = counting.moment_range(month, counting.next_month(month) - datetime.timedelta(days=1))
    closed = list(Case.objects.filter(status=Status.CLOSED, closed_at__gte=lo, closed_at__lt=hi)
                  .only("pk", "department_id", "area_path", "reporter_id").order_by("pk"))
    if not closed or not share:
        return []
    street_of = dict(Area.objects.filter(level__slug="street").values_list("pk", "name"))
    drawn = set(ReturnVisit.objects.filter(case__in=[c.pk for c in closed]).values_list("case_id", flat=True))
    groups: dict[str, list[Case]] = {}
    for case in closed:
        groups.setdefault(_stratum(case, street_of), []).append(case)
    new: list[ReturnVisit] = []
    for stratum, cases in sorted(groups.items()):
        want = min(len(cases), max(minimum, math.ceil(float(share) * len(cases))))
        have = sum(1 for c in cases if c.pk in drawn)
        pool = [c for c in cases if c.pk not in drawn]
        rng = random.Random(f"{month:%Y-%m}:{stratum}:{seed}")
        rng.shuffle(pool)
        for case in pool[:max(0, want - have)]:
            channel = ReturnVisit.Channel.ONLINE if case.reporter_id else ReturnVisit.Channel.PHONE
            new.append(ReturnVisit(case=case, month=month, stratum=stratum[:64], channel=channel))
    if not new:
        return []
    with transaction.atomic():
        created = ReturnVisit.objects.bulk_create(new, ignore_conflicts=True)
        created = list(ReturnVisit.objects.filter(case__in=[v.case_id for v in new]).select_related("case"))
        audit.record(None, "evaluation.sample", None, after={"month": f"{month:%Y-%m}", "drawn": len(created)},
                     note=_("抽取回访样本"))
        transaction.on_commit(lambda: invite_online([v.pk for v in created]))
    return created


def invite_online(visit_ids: list[int]) -> int:
    """An inbox message with the survey link to each reporter with an account (online visits)."""
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    visits = ReturnVisit.objects.filter(pk__in=visit_ids, channel=ReturnVisit.Channel.ONLINE,
                                        status=ReturnVisit.Status.PENDING).select_related("case")
    rows = [Notification(user_id=v.case.reporter_id, case=v.case, kind="return_visit",
                         title=_("请对案件 %(number)s 的办理结果作出评价") % {"number": v.case.number},
                         body=_("您反映的问题已办结。问题解决了吗？您满意吗？"),
                         url=reverse("evaluation:survey", args=[v.token]))
            for v in visits if v.case.reporter_id]
    Notification.objects.bulk_create(rows)
    return len(rows)


def _clean_answer(resolved, satisfaction: str, comment: str) -> tuple[bool | None, str, str]:
    errors = {}
    if resolved not in (True, False, None):
        errors["resolved"] = [_("请选择问题是否解决")]
    if satisfaction not in Rating.values:
        errors["satisfaction"] = [_("请选择满意、基本满意或不满意")]
    if resolved is None:
        errors["resolved"] = [_("请选择问题是否解决")]
    if errors:
        raise ValidationError(errors)
    return resolved, satisfaction, (comment or "").strip()[:2000]


def answer_visit(visit: ReturnVisit, *, actor=None, resolved: bool | None, satisfaction: str,
                 comment: str = "", via: str = "phone") -> ReturnVisit:
    """Record the answer: online by the reporter (``actor`` is the reporter or None with the token)
    or entered by a caller. A visit already answered is not answered again (409)."""
    resolved, satisfaction, comment = _clean_answer(resolved, satisfaction, comment)
    with transaction.atomic():
        locked = ReturnVisit.objects.select_for_update().get(pk=visit.pk)
        if locked.status == ReturnVisit.Status.ANSWERED:
            raise Conflict(_("该回访已经答复过"))
        before = audit.snapshot(locked, fields=["status", "resolved", "satisfaction"])
        locked.status, locked.resolved, locked.satisfaction, locked.comment = (
            ReturnVisit.Status.ANSWERED, resolved, satisfaction, comment)
        locked.answered_at = timezone.now()
        locked.answered_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.channel = ReturnVisit.Channel.ONLINE if via == "online" else ReturnVisit.Channel.PHONE
        locked.attempts += 1
        locked.save()
        audit.record(actor if getattr(actor, "is_authenticated", False) else None, "evaluation.visit.answer", locked,
                     before=before, after=audit.snapshot(locked, fields=["status", "resolved", "satisfaction"]))
    return locked


def visit_failed(visit: ReturnVisit, *, actor, outcome: str, note: str = "") -> ReturnVisit:
    """A caller could not reach the person (counted, stays in the queue after fewer than 3 tries)
    or the person declined; ``outcome`` is ``unreachable`` or ``declined``."""
    if outcome not in (ReturnVisit.Status.UNREACHABLE, ReturnVisit.Status.DECLINED):
        raise ValidationError({"outcome": [_("请选择联系不上或拒绝回访")]})
    with transaction.atomic():
        locked = ReturnVisit.objects.select_for_update().get(pk=visit.pk)
        if locked.status == ReturnVisit.Status.ANSWERED:
            raise Conflict(_("该回访已经答复过"))
        before = audit.snapshot(locked, fields=["status", "attempts"])
        locked.attempts += 1
        if outcome == ReturnVisit.Status.DECLINED or locked.attempts >= 3:
            locked.status = outcome
        locked.comment = (note or locked.comment)[:2000]
        locked.save()
        audit.record(actor, "evaluation.visit.failed", locked, before=before,
                     after=audit.snapshot(locked, fields=["status", "attempts"]))
    return locked


def check_caller(user) -> None:
    """Callers (回访员): a command-center role (受理员, 派遣员, 值班长) somewhere, or a superuser."""
    from gongzhi.core.scoping import jurisdiction

    scope = jurisdiction(user)
    if not (scope.everything or scope.command_paths):
        raise PermissionDenied(_("只有指挥中心人员可以进行电话回访"))
