"""Demo data for the indicators: two past months of closed-loop history in the demo city's three
streets (so the monthly ranking has figures and a change from the month before), a few return
visits (answered, and some waiting in the callers' queue), and the facts counted.

The history is written directly (cases with their times, and their timeline rows), marked
``extra.demo`` so that ``cases.demo.reset_demo_cases`` removes it with the rest. Idempotent.
"""

from __future__ import annotations

import datetime
import random
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.cases.models import Case, CaseEvent, Category
from gongzhi.orgs.models import Department, User

from . import counting, services
from .models import ReturnVisit

#: street → (department code prefix, cases per month, how well it does: share on time, share satisfied)
STREETS = {
    "凤凰岭街道": ("fhl", (18, 22), ((0.70, 0.70), (0.90, 0.85))),  # improves in the second month
    "海北街道": ("hb", (15, 16), ((0.90, 0.90), (0.75, 0.70))),    # slips
    "滨海街道": ("bh", (12, 14), ((0.80, 0.80), (0.80, 0.82))),
}
CATEGORY_CODES = ("06010", "06042", "06028", "09005", "09009", "06013")
SUFFIXES = ("enforcement", "office", "police", "enforcement", "police", "office")


def build_demo_evaluation(*, stdout: TextIO | None = None, today: datetime.date | None = None) -> int:
    """Write the two months (the two before the current one) and count them; returns cases written."""
    if Case.objects.filter(extra__demo_evaluation=True).exists() or not Area.objects.filter(code="150300").exists():
        return 0
    today = today or timezone.localdate()
    months = [counting.previous_month(counting.previous_month(counting.month_start(today))),
              counting.previous_month(counting.month_start(today))]
    rng = random.Random(2026)
    categories = {c.code: c for c in Category.objects.filter(version__is_active=True, code__in=CATEGORY_CODES)}
    departments = {d.code: d for d in Department.objects.all()}
    reporters = {u.username: u for u in User.objects.filter(username__in=["resident", "fh-gridworker"])}
    written = 0
    with transaction.atomic():
        for s, (street_name, (prefix, volumes, quality)) in enumerate(STREETS.items()):
            street = Area.objects.filter(name=street_name).first()
            if street is None:
                continue
            grids = list(Area.objects.filter(path__startswith=street.path, level__slug="grid").order_by("path"))
            if not grids:
                continue
            for m, month in enumerate(months):
                on_time, satisfied = quality[m]
                for i in range(volumes[m]):
                    k = i % len(CATEGORY_CODES)
                    department = departments.get(f"{prefix}-{SUFFIXES[k]}")
                    _write_case(rng, month, i, 7 + s, grids[i % len(grids)], categories.get(CATEGORY_CODES[k]), department,
                                reporters.get("resident") if i % 3 == 0 else reporters.get("fh-gridworker"),
                                on_time=rng.random() < on_time, satisfied=rng.random() < satisfied)
                    written += 1
        # Return visits: a few answered, a few waiting for a caller (and online for the demo resident).
        closed = list(Case.objects.filter(extra__demo_evaluation=True, status="closed").order_by("pk"))
        for n, case in enumerate(closed[::5]):
            visit = ReturnVisit.objects.create(case=case, month=counting.month_start(timezone.localdate(case.closed_at)),
                                               stratum="demo", channel="online" if case.reporter_id and n % 2
                                               else "phone")
            if n % 3 != 2:
                services.answer_visit(visit, resolved=n % 4 != 1, satisfaction="satisfied" if n % 4 != 1
                                      else "unsatisfied", via="phone")
    for month in months:
        services.recount_month(month)
    services.count_missing()  # the other months with demo cases (this one): no 尚未统计 in a fresh demo
    if stdout is not None:
        stdout.write(f"考核评价 / Evaluation: {written} cases over {months[0]:%Y-%m} and {months[1]:%Y-%m}\n")
    return written


def _write_case(rng: random.Random, month: datetime.date, i: int, series: int, grid: Area, category, department, reporter, *,
                on_time: bool, satisfied: bool) -> Case:
    tz = counting.local_zone()
    day = 1 + (i * 7) % 27
    created = datetime.datetime(month.year, month.month, day, 8 + i % 9, (i * 13) % 60, tzinfo=tz)
    hour = datetime.timedelta(hours=1)
    returned = i % 9 == 4
    reworked = i % 11 == 6
    filed, dispatched = created + hour * 0.5, created + hour
    handled = dispatched + hour * (20 if on_time else 140)
    closed = handled + hour * 3
    rating = "satisfied" if satisfied else rng.choice(("basic", "unsatisfied"))
    prefix = (grid.code or "000000")[:6]
    case = Case.objects.create(
        number=f"{prefix}-{created:%Y%m%d}-{series}{i:03d}", title=(category.name if category else "环境问题"),
        description=f"{grid.name}：{category.name if category else '环境问题'}（演示历史）", category=category,
        source="hotline" if i % 4 == 0 else ("resident" if i % 3 == 0 else "patrol"), status="closed",
        lon=grid.label_lon, lat=grid.label_lat, address=grid.name, area=grid, area_path=grid.path,
        reporter=reporter, department=department, created_at=created, filed_at=filed, dispatched_at=dispatched,
        handled_at=handled, closed_at=closed, rework_count=int(reworked), return_count=int(returned),
        rating=rating, rated_at=closed + hour * 2, extra={"demo": True, "demo_evaluation": True})
    steps = [("report", "", "reported", created), ("file", "reported", "filed", filed)]
    if returned:
        steps += [("dispatch", "filed", "dispatched", dispatched - hour * 0.5),
                  ("return", "dispatched", "returned", dispatched - hour * 0.3),
                  ("dispatch", "returned", "dispatched", dispatched)]
    else:
        steps.append(("dispatch", "filed", "dispatched", dispatched))
    steps.append(("accept", "dispatched", "in_progress", dispatched + hour))
    if not on_time:
        steps.append(("overdue", "in_progress", "in_progress", dispatched + hour * 40))
    if reworked:
        steps += [("handle", "in_progress", "handled", handled - hour * 10),
                  ("verify", "handled", "in_progress", handled - hour * 8)]
    steps += [("handle", "in_progress", "handled", handled), ("verify", "handled", "closed", closed),
              ("rate", "closed", "closed", closed + hour * 2)]
    now = timezone.now()
    CaseEvent.objects.bulk_create([
        CaseEvent(case=case, at=at, action=action, from_status=frm, to_status=to, actor_name="演示",
                  department=department if action not in ("report", "file") else None,
                  data={"passed": to == "closed"} if action == "verify" else {}, notified_at=now)
        for action, frm, to, at in steps])
    return case
