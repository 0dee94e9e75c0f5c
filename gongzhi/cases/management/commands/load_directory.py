"""``load_directory FILE --name NAME [--source TEXT] [--activate] [--commit]``: load a category directory.

A dry run unless ``--commit`` (ARCHITECTURE pattern 6): the file is read and every row checked,
the version is loaded inside a transaction that is rolled back, and the command prints what it
would load and what ``check_version`` finds (with ``--activate``: what activation would carry over).
Any bad row: nothing is written, every bad row is listed, exit status 1.
"""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.cases import directory
from gongzhi.cases.models import Category

from ._progress import progress_bars


class _DryRun(Exception):
    """Raised to roll the dry run's transaction back."""


class Command(BaseCommand):
    help = "从 CSV 文件载入分类目录的新版本（默认试运行，加 --commit 才写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV: matter_kind, major_code, major_name, minor_code, code5, name")
        parser.add_argument("--name", required=True, help="version name, e.g. 'GB/T 47678.5-2026 (2027 修订)'")
        parser.add_argument("--source", default="", help="where the file comes from")
        parser.add_argument("--activate", action="store_true", help="activate the new version after loading")
        parser.add_argument("--commit", action="store_true", help="write to the database (default: dry run)")

    def handle(self, *args, file: str, name: str, source: str = "", activate: bool = False, commit: bool = False,
               **options) -> None:
        verbosity = int(options.get("verbosity", 1))
        try:
            rows = directory.read_directory_csv(file)
        except directory.DirectoryError as exc:
            raise CommandError("\n".join(exc.lines())) from None
        kinds = Counter(r.kind for r in rows)
        self.stdout.write(_("%(file)s：%(n)d 个分类（管理部件 %(c)d，管理事项 %(m)d，本地分类 %(l)d）") % {
            "file": file, "n": len(rows), "c": kinds[Category.Kind.COMPONENT], "m": kinds[Category.Kind.MATTER],
            "l": kinds[Category.Kind.LOCAL]})
        try:
            with transaction.atomic():
                with progress_bars(self, verbosity) as progress:
                    version = directory.load_directory_csv(file, name=name, source=source or file,
                                                           progress=progress)
                problems = directory.check_version(version)
                for problem in problems:
                    self.stdout.write(problem)
                if not problems:
                    self.stdout.write(_("检查通过。"))
                if activate:
                    result = directory.activate_version(version, actor=None)
                    self.stdout.write(result.summary())
                if not commit:
                    raise _DryRun
        except _DryRun:
            self.stdout.write(_("试运行：将载入目录版本“%(name)s”%(activate)s；未写入任何数据。确认无误后加 --commit 写入。") % {
                "name": name, "activate": _("并启用") if activate else ""})
            return
        except directory.DirectoryError as exc:
            raise CommandError("\n".join(exc.lines())) from None
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        self.stdout.write(_("已载入目录版本“%(name)s”（%(n)d 个分类）%(state)s。") % {
            "name": name, "n": len(rows), "state": _("并已启用") if activate else _("，尚未启用（activate_directory）")})
