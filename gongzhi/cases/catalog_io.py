"""xlsx import and export of the active directory's categories, time limits and routing rules.

One workbook, three sheets (``SHEETS``): ``categories`` (one row per category), ``time_limits``
(code, step, area class, urgent, amount, unit) and ``routing`` (code, area code, department code,
priority). Export writes the ACTIVE version (or a named one); import changes the active version.

Import is two-phase, like ``gongzhi.areas.io``: every row of every sheet is checked first (against
the database and the earlier rows of the file); only when no row is bad and ``commit`` is set is
anything written, in one transaction, each change leaving an audit row.

- ``categories``: a code not in the version creates a category (kind defaults to 本地分类); an
  existing code is updated in the columns the sheet has (an absent column leaves the field alone);
  the kind of an existing category can't be changed.
- ``time_limits`` / ``routing``: for every category code that appears in the sheet, the sheet's rows
  become that category's complete set (rows not listed are removed); categories that do not appear
  keep theirs. An absent sheet changes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.core import audit
from gongzhi.core.imports import ImportReport, RowError
from gongzhi.orgs.models import Department

from .choices import AreaClass, LimitUnit, Step
from .directory import active_version, clean_extra_fields, code_problem, kind_from_text
from .models import Category, DirectoryVersion, RoutingRule, TimeLimit

CATEGORY_COLUMNS = ("code", "name", "kind", "major_code", "major_name", "keywords", "default_department",
                    "closing_condition", "extra_fields", "is_active", "is_public")
LIMIT_COLUMNS = ("code", "step", "area_class", "urgent", "amount", "unit")
ROUTING_COLUMNS = ("code", "area_code", "department_code", "priority")
SHEETS = {"categories": CATEGORY_COLUMNS, "time_limits": LIMIT_COLUMNS, "routing": ROUTING_COLUMNS}
SHEET_ALIASES = {"分类": "categories", "处置时限": "time_limits", "时限": "time_limits", "派遣规则": "routing"}
HEADER_ALIASES = {
    "编码": "code", "分类编码": "code", "名称": "name", "类型": "kind", "大类编码": "major_code",
    "大类名称": "major_name", "关键词": "keywords", "默认处置部门": "default_department", "结案条件": "closing_condition",
    "附加字段": "extra_fields", "启用": "is_active", "公开": "is_public", "环节": "step", "区域类别": "area_class", "紧急": "urgent",
    "时限": "amount", "单位": "unit", "区域编码": "area_code", "部门编码": "department_code", "处置部门": "department_code",
    "优先级": "priority",
}
STEP_ALIASES = {"派遣": Step.DISPATCH, "处置": Step.HANDLE, "核查": Step.VERIFY}
UNIT_ALIASES = {"工作小时": LimitUnit.WORKING_HOURS, "工作日": LimitUnit.WORKING_DAYS,
                "自然小时": LimitUnit.NATURAL_HOURS, "小时": LimitUnit.NATURAL_HOURS}
TRUE_WORDS = {"是", "true", "1", "yes", "y", "启用"}
FALSE_WORDS = {"否", "false", "0", "no", "n", "停用", ""}
MAX_AMOUNT = Decimal("99999.99")

Progress = Callable[[str, int, int], None]


class CatalogFileError(Exception):
    """The workbook can't be read at all; the message is for the user."""


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _version_or_active(version: DirectoryVersion | None) -> DirectoryVersion:
    version = version or active_version()
    if version is None:
        raise CatalogFileError(_("没有启用的分类目录版本"))
    return version


