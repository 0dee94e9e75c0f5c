"""``gongzhi inspections_build_plans``: build the week's target lists of every active inspection plan.

    gongzhi inspections_build_plans                     # this ISO week (days already built are rebuilt)
    gongzhi inspections_build_plans --date 2027-03-10   # the ISO week holding that date
    gongzhi inspections_build_plans --next              # next week
    gongzhi inspections_build_plans --plan 3 --plan 7   # only these plans

Targets already visited are kept; the others are chosen again by the plan's rules
(``inspections/plans.py``). The lists are derived data, so there is no dry run. The week page
(/inspections/) also builds a day the first time a team member opens it.
"""

from __future__ import annotations

import datetime
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.inspections import plans
from gongzhi.inspections.models import Plan


class Command(BaseCommand):
    help = "Build the week's target lists of the active inspection plans."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--date", help="a day of the week to build, YYYY-MM-DD (default: today)")
        group.add_argument("--next", action="store_true", help="next week")
        parser.add_argument("--plan", type=int, action="append", default=[], help="only this plan (repeatable)")

    def handle(self, *args, date=None, next=False, plan=(), **options) -> None:
        if date:
            try:
                day = datetime.date.fromisoformat(date)
            except ValueError:
                raise CommandError("--date: YYYY-MM-DD / 日期格式应为 YYYY-MM-DD") from None
        else:
            day = timezone.localdate() + datetime.timedelta(days=7 if next else 0)
        chosen = Plan.objects.filter(is_active=True, team__is_active=True)
        if plan:
            chosen = chosen.filter(pk__in=plan)
            missing = set(plan) - set(chosen.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"没有这些启用的计划 / no such active plans: {sorted(missing)}")
        monday = plans.week_start(day)
        started = time.perf_counter()
        try:
            days = plans.build_week(monday, chosen)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        for built in days:
            self.stdout.write(f"{built.date} {built.plan}: {built.targets.count()} 个场所 / premises")
        self.stdout.write(f"{monday:%G-W%V}: {len(days)} 个检查日 / plan days, "
                          f"{time.perf_counter() - started:.2f} s")
