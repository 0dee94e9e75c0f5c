"""``import_areas FILE [--format geojson|xlsx] [--commit]``: load areas from GeoJSON or xlsx.

A dry run unless ``--commit`` (ARCHITECTURE pattern 6): every row is checked and the command says
what it would create and update. With ``--commit`` and no bad row, everything is written in one
transaction as the system actor, leaving audit rows. Any bad row: nothing is written, every bad
row is listed and the command exits with status 1.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from gongzhi.areas import io as area_io

#: How many changes a dry run lists at the default verbosity.
SHOWN_CHANGES = 20


class Command(BaseCommand):
    help = "从 GeoJSON 或 xlsx 文件导入区划（默认试运行，加 --commit 才写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON (.geojson/.json) or xlsx file")
        parser.add_argument("--format", choices=area_io.FORMATS, help="file format (default: from the extension)")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")

    def handle(self, *args, file: str, format: str | None = None, commit: bool = False, **options) -> None:
        verbosity = int(options.get("verbosity", 1))
        try:
            rows = area_io.read_file(file, fmt=format)
        except area_io.ImportFileError as exc:
            raise CommandError(_("无法导入 %(file)s：%(error)s") % {"file": file, "error": exc}) from None

        bars: dict[str, tqdm] = {}
        stderr = getattr(self.stderr, "_out", sys.stderr)  # tqdm needs the raw stream (no added newlines)
        labels = {"check": _("校验"), "write": _("写入")}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit=_("行"), file=stderr,
                                         disable=verbosity == 0, leave=True, mininterval=0.2)
            bar.update(done - bar.n)

        try:
            report = area_io.import_areas(rows, actor=None, commit=commit, progress=progress)
        finally:
            for bar in bars.values():
                bar.close()

        if not report.ok:
            raise CommandError("\n".join([report.summary(), *report.error_lines()]))
        if verbosity >= 1:
            shown = report.changes if verbosity >= 2 else report.changes[:SHOWN_CHANGES]
            for number, _action, text in shown:
                self.stdout.write(_("第 %(row)d 行: %(text)s") % {"row": number, "text": text})
            if len(shown) < len(report.changes):
                self.stdout.write(_("……另有 %(n)d 项（加 -v 2 查看全部）") % {"n": len(report.changes) - len(shown)})
        self.stdout.write(report.summary())
        if not report.committed and (report.created or report.updated):
            self.stdout.write(_("确认无误后加 --commit 写入。"))