def export_workbook(version: DirectoryVersion | None = None) -> bytes:
    """The categories, time limits and routing rules of ``version`` (default: the active one)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    version = _version_or_active(version)
    workbook = Workbook(write_only=True)

    def sheet_rows(name: str, rows) -> None:
        sheet = workbook.create_sheet(name)

        def cell(value: Any) -> WriteOnlyCell:
            if isinstance(value, str):
                c = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value) or None)
                if value:
                    c.data_type = "s"  # codes keep their leading zeros; nothing becomes a formula
                return c
            return WriteOnlyCell(sheet, value=value)

        sheet.append([cell(c) for c in SHEETS[name]])
        for row in rows:
            sheet.append([cell(v) for v in row])

    categories = version.categories.select_related("default_department").order_by("code")
    sheet_rows("categories", (
        (c.code, c.name, c.kind, c.major_code, c.major_name, c.keywords,
         c.default_department.code if c.default_department_id else "", c.closing_condition,
         json.dumps(c.extra_fields, ensure_ascii=False) if c.extra_fields else "", c.is_active, c.is_public)
        for c in categories.iterator(chunk_size=1000)))
    limits = (TimeLimit.objects.filter(category__version=version).select_related("category")
              .order_by("category__code", "step", "area_class", "urgent"))
    sheet_rows("time_limits", (
        (t.category.code, t.step, t.area_class, t.urgent,
         int(t.amount) if t.amount == t.amount.to_integral_value() else float(t.amount), t.unit)
        for t in limits.iterator(chunk_size=1000)))
    rules = (RoutingRule.objects.filter(category__version=version).select_related("category", "area", "department")
             .order_by("category__code", "priority", "id"))
    sheet_rows("routing", (
        (r.category.code, _area_ref(r.area), r.department.code, r.priority)
        for r in rules.iterator(chunk_size=1000)))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _area_ref(area: Area | None) -> str:
    """How the routing sheet names an area: its code, or ``#<id>`` for an area without a code."""
    if area is None:
        return ""
    return area.code or f"#{area.pk}"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class SheetRow:
    """One row of a sheet: its number (header = 1) and the cells of the columns the sheet has."""

    sheet: str
    number: int
    values: dict[str, Any]

    def text(self, column: str) -> str:
        return _text(self.values.get(column))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_bytes(path_or_file: str | Path | IO[bytes]) -> bytes:
    if isinstance(path_or_file, str | Path):
        try:
            return Path(path_or_file).read_bytes()
        except FileNotFoundError:
            raise CatalogFileError(_("找不到文件：%(path)s") % {"path": path_or_file}) from None
        except OSError as exc:
            raise CatalogFileError(_("无法读取文件 %(path)s：%(error)s") % {"path": path_or_file, "error": exc}) from None
    return path_or_file.read()


def read_workbook(path_or_file: str | Path | IO[bytes]) -> dict[str, list[SheetRow]]:
    """The rows of the sheets the workbook has (``SHEETS``, or their Chinese names); raise
    CatalogFileError when it is not an xlsx workbook or has none of them."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(_read_bytes(path_or_file)), read_only=True, data_only=True)
    except CatalogFileError:
        raise
    except Exception:  # openpyxl raises a zoo of errors (zip, XML, KeyError…) for files it can't read
        raise CatalogFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        found: dict[str, list[SheetRow]] = {}
        for title in workbook.sheetnames:
            name = SHEET_ALIASES.get(title.strip(), title.strip().lower())
            if name not in SHEETS or name in found:
                continue
            cells = workbook[title].iter_rows(values_only=True)
            header = next(cells, None) or ()
            positions: dict[str, int] = {}
            for i, value in enumerate(header):
                column = _text(value)
                column = HEADER_ALIASES.get(column, column.lower())
                if column in SHEETS[name] and column not in positions:
                    positions[column] = i
            if "code" not in positions:
                raise CatalogFileError(_("工作表 %(sheet)s 第 1 行应为表头，缺少列 code（需要 %(columns)s）")
                                       % {"sheet": name, "columns": ", ".join(SHEETS[name])})
            rows = []
            for number, values in enumerate(cells, start=2):
                if not values or all(_text(v) == "" for v in values):
                    continue
                rows.append(SheetRow(name, number, {c: values[i] if i < len(values) else None
                                                    for c, i in positions.items()}))
            found[name] = rows
        if not found:
            raise CatalogFileError(_("工作簿中没有 categories、time_limits 或 routing 工作表"))
        return found
    finally:
        workbook.close()


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------


@dataclass
class CatalogReport(ImportReport):
    """What an import did or would do. ``changes``: (sheet, row, description)."""

    changes: list[tuple[str, int, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def error_lines(self) -> list[str]:
        return [str(e) for e in sorted(self.errors, key=lambda e: (list(SHEETS).index(e.sheet), e.row))]

    def summary(self) -> str:
        c = {"total": self.total, "bad": len({(e.sheet, e.row) for e in self.errors}),
             "created": self.counts.get("category.create", 0), "updated": self.counts.get("category.update", 0),
             "limits": self.counts.get("limits", 0), "rules": self.counts.get("rules", 0)}
        if self.errors:
            return self.refused()
        if self.committed:
            return _("已导入：共 %(total)d 行；新建 %(created)d 个分类，更新 %(updated)d 个；"
                     "更改 %(limits)d 条处置时限、%(rules)d 条派遣规则。") % c
        return _("试运行：共 %(total)d 行；将新建 %(created)d 个分类，更新 %(updated)d 个；"
                 "更改 %(limits)d 条处置时限、%(rules)d 条派遣规则；未写入任何数据。") % c


@dataclass
class _CategoryPlan:
    row: SheetRow
    existing: Category | None
    fields: dict[str, Any]  # model field → new value (create: all given; update: changed only)


@dataclass
class _SetPlan:
    """The complete set of limits or rules one category should have, from the sheet."""

    code: str
    wanted: dict[tuple, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # key → (row, values)


def _int(value: Any) -> int | None:
    """A whole number from a cell (4, 4.0, "4"), or None."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


