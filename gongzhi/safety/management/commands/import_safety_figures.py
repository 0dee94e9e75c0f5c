"""``import_safety_figures FILE.xlsx --user USERNAME [--commit]``: a month's safety figures per police area.

A dry run unless ``--commit`` (MapIt style). Every row is checked with the rights of ``--user`` (the
police areas they may enter); any bad row: nothing is written, every bad row is listed, exit status 1.
Columns: docs/safety.md.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.orgs.models import User
from gongzhi.safety import io


class Command(BaseCommand):
    help = "导入平安等级月度数据 xlsx（默认试运行，加 --commit 才写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx: 辖区编码, 月份, 刑事案件, 治安案件, 两抢一盗, 诈骗案件, 满意率")
        parser.add_argument("--user", required=True, help="the account the figures are entered as (its rights apply)")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")

    def handle(self, *args, file: str, user: str, commit: bool = False, **options) -> None:
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(_("找不到用户 %(name)s") % {"name": user})
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(_("无法读取文件 %(path)s：%(error)s") % {"path": file, "error": exc}) from None
        try:
            report = io.import_figures(data, actor=actor, commit=commit)
        except io.FiguresFileError as exc:
            raise CommandError(str(exc)) from None
        if not report.ok:
            raise CommandError("\n".join([report.summary(), *report.error_lines()]))
        self.stdout.write(report.summary())
        if not report.committed:
            self.stdout.write(_("确认无误后加 --commit 写入。"))
