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
