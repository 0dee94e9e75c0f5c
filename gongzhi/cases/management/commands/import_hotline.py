"""``import_hotline FILE.xlsx [--commit] [--reporter USERNAME]``: 12345 work orders become cases.

A dry run unless ``--commit``: every row is checked with intake's own validation and the command
says how many cases it would create. Rows imported before (same 工单编号, same reporter) are
skipped. Any bad row: nothing is written, every bad row is listed, exit status 1.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.cases import hotline_io
from gongzhi.orgs.models import User

from ._progress import progress_bars

SHOWN = 20


class Command(BaseCommand):
    help = "导入 12345 热线工单 xlsx 为案件（默认试运行，加 --commit 才写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx: 工单编号, 标题, 内容, 分类编码, 地址, 经度, 纬度, 来电人, 来电号码, 紧急, 来电时间")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")
        parser.add_argument("--reporter", default=None,
                            help=f"username the cases are filed under (default: {hotline_io.SYSTEM_USERNAME})")

    def handle(self, *args, file: str, commit: bool = False, reporter: str | None = None, **options) -> None:
        verbosity = int(options.get("verbosity", 1))
        user = None
        if reporter:
            user = User.objects.filter(username=reporter).first()
            if user is None:
                raise CommandError(_("找不到用户 %(name)s") % {"name": reporter})
        try:
            rows = hotline_io.read_hotline_xlsx(file)
        except hotline_io.HotlineFileError as exc:
            raise CommandError(_("无法导入 %(file)s：%(error)s") % {"file": file, "error": exc}) from None
        with progress_bars(self, verbosity) as progress:
            report = hotline_io.import_hotline(rows, reporter=user, commit=commit, progress=progress)
        if not report.ok:
            raise CommandError("\n".join([report.summary(), *report.error_lines()]))
        if verbosity >= 1 and report.numbers:
            shown = report.numbers if verbosity >= 2 else report.numbers[:SHOWN]
            for number, case_number in shown:
                self.stdout.write(_("第 %(row)d 行: 案件 %(number)s") % {"row": number, "number": case_number})
            if len(shown) < len(report.numbers):
                self.stdout.write(_("……另有 %(n)d 件（加 -v 2 查看全部）") % {"n": len(report.numbers) - len(shown)})
        self.stdout.write(report.summary())
        if not report.committed and report.created:
            self.stdout.write(_("确认无误后加 --commit 写入。"))
