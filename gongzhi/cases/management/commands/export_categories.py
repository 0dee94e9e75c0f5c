"""``export_categories FILE.xlsx [--version NAME]``: categories, time limits and routing rules as xlsx.

Exports the active version unless ``--version`` names another; ``import_categories`` reads the
same workbook back.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.cases import catalog_io
from gongzhi.cases.models import DirectoryVersion


class Command(BaseCommand):
    help = "把分类目录（分类、处置时限、派遣规则）导出为 xlsx"

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Our --version names a directory version; it replaces Django's --version (the program's).
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx file to write")
        parser.add_argument("--version", "--directory-version", dest="version", default=None,
                            help="directory version name (default: the active one)")

    def handle(self, *args, file: str, version: str | None = None, **options) -> None:
        chosen = None
        if version:
            chosen = DirectoryVersion.objects.filter(name=version).first()
            if chosen is None:
                raise CommandError(_("没有名为“%(name)s”的目录版本") % {"name": version})
        try:
            data = catalog_io.export_workbook(chosen)
        except catalog_io.CatalogFileError as exc:
            raise CommandError(str(exc)) from None
        try:
            Path(file).write_bytes(data)
        except OSError as exc:
            raise CommandError(_("无法写入 %(file)s：%(error)s") % {"file": file, "error": exc}) from None
        self.stdout.write(_("已导出到 %(file)s") % {"file": file})