#: Quotes that Excel and WPS put in place of the straight ones ("smart quotes") when one types JSON.
_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "＂": '"'})


def _extra_fields_json(raw: str | None) -> Any:
    """The 附加字段 cell (a JSON list, see ``extra_fields``) parsed; ValueError when it isn't JSON.
    A cell whose quotes a spreadsheet turned into curly ones is read with straight quotes."""
    if not raw or not raw.strip():
        return []
    try:
        return json.loads(raw)
    except ValueError:
        return json.loads(raw.translate(_CURLY_QUOTES))


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


class _Checker:
    def __init__(self, sheets: dict[str, list[SheetRow]], version: DirectoryVersion, report: CatalogReport,
                 progress: Progress | None):
        self.sheets, self.version, self.report, self.progress = sheets, version, report, progress
        self.existing = {c.code: c for c in version.categories.select_related("default_department")}
        codes = {r.text("department_code") for r in sheets.get("routing", [])}
        codes |= {r.text("default_department") for r in sheets.get("categories", [])}
        self.departments = {d.code: d for d in Department.objects.filter(code__in=codes - {""})}
        refs = {r.text("area_code") for r in sheets.get("routing", [])} - {""}
        ids = sorted({_int(ref[1:]) for ref in refs if ref.startswith("#")} - {None})
        area_codes = sorted(ref for ref in refs if not ref.startswith("#"))
        self.areas: dict[str, Area] = {}
        for start in range(0, len(area_codes), 900):
            self.areas.update({a.code: a for a in Area.objects.filter(code__in=area_codes[start:start + 900])})
        for start in range(0, len(ids), 900):
            self.areas.update({f"#{a.pk}": a for a in Area.objects.filter(pk__in=ids[start:start + 900])})
        self.new_codes: dict[str, int] = {}   # created by the categories sheet → its row
        self.bad_codes: set[str] = set()      # rows of the categories sheet that failed
        self.done = 0
        self.total = sum(len(rows) for rows in sheets.values())

    def error(self, row: SheetRow, column: str, message: str) -> None:
        self.report.errors.append(RowError(row.number, column, message, row.sheet))

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress("check", self.done, self.total)

    # -- categories ---------------------------------------------------------------------------

    def categories(self) -> list[_CategoryPlan]:
        plans: list[_CategoryPlan] = []
        first: dict[str, int] = {}
        for row in self.sheets.get("categories", []):
            self.tick()
            before = len(self.report.errors)
            code = row.text("code")
            if not code:
                self.error(row, "code", _("编码不能为空"))
                continue
            if code in first:
                self.error(row, "code", _("编码 %(code)s 与第 %(n)d 行重复") % {"code": code, "n": first[code]})
                continue
            first[code] = row.number
            existing = self.existing.get(code)
            values = self._category_values(row, existing)
            if len(self.report.errors) > before:
                self.bad_codes.add(code)
                continue
            if existing is None:
                self.new_codes[code] = row.number
                plans.append(_CategoryPlan(row, None, values))
            else:
                changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                if changed:
                    plans.append(_CategoryPlan(row, existing, changed))
        return plans

    def _category_values(self, row: SheetRow, existing: Category | None) -> dict[str, Any]:
        given = row.values.keys()
        values: dict[str, Any] = {}
        code = row.text("code")
        if "kind" in given and row.text("kind"):
            kind = kind_from_text(row.text("kind"))
            if kind is None:
                self.error(row, "kind", _("类型须为 component/matter/local 或 管理部件/管理事项/本地分类"))
            elif existing is not None and kind != existing.kind:
                self.error(row, "kind", _("不能通过导入修改已有分类的类型"))
        else:
            kind = existing.kind if existing is not None else Category.Kind.LOCAL
        if existing is None and kind is not None:
            problem = code_problem(kind, code)
            if problem:
                self.error(row, "code", problem)
            values["kind"] = kind
        if "name" in given or existing is None:
            name = row.text("name")
            if not name:
                self.error(row, "name", _("名称不能为空"))
            values["name"] = name
        limits = {"name": 100, "major_code": 8, "major_name": 50, "keywords": 300}
        for column in ("major_code", "major_name", "keywords", "closing_condition"):
            if column in given:
                values[column] = row.text(column)
        for column, limit in limits.items():
            if len(values.get(column, "")) > limit:
                self.error(row, column, _("不能超过 %(n)d 个字符") % {"n": limit})
        if "default_department" in given:
            dept_code = row.text("default_department")
            department = self.departments.get(dept_code) if dept_code else None
            if dept_code and department is None:
                self.error(row, "default_department", _("找不到代码为 %(code)s 的部门") % {"code": dept_code})
            values["default_department"] = department
        if "extra_fields" in given:
            raw = row.values.get("extra_fields")
            try:
                if raw is not None and not isinstance(raw, str):
                    raise ValueError
                values["extra_fields"] = clean_extra_fields(_extra_fields_json(raw))
            except ValueError:
                self.error(row, "extra_fields", _("附加字段不是有效的 JSON 文本"))
            except ValidationError as exc:
                self.error(row, "extra_fields", "；".join(exc.messages))
        for column, message in (("is_active", _("启用须填 是/否 或 TRUE/FALSE")),
                                ("is_public", _("公开须填 是/否 或 TRUE/FALSE"))):
            if column in given and row.text(column):  # an empty cell leaves it alone
                flag = _bool(row.values.get(column))
                if flag is None:
                    self.error(row, column, message)
                values[column] = bool(flag)
        return values

    # -- limits and rules ---------------------------------------------------------------------

    def _category_code(self, row: SheetRow) -> str | None:
        code = row.text("code")
        if not code:
            self.error(row, "code", _("编码不能为空"))
        elif code in self.bad_codes:
            self.error(row, "code", _("分类 %(code)s 在 categories 工作表中有错误") % {"code": code})
        elif code not in self.existing and code not in self.new_codes:
            self.error(row, "code", _("当前目录版本中没有编码为 %(code)s 的分类") % {"code": code})
        else:
            return code
        return None

    def time_limits(self) -> dict[str, _SetPlan]:
        plans: dict[str, _SetPlan] = {}
        for row in self.sheets.get("time_limits", []):
            self.tick()
            before = len(self.report.errors)
            code = self._category_code(row)
            text = row.text("step")
            step = STEP_ALIASES.get(text) or (text.lower() if text.lower() in Step.values else None)
            if step is None:
                self.error(row, "step", _("环节须为 dispatch/handle/verify（派遣/处置/核查）"))
            area_class = row.text("area_class").upper()
            if area_class in ("*", "全部", "ALL"):
                area_class = ""
            if area_class and area_class not in AreaClass.values:
                self.error(row, "area_class", _("区域类别须为 A、B、C 或留空"))
            urgent = _bool(row.values.get("urgent"))
            if urgent is None:
                self.error(row, "urgent", _("紧急须填 是/否 或 TRUE/FALSE"))
            amount = self._amount(row)
            text = row.text("unit")
            unit = UNIT_ALIASES.get(text) or (text.lower() if text.lower() in LimitUnit.values else None)
            if not text:
                unit = LimitUnit.WORKING_HOURS
            if unit is None:
                self.error(row, "unit", _("单位须为 working_hours/working_days/natural_hours（工作小时/工作日/自然小时）"))
            if len(self.report.errors) > before or code is None:
                continue
            plan = plans.setdefault(code, _SetPlan(code))
            key = (step, area_class, bool(urgent))
            if key in plan.wanted:
                self.error(row, "step", _("与第 %(n)d 行的环节、区域类别、紧急相同") % {"n": plan.wanted[key][0]})
                continue
            plan.wanted[key] = (row.number, {"amount": amount, "unit": unit})
        return plans

    def _amount(self, row: SheetRow) -> Decimal | None:
        raw = row.values.get("amount")
        try:
            amount = Decimal(_text(raw)) if not isinstance(raw, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            self.error(row, "amount", _("时限须为数字"))
            return None
        if not (0 < amount <= MAX_AMOUNT) or amount != amount.quantize(Decimal("0.01")):
            self.error(row, "amount", _("时限须大于 0、不超过 99999.99，最多两位小数"))
            return None
        return amount.quantize(Decimal("0.01"))

    def routing(self) -> dict[str, _SetPlan]:
        plans: dict[str, _SetPlan] = {}
        for row in self.sheets.get("routing", []):
            self.tick()
            before = len(self.report.errors)
            code = self._category_code(row)
            area_code = row.text("area_code")
            area = self.areas.get(area_code) if area_code else None
            if area_code and area is None:
                self.error(row, "area_code", _("找不到编码为 %(code)s 的区域") % {"code": area_code})
            dept_code = row.text("department_code")
            department = self.departments.get(dept_code)
            if not dept_code:
                self.error(row, "department_code", _("请填写处置部门代码"))
            elif department is None:
                self.error(row, "department_code", _("找不到代码为 %(code)s 的部门") % {"code": dept_code})
            priority = _int(row.values.get("priority")) if row.text("priority") else 100
            if priority is None or not 0 <= priority <= 32767:
                self.error(row, "priority", _("优先级须为 0–32767 的整数"))
            if len(self.report.errors) > before or code is None:
                continue
            plan = plans.setdefault(code, _SetPlan(code))
            key = (area.pk if area else None, department.pk)
            if key in plan.wanted:
                self.error(row, "department_code", _("与第 %(n)d 行的区域和部门相同") % {"n": plan.wanted[key][0]})
                continue
            plan.wanted[key] = (row.number, {"priority": priority, "area": area, "department": department})
        return plans


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _limit_diff(category: Category | None, plan: _SetPlan):
    """(to create, to update [(obj, changes)], to delete) for one category's time limits."""
    current = {(t.step, t.area_class, t.urgent): t for t in (category.limits.all() if category else [])}
    create = [(key, values) for key, (_n, values) in plan.wanted.items() if key not in current]
    update = [(current[key], values) for key, (_n, values) in plan.wanted.items()
              if key in current and (current[key].amount, current[key].unit) != (values["amount"], values["unit"])]
    delete = [t for key, t in current.items() if key not in plan.wanted]
    return create, update, delete


def _rule_diff(category: Category | None, plan: _SetPlan):
    current = {(r.area_id, r.department_id): r for r in (category.rules.all() if category else [])}
    create = [values for key, (_n, values) in plan.wanted.items() if key not in current]
    update = [(current[key], values) for key, (_n, values) in plan.wanted.items()
              if key in current and current[key].priority != values["priority"]]
    delete = [r for key, r in current.items() if key not in plan.wanted]
    return create, update, delete


def import_catalog(sheets: dict[str, list[SheetRow]], *, actor, commit: bool,
                   progress: Progress | None = None) -> CatalogReport:
    """Check every row of ``sheets`` (from ``read_workbook``) against the active version; write all
    of it in one transaction only when ``commit`` and no row is bad."""
    version = _version_or_active(None)
    report = CatalogReport(total=sum(len(rows) for rows in sheets.values()))
    checker = _Checker(sheets, version, report, progress)
    category_plans = checker.categories()
    limit_plans = checker.time_limits()
    rule_plans = checker.routing()
    if report.errors:
        return report

    categories = {c.code: c for c in version.categories.prefetch_related("limits", "rules")
                  .filter(code__in=set(limit_plans) | set(rule_plans))}
    counts = report.counts
    for plan in category_plans:
        action = "category.create" if plan.existing is None else "category.update"
        counts[action] = counts.get(action, 0) + 1
        text = (_("新建分类 %(code)s %(name)s") if plan.existing is None else _("更新分类 %(code)s：%(fields)s")) % {
            "code": plan.row.text("code"), "name": plan.fields.get("name", ""), "fields": "、".join(plan.fields)}
        report.changes.append(("categories", plan.row.number, text))
    diffs = {"limits": {code: _limit_diff(categories.get(code), p) for code, p in limit_plans.items()},
             "rules": {code: _rule_diff(categories.get(code), p) for code, p in rule_plans.items()}}
    for kind, label, sheet in (("limits", _("处置时限"), "time_limits"), ("rules", _("派遣规则"), "routing")):
        plans = limit_plans if kind == "limits" else rule_plans
        for code, (create, update, delete) in diffs[kind].items():
            n = len(create) + len(update) + len(delete)
            if n:
                counts[kind] = counts.get(kind, 0) + n
                first_row = min(number for number, _v in plans[code].wanted.values())
                report.changes.append((sheet, first_row, _("%(label)s %(code)s：新增 %(c)d 条，修改 %(u)d 条，删除 %(d)d 条")
                                       % {"label": label, "code": code, "c": len(create), "u": len(update),
                                          "d": len(delete)}))
    if not commit:
        return report
    try:
        with transaction.atomic():
            _write(version, category_plans, diffs, actor=actor, progress=progress)
    except (ValidationError, DatabaseError) as exc:
        message = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        report.errors.append(RowError(0, "-", _("写入失败（可能有人同时修改了目录，请重试）：%(error)s") % {"error": message},
                                      "categories"))
        return report
    report.committed = True
    return report


def _write(version: DirectoryVersion, category_plans: list[_CategoryPlan], diffs: dict, *, actor,
           progress: Progress | None) -> None:
    total = len(category_plans) + sum(len(d) for d in diffs.values())
    done = 0
    by_code: dict[str, Category] = {}
    for plan in category_plans:
        if plan.existing is None:
            category = Category(version=version, code=plan.row.text("code"), **plan.fields)
            category.full_clean(exclude=["version", "default_department"])
            category.save()
            audit.record(actor, "category.create", category, after=audit.snapshot(category), note="import")
        else:
            category = plan.existing
            before = audit.snapshot(category)
            for name, value in plan.fields.items():
                setattr(category, name, value)
            category.full_clean(exclude=["version", "default_department"], validate_unique=False)
            category.save()
            audit.record(actor, "category.update", category, before=before, after=audit.snapshot(category),
                         note="import")
        by_code[category.code] = category
        done += 1
        if progress is not None:
            progress("write", done, total)
    missing = (set(diffs["limits"]) | set(diffs["rules"])) - set(by_code)
    by_code.update({c.code: c for c in version.categories.filter(code__in=missing)})
    for code, (create, update, delete) in diffs["limits"].items():
        category = by_code[code]
        for limit in delete:
            audit.record(actor, "time_limit.delete", limit, before=audit.snapshot(limit), note="import")
            limit.delete()
        for limit, values in update:
            before = audit.snapshot(limit)
            limit.amount, limit.unit = values["amount"], values["unit"]
            limit.save()
            audit.record(actor, "time_limit.update", limit, before=before, after=audit.snapshot(limit), note="import")
        for (step, area_class, urgent), values in create:
            limit = TimeLimit.objects.create(category=category, step=step, area_class=area_class, urgent=urgent,
                                             **values)
            audit.record(actor, "time_limit.create", limit, after=audit.snapshot(limit), note="import")
        done += 1
        if progress is not None:
            progress("write", done, total)
    for code, (create, update, delete) in diffs["rules"].items():
        category = by_code[code]
        for rule in delete:
            audit.record(actor, "routingrule.delete", rule, before=audit.snapshot(rule), note="import")
            rule.delete()
        for rule, values in update:
            before = audit.snapshot(rule)
            rule.priority = values["priority"]
            rule.save()
            audit.record(actor, "routingrule.update", rule, before=before, after=audit.snapshot(rule), note="import")
        for values in create:
            rule = RoutingRule.objects.create(category=category, **values)
            audit.record(actor, "routingrule.create", rule, after=audit.snapshot(rule), note="import")
        done += 1
        if progress is not None:
            progress("write", done, total)
