"""Monthly figures from an xlsx (one row per jurisdiction and month), ``areas.io``/``cases.hotline_io`` style.

Columns (header row): 辖区编码, 月份, 刑事案件, 治安案件, 两抢一盗, 诈骗案件, 满意率 (English names
accepted: code, month, criminal, public_order, robbery_theft, fraud, satisfaction), and optionally
受访人数 and 满意人数 (surveyed, satisfied) for a row whose 满意率 is left empty. Every row is
checked first (the jurisdiction exists and the user may enter it, the month is valid and not yet
published, the figures are numbers); nothing is written unless every row is good and ``commit`` is
set, and then everything is written in one transaction through ``services.record_figures``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.imports import ImportReport, RowError

from . import grading, rules, services
from .models import Grade, GradingScheme, PoliceArea

COLUMNS = {"辖区编码": "code", "月份": "month", "刑事案件": "criminal", "治安案件": "public_order",
           "两抢一盗": "robbery_theft", "诈骗案件": "fraud", "满意率": "satisfaction"}
#: optional: a survey's counts instead of the percentage (满意率 left empty)
SURVEY_COLUMNS = {"受访人数": "surveyed", "满意人数": "satisfied"}
HEADERS = {value: key for key, value in {**COLUMNS, **SURVEY_COLUMNS}.items()}
MAX_ROWS = 5000


class FiguresFileError(Exception):
    """The file can't be read as monthly figures; the message is for the user."""


@dataclass
class FiguresRow:
    number: int
    police_area: PoliceArea | None = None
    month: Any = None
    values: dict = field(default_factory=dict)


@dataclass
class FiguresReport(ImportReport):
    created: int = 0
    updated: int = 0

    def summary(self) -> str:
        c = {"total": self.total, "created": self.created, "updated": self.updated,
             "bad": len({e.row for e in self.errors})}
        if self.errors:
            return self.refused()
        if self.committed:
            return _("已导入：共 %(total)d 行，新增 %(created)d 条，更新 %(updated)d 条。") % c
        return _("试运行：共 %(total)d 行，将新增 %(created)d 条，更新 %(updated)d 条；未写入任何数据。") % c


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for files it can't read
        raise FiguresFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        if not workbook.worksheets:
            raise FiguresFileError(_("工作簿中没有工作表"))
        cells = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(cells, None) or ()
        positions: dict[str, int] = {}
        for i, value in enumerate(header):
            name = _text(value)
            name = COLUMNS.get(name) or SURVEY_COLUMNS.get(name) or (name if name in HEADERS else "")
            if name and name not in positions:
                positions[name] = i
        missing = [HEADERS[c] for c in COLUMNS.values() if c not in positions]
        if missing:
            raise FiguresFileError(_("第 1 行应为表头，缺少列：%(missing)s（列为 %(columns)s）") % {
                "missing": "、".join(missing), "columns": "、".join(COLUMNS)})
        rows = []
        for number, values in enumerate(cells, start=2):
            if not values or all(_text(v) == "" for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise FiguresFileError(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
            rows.append((number, {c: values[i] if i < len(values) else None for c, i in positions.items()}))
        return rows
    finally:
        workbook.close()


def _check(number: int, given: dict, actor, areas: dict[str, PoliceArea], seen: set, errors: list,
           scheme) -> FiguresRow:
    row = FiguresRow(number)
    code = _text(given.get("code"))
    police_area = areas.get(code)
    if not code:
        errors.append(RowError(number, "辖区编码", _("不能为空")))
    elif police_area is None or not rules.can_enter(actor, police_area):
        errors.append(RowError(number, "辖区编码", _("找不到辖区 %(code)s，或您无权填报") % {"code": code}))
        police_area = None
    row.police_area = police_area
    try:
        row.month = services.parse_month(given.get("month"))
        if row.month > timezone.localdate().replace(day=1):
            errors.append(RowError(number, "月份", _("不能填报未来月份")))
    except ValidationError as exc:
        errors.append(RowError(number, "月份", exc.messages[0]))
    row.values = {k: _text(given.get(k)) for k in ("criminal", "public_order", "robbery_theft", "fraud",
                                                    "satisfaction", "surveyed", "satisfied")}
    try:
        figures = services.clean_figures(row.values, police_area.population if police_area else 0)
        if police_area is not None and scheme is not None:
            grading.grade(figures, scheme.rules)  # e.g. a rate per 10,000 needs the population
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                errors.append(RowError(number, HEADERS.get(name, name), messages[0]))
        else:
            errors.append(RowError(number, "辖区编码", exc.messages[0]))
    if police_area is not None and row.month is not None:
        key = (police_area.pk, row.month)
        if key in seen:
            errors.append(RowError(number, "辖区编码", _("同一辖区同一月份在文件中出现了两次")))
        seen.add(key)
    return row


def import_figures(data: bytes | IO[bytes], *, actor, commit: bool = False) -> FiguresReport:
    """Check every row; with ``commit`` and no bad row, write them all in one transaction."""
    raw = data if isinstance(data, bytes) else data.read()
    rows = read_rows(raw)
    report = FiguresReport(total=len(rows))
    codes = {_text(given.get("code")) for _n, given in rows}
    areas = {pa.code: pa for pa in PoliceArea.objects.filter(code__in=codes, is_active=True)}
    checked: list[FiguresRow] = []
    seen: set = set()
    scheme = GradingScheme.objects.filter(is_active=True).first()
    if scheme is None:
        report.errors.append(RowError(1, "—", _("尚未启用等级评定方案，请管理员先启用一个方案")))
    for number, given in rows:
        checked.append(_check(number, given, actor, areas, seen, report.errors, scheme))
    existing = {(g.police_area_id, g.month): g for g in Grade.objects.filter(
        police_area__in=list(areas.values()), month__in={r.month for r in checked if r.month})}
    for row in checked:
        if row.police_area is None or row.month is None:
            continue
        grade = existing.get((row.police_area.pk, row.month))
        if grade is not None and grade.is_published:
            report.errors.append(RowError(row.number, "月份", _("%(month)s 的平安等级已发布，不能修改") % {
                "month": f"{row.month:%Y-%m}"}))
        elif grade is not None:
            report.updated += 1
        else:
            report.created += 1
    if report.errors or not commit:
        return report
    with transaction.atomic():
        for row in checked:
            services.record_figures(row.police_area, row.month, actor=actor, values=row.values, source="import")
    report.committed = True
    return report


def template_bytes() -> bytes:
    """An empty workbook with the header row, for people to fill in."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "平安等级"
    sheet.append(list(COLUMNS))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
