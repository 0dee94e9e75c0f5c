"""``gongzhi audit_export [--since D] [--until D] [--format jsonl|csv] [--output FILE]``.

``--since`` is inclusive; ``--until`` is exclusive for a date-time and covers the whole day for a
date (``--until 2025-06-30`` includes 30 June). Dates are in TIME_ZONE. Writes to stdout unless
``--output``. The export itself is recorded in the audit log (action ``audit.export``).
"""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.models import AuditLog


def parse_moment(value: str, *, end: bool) -> datetime.datetime:
    """A date or date-time in TIME_ZONE; a date as ``--until`` means the end of that day."""
    value = value.strip()
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise ValueError(value)
            moment = datetime.datetime.combine(day + datetime.timedelta(days=1 if end else 0), datetime.time())
    except ValueError:
        raise CommandError(_("无法识别的时间“%(value)s”，请用 2025-01-31 或 2025-01-31T08:00 的格式。")
                           % {"value": value}) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "导出审计日志（JSON Lines 或 CSV） / Export the audit log as JSON lines or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="from this date or date-time (inclusive)")
        parser.add_argument("--until", help="up to this date (whole day) or date-time (exclusive)")
        parser.add_argument("--format", choices=audit.EXPORT_FORMATS, default="jsonl")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, since=None, until=None, format="jsonl", output=None, **options):
        rows = AuditLog.objects.all()
        params = {}
        if since:
            params["since"] = parse_moment(since, end=False)
            rows = rows.filter(at__gte=params["since"])
        if until:
            params["until"] = parse_moment(until, end=True)
            rows = rows.filter(at__lt=params["until"])
        if "since" in params and "until" in params and params["since"] >= params["until"]:
            raise CommandError(_("开始时间必须早于结束时间。"))
        try:
            out = open(output, "w", encoding="utf-8", newline="") if output else self.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(_("无法写入 %(file)s：%(error)s") % {"file": output, "error": exc}) from None
        try:
            count = audit.export(rows, out, format)
        finally:
            if output:
                out.close()
        with transaction.atomic():
            audit.record(None, "audit.export", object_type=AuditLog._meta.label_lower,
                         after={"format": format, "rows": count, **{k: v.isoformat() for k, v in params.items()}},
                         note="audit_export")
        if output:
            self.stderr.write(_("已导出 %(n)s 条记录到 %(file)s。") % {"n": count, "file": output})
