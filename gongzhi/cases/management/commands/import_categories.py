"""``import_categories FILE.xlsx [--commit]``: update the active directory from an xlsx workbook.

Sheets ``categories``, ``time_limits`` and ``routing`` (see ``gongzhi.cases.catalog_io``). A dry
run unless ``--commit``: every row is checked and the command says what it would change. Any bad
row: nothing is written, every bad row is listed with its sheet and row number, exit status 1.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.cases import catalog_io

from ._progress import progress_bars

SHOWN_CHANGES = 20


class Command(BaseCommand):
    help = "从 xlsx 导入分类、处置时限和派遣规则到当前目录版本（默认试运行，加 --commit 才写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx with sheets categories, time_limits, routing")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")

    def handle(self, *args, file: str, commit: bool = False, **options) -> None:
        verbosity = int(options.get("verbosity", 1))
        try:
            sheets = catalog_io.read_workbook(file)
            with progress_bars(self, verbosity) as progress:
                report = catalog_io.import_catalog(sheets, actor=None, commit=commit, progress=progress)
        except catalog_io.CatalogFileError as exc:
            raise CommandError(_("无法导入 %(file)s：%(error)s") % {"file": file, "error": exc}) from None
        if not report.ok:
            raise CommandError("\n".join([report.summary(), *report.error_lines()]))
        if verbosity >= 1:
            shown = report.changes if verbosity >= 2 else report.changes[:SHOWN_CHANGES]
            for sheet, number, text in shown:
                self.stdout.write(_("工作表 %(sheet)s 第 %(row)d 行: %(text)s") % {"sheet": sheet, "row": number,
                                                                            "text": text})
            if len(shown) < len(report.changes):
                self.stdout.write(_("……另有 %(n)d 项（加 -v 2 查看全部）") % {"n": len(report.changes) - len(shown)})
        self.stdout.write(report.summary())
        if not report.committed and report.changes:
            self.stdout.write(_("确认无误后加 --commit 写入。"))
