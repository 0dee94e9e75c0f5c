"""``gongzhi recount_indicators``: rewrite the indicators' monthly facts from the cases.

    gongzhi recount_indicators                 # the recent months (EvaluationSettings.recount_months)
    gongzhi recount_indicators --months 12     # the last 12 months
    gongzhi recount_indicators --month 2026-10 # one month
    gongzhi recount_indicators --all           # every month that has cases

The facts are derived data (rewritten, never edited), so this needs no dry run.
"""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from gongzhi.evaluation import services


class Command(BaseCommand):
    help = "Re-count the indicators' monthly facts from the cases."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--months", type=int, help="the last N months")
        group.add_argument("--month", help="one month, YYYY-MM")
        group.add_argument("--all", action="store_true", help="every month with cases")
        parser.add_argument("--sample", action="store_true", help="also top up the return-visit samples")

    def handle(self, *args, months=None, month=None, all=False, sample=False, **options) -> None:
        if month:
            try:
                year, mon = (int(x) for x in month.split("-"))
                targets = [datetime.date(year, mon, 1)]
            except ValueError:
                raise CommandError("--month: YYYY-MM / 月份格式应为 YYYY-MM") from None
        elif all:
            targets = services.months_with_cases()
        else:
            if months is not None and not 1 <= months <= 240:
                raise CommandError("--months: 1–240")
            targets = list(reversed(services.recent_months(months or services.EvaluationSettings.load().recount_months)))
        if sample:
            drawn = sum(len(services.draw_sample(m)) for m in targets)
            self.stdout.write(f"回访抽样 / return visits drawn: {drawn}")
        for target in targets:
            log = services.recount_month(target)
            self.stdout.write(f"{target:%Y-%m}: {log.cases} cases, {log.rows} rows, {log.seconds:.2f} s")
