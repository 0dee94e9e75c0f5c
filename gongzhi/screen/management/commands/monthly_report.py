"""Write the monthly reports (月报) as files, e.g. from cron on the 2nd of each month:

    gongzhi monthly_report --out /srv/gongzhi/reports                  # last month, the city
    gongzhi monthly_report --month 2026-11 --streets --city --out DIR  # every street and the city
    gongzhi monthly_report --month 2026-11 --area 150302001 --format pdf --out DIR

Files are named ``monthly-<area code>-<YYYY-MM>.<xlsx|pdf>``; an existing file is replaced. The
command reads the cases; a month of the indicators (or the month before, for the ranking's change)
that was never counted is counted first, here, synchronously (a command is not a page: the pages
show 尚未统计 and leave the counting to the worker).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.screen import report, sources


class Command(BaseCommand):
    help = "Write the monthly reports (xlsx and PDF) of the city, its streets or given areas."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--area", action="append", default=[], metavar="CODE", help="an area's code (repeatable)")
        parser.add_argument("--streets", action="store_true", help="every street (area level 'street')")
        parser.add_argument("--city", action="store_true", help="the top of the area tree (default without --area "
                                                                 "or --streets)")
        parser.add_argument("--format", default="xlsx,pdf", help="xlsx, pdf or both (default xlsx,pdf)")
        parser.add_argument("--out", required=True, help="the folder to write to (created if missing)")

    def handle(self, *args, **options):
        try:
            month = (report.parse_month(options["month"]) if options["month"]
                     else sources.previous_month(timezone.localdate()))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        formats = [f.strip() for f in options["format"].split(",") if f.strip()]
        if not formats or any(f not in ("xlsx", "pdf") for f in formats):
            raise CommandError("--format: xlsx, pdf or xlsx,pdf")
        areas: list[Area] = []
        for code in options["area"]:
            area = Area.objects.select_related("level").filter(code=code).first()
            if area is None:
                raise CommandError(f"no area with code {code!r}")
            areas.append(area)
        if options["streets"]:
            areas += list(Area.objects.filter(level__slug="street").select_related("level").order_by("path"))
        if options["city"] or not areas:
            areas = list(Area.objects.filter(parent__isnull=True).select_related("level").order_by("path")) + areas
        from gongzhi.evaluation.services import ensure_counted

        for log in ensure_counted(report.months_needed(month)):
            self.stdout.write(f"counted {log.month:%Y-%m}: {log.cases} cases")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        seen: set[int] = set()
        for area in areas:
            if area.pk in seen:
                continue
            seen.add(area.pk)
            built = report.build(month, area)
            for fmt in formats:
                path = out / built.filename(fmt)
                path.write_bytes(report.to_pdf(built) if fmt == "pdf" else report.to_xlsx(built))
                self.stdout.write(f"{path}")
        self.stdout.write(self.style.SUCCESS(f"{len(seen)} area(s), {month:%Y-%m}"))
