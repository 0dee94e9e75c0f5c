"""``export_areas FILE [--under CODE] [--format geojson|xlsx]``: write areas to GeoJSON or xlsx.

Exports the whole tree, or the subtree of the area with code ``--under``, parents before children,
in the format that ``import_areas`` reads back.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gongzhi.areas import io as area_io
from gongzhi.areas.models import Area


class Command(BaseCommand):
    help = "把区划导出为 GeoJSON 或 xlsx 文件（可用 --under 只导出某个区域及其下级）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="output file (.geojson, .json or .xlsx)")
        parser.add_argument("--under", metavar="CODE", help="only this area and everything under it")
        parser.add_argument("--format", choices=area_io.FORMATS, help="file format (default: from the extension)")

    def handle(self, *args, file: str, under: str | None = None, format: str | None = None, **options) -> None:
        fmt = format or area_io.guess_format(file)
        if fmt is None:
            raise CommandError(_("无法从文件名判断格式，请使用 .geojson、.json 或 .xlsx 扩展名，或加 --format"))
        qs = Area.objects.all()
        if under:
            root = Area.objects.filter(code=under).first()
            if root is None:
                raise CommandError(_("找不到编码为 %(code)s 的区域") % {"code": under})
            qs = qs.under(root)
        if fmt == "xlsx":
            data = area_io.to_xlsx_bytes(qs, warn=lambda message: self.stderr.write(message))
        else:
            data = area_io.to_geojson_bytes(qs)
        try:
            Path(file).write_bytes(data)
        except OSError as exc:
            raise CommandError(_("无法写入 %(file)s：%(error)s") % {"file": file, "error": exc}) from None
        if int(options.get("verbosity", 1)) >= 1:
            self.stdout.write(_("已导出 %(n)d 个区域到 %(file)s") % {"n": qs.count(), "file": file})
