"""What every xlsx/CSV import shares (areas, the category directory, 12345 requests, premises, safety
figures): one bad row is reported with its sheet, row, column and reason, and a file with any bad row
writes nothing. Each import's report subclasses ``ImportReport`` with its own counts and summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _


class RowError(NamedTuple):
    """One bad row of an imported file: row number, column and reason, and the sheet (xlsx only)."""

    row: int
    field: str
    message: str
    sheet: str = ""

    def __str__(self) -> str:
        values = {"sheet": self.sheet, "row": self.row, "field": self.field, "message": self.message}
        if self.sheet:
            return _("工作表 %(sheet)s 第 %(row)d 行: %(field)s: %(message)s") % values
        return _("第 %(row)d 行: %(field)s: %(message)s") % values


@dataclass
class ImportReport:
    """What an import did, or would do on a dry run (``committed`` False)."""

    total: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    def error_lines(self) -> list[str]:
        return [str(e) for e in sorted(self.errors, key=lambda e: (e.sheet, e.row))]

    def refused(self) -> str:
        """The summary of a file with bad rows: nothing was written."""
        return _("共 %(total)d 行，其中 %(bad)d 行有错误，未写入任何数据。") % {
            "total": self.total, "bad": len({(e.sheet, e.row) for e in self.errors})}


# ---------------------------------------------------------------------------------------------
# Reading a table: the first (or a named) sheet of an xlsx workbook, or a CSV file.
# ---------------------------------------------------------------------------------------------


class TableFileError(ValueError):
    """The file cannot be read as a table at all (not xlsx or CSV, empty, too large, damaged); the
    message is for the user."""


def _xlsx_rows(data: bytes, sheet_name: str | None) -> tuple[str, list[tuple]]:
    import io

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zoo of errors (zip, XML, KeyError…) for files it can't read
        raise TableFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        if not workbook.worksheets:
            raise TableFileError(_("工作簿中没有工作表"))
        sheet = workbook[sheet_name] if sheet_name in workbook.sheetnames else workbook.worksheets[0]
        try:
            return sheet.title, [tuple(row) for row in sheet.iter_rows(values_only=True)]
        except Exception:  # a damaged sheet inside a valid zip
            raise TableFileError(_("文件不是有效的 xlsx 工作簿")) from None
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> list[tuple]:
    import csv
    import io

    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK unless told otherwise
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableFileError(_("无法识别 CSV 文件的编码，请另存为 UTF-8 编码"))
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return [tuple(row) for row in csv.reader(io.StringIO(text.replace("\x00", "")), delimiter=delimiter)]
    except csv.Error:
        raise TableFileError(_("文件不是有效的 CSV 文件")) from None


def read_table(file, filename: str = "", *, max_bytes: int, sheet_name: str | None = None) -> tuple[str, list[tuple]]:
    """``(sheet title, rows)`` of an xlsx workbook (the sheet ``sheet_name`` when it has one, else the
    first) or of a CSV file (UTF-8 or GB18030, comma or tab; the title is ""). ``file`` is bytes, a path
    or an uploaded file. Raises ``TableFileError``."""
    from pathlib import Path

    if isinstance(file, str | Path):
        try:
            data = Path(file).read_bytes()
        except OSError:
            raise TableFileError(_("无法读取文件：%(path)s") % {"path": file}) from None
        filename = filename or str(file)
    elif isinstance(file, bytes):
        data = file
    else:
        size = getattr(file, "size", None)
        if size is not None and size > max_bytes:
            raise TableFileError(_("文件不能超过 %(mb)d MB") % {"mb": max_bytes // (1024 * 1024)})
        data = file.read(max_bytes + 1)
        filename = filename or str(getattr(file, "name", "") or "")
    if len(data) > max_bytes:
        raise TableFileError(_("文件不能超过 %(mb)d MB") % {"mb": max_bytes // (1024 * 1024)})
    if not data.strip():
        raise TableFileError(_("文件是空的"))
    suffix = Path(filename).suffix.lower()
    zipped = data[:4] == b"PK\x03\x04"
    if zipped and suffix in ("", ".xlsx"):
        return _xlsx_rows(data, sheet_name)
    if suffix == ".xlsx":
        raise TableFileError(_("文件不是有效的 xlsx 工作簿"))
    if suffix in ("", ".csv", ".txt") and b"\x00" not in data[:4096] and not zipped:
        return "", _csv_rows(data)
    if suffix == ".xls":
        raise TableFileError(_("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx"))
    raise TableFileError(_("请上传 .xlsx 或 .csv 文件"))
