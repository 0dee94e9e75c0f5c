"""Reading an XLSForm workbook into a checklist definition, refusing a bad one with sheet, cell and reason.

Two passes over the same bytes:

1. ``pyxform`` (the ODK/Kobo reference implementation) converts the workbook; its errors say
   "[row : 5] On the 'survey' sheet, the 'name' value …", which we map to a cell (``survey!B5``)
   using the header row we read ourselves.
2. Our own checks, row by row with openpyxl: question types we render, names unique in the whole
   form (answers are keyed by name), our columns (``department``, ``severity``,
   ``rectification_days``, ``legal_basis``; ``fails`` on the choices sheet), and every ``relevant``
   and ``constraint`` parsed by ``expr`` (unknown functions and names are refused here, not on a phone).

Every problem found is reported, not only the first. The definition we store is built from our
own reading (pyxform has vouched for the structure), as plain JSON: see ``Form``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import expr

#: XLSForm type (first word of the type cell) → the type we store. Aliases as pyxform accepts them.
TYPES = {
    "select_one": "select_one", "select one": "select_one", "select_multiple": "select_multiple",
    "select all that apply": "select_multiple", "text": "text", "string": "text", "integer": "integer",
    "int": "integer", "decimal": "decimal", "image": "photo", "photo": "photo", "geopoint": "geopoint",
    "gps": "geopoint", "location": "geopoint", "note": "note", "date": "date",
    "begin_group": "begin_group", "begin group": "begin_group", "end_group": "end_group", "end group": "end_group",
}
#: Types pyxform knows that carry no answer and that we simply skip (metadata questions).
SKIPPED = {"start", "end", "today", "deviceid", "username", "phonenumber", "audit", "calculate"}
SEVERITIES = {"minor": "minor", "major": "major", "critical": "critical", "一般": "minor", "较大": "major",
              "重大": "critical"}
TRUE_WORDS = {"yes", "true", "1", "y", "是", "true()"}
FALSE_WORDS = {"", "no", "false", "0", "n", "否", "false()"}
#: When a choice list marks no choice with ``fails``, choices with these names fail (docs/checklists.md).
DEFAULT_FAILING = frozenset({"no", "fail", "failed", "不合格", "否"})
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000


@dataclass(frozen=True)
class CellError:
    """One problem: the sheet, the cell (``B5``; the row alone when no column applies) and the reason."""

    sheet: str
    cell: str
    message: str

    def __str__(self) -> str:
        if self.sheet and self.cell:
            return _("工作表 %(sheet)s 单元格 %(cell)s：%(message)s") % {"sheet": self.sheet, "cell": self.cell,
                                                                  "message": self.message}
        if self.sheet:
            return _("工作表 %(sheet)s：%(message)s") % {"sheet": self.sheet, "message": self.message}
        return self.message


class WorkbookError(Exception):
    """The workbook is refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[CellError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class _Sheet:
    name: str
    columns: dict[str, int]  # lower-cased header → 0-based index
    rows: list[tuple[int, tuple]]  # (spreadsheet row number, values)

    def letter(self, column: str) -> str:
        from openpyxl.utils import get_column_letter

        index = self.columns.get(column)
        return get_column_letter(index + 1) if index is not None else ""

    def cell(self, column: str, row: int) -> str:
        letter = self.letter(column)
        return f"{letter}{row}" if letter else str(row)

    def value(self, values: tuple, column: str) -> str:
        index = self.columns.get(column)
        if index is None or index >= len(values) or values[index] is None:
            return ""
        value = values[index]
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    def labels(self, values: tuple, column: str) -> dict[str, str]:
        """``label`` and ``label::中文 (zh)`` … → {"default": …, "中文 (zh)": …} (non-empty only)."""
        found = {}
        for header in self.columns:
            if header == column:
                key = "default"
            elif header.startswith(column + "::"):
                key = header.split("::", 1)[1].strip()
            else:
                continue
            text = self.value(values, header)
            if text:
                found[key] = text
        return found


def _read_sheets(data: bytes) -> dict[str, _Sheet]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for what it cannot read
        raise WorkbookError([CellError("", "", _("文件不是有效的 xlsx 工作簿"))]) from None
    try:
        sheets = {}
        for title in workbook.sheetnames:
            key = title.strip().lower()
            if key not in ("survey", "choices", "settings"):
                continue
            cells = workbook[title].iter_rows(values_only=True)
            header = next(cells, None) or ()
            columns: dict[str, int] = {}
            for i, value in enumerate(header):
                name = str(value).strip() if value is not None else ""
                if name and name.lower() not in columns:
                    # keep the language part's case ("label::English (en)"), lower the column name
                    base, sep, lang = name.partition("::")
                    columns[base.strip().lower() + (sep + lang if sep else "")] = i
            rows = []
            for number, values in enumerate(cells, start=2):
                if values and any(v is not None and str(v).strip() for v in values):
                    rows.append((number, values))
                    if len(rows) > MAX_ROWS:
                        raise WorkbookError([CellError(title, "", _("行数过多（不能超过 %(n)d 行）") % {"n": MAX_ROWS})])
            sheets[key] = _Sheet(title, columns, rows)
        return sheets
    finally:
        workbook.close()


_PYX_ROW = re.compile(r"^\[row\s*:\s*(\d+)\]\s*")
_PYX_SHEET = re.compile(r"[Oo]n the '([^']+)' sheet")
_PYX_COLUMN = re.compile(r"the '([^']+)' value")


def _pyxform_errors(data: bytes, sheets: dict[str, _Sheet]) -> list[CellError]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    try:
        convert(data, warnings=[], file_type=".xlsx")
    except PyXFormError as exc:
        text = str(exc)
        context = getattr(exc, "context", None) or {}
        row_match = _PYX_ROW.match(text)
        row = int(row_match.group(1)) if row_match else context.get("row")
        detail = _PYX_ROW.sub("", text)
        sheet_key = (context.get("sheet") or (m.group(1) if (m := _PYX_SHEET.search(text)) else "survey")).lower()
        column = context.get("column") or (m.group(1) if (m := _PYX_COLUMN.search(text)) else "")
        sheet = sheets.get(sheet_key)
        name = sheet.name if sheet else sheet_key
        if row and sheet:
            cell = sheet.cell(column.lower(), int(row)) if column else str(row)
        else:
            cell = str(row or "")
        return [CellError(name, cell, _("不符合 XLSForm 标准：%(detail)s") % {"detail": detail})]
    except Exception as exc:  # pyxform may raise others on malformed input
        return [CellError("", "", _("不符合 XLSForm 标准：%(detail)s") % {"detail": exc})]
    return []


def _int(text: str) -> int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 0 <= number <= 3650 else None


def _parse_expression(text: str, sheet: _Sheet, column: str, row: int, errors: list[CellError]) -> list | None:
    if not text:
        return None
    try:
        return expr.parse(text)
    except expr.ExpressionError as exc:
        errors.append(CellError(sheet.name, sheet.cell(column, row), _("表达式“%(text)s”：%(reason)s")
                                % {"text": text, "reason": exc}))
        return None


def parse_workbook(data: bytes) -> dict:
    """The definition of a good workbook, or raise WorkbookError listing every problem."""
    if len(data) > MAX_BYTES:
        raise WorkbookError([CellError("", "", _("文件不能超过 %(mb)d MB") % {"mb": MAX_BYTES // (1024 * 1024)})])
    sheets = _read_sheets(data)
    if "survey" not in sheets:
        raise WorkbookError([CellError("survey", "", _("缺少 survey 工作表"))])
    errors = _pyxform_errors(data, sheets)
    if errors:  # the structure is not sound: our own checks would only repeat it less clearly
        raise WorkbookError(errors)
    choices, choice_errors = _read_choices(sheets.get("choices"))
    errors += choice_errors
    children, names, expressions = _read_survey(sheets["survey"], choices, errors)
    survey = sheets["survey"]
    for tree, column, row in expressions:
        for name in sorted(expr.references(tree) - names):
            errors.append(CellError(survey.name, survey.cell(column, row),
                                    _("引用了不存在的题目 ${%(name)s}") % {"name": name}))
    settings = {}
    if "settings" in sheets and sheets["settings"].rows:
        sheet = sheets["settings"]
        values = sheet.rows[0][1]
        settings = {key: sheet.value(values, key) for key in ("form_title", "form_id", "version",
                                                             "default_language")}
    if errors:
        raise WorkbookError(errors)
    return {
        "title": settings.get("form_title") or _("检查表"),
        "form_id": settings.get("form_id") or "checklist",
        "version": settings.get("version") or "",
        "default_language": settings.get("default_language") or "",
        "children": children,
        "choices": choices,
    }


def _read_choices(sheet: _Sheet | None) -> tuple[dict, list[CellError]]:
    errors: list[CellError] = []
    choices: dict[str, list[dict]] = {}
    if sheet is None:
        return choices, errors
    list_column = "list_name" if "list_name" in sheet.columns else "list name"
    for row, values in sheet.rows:
        list_name, name = sheet.value(values, list_column), sheet.value(values, "name")
        if not list_name or not name:
            continue
        fails_text = sheet.value(values, "fails").lower()
        if fails_text not in TRUE_WORDS | FALSE_WORDS:
            errors.append(CellError(sheet.name, sheet.cell("fails", row), _("fails 应填 yes 或留空")))
        choices.setdefault(list_name, []).append({"name": name, "label": sheet.labels(values, "label") or
                                                  {"default": name}, "fails": fails_text in TRUE_WORDS})
    for items in choices.values():
        if not any(c["fails"] for c in items):
            for c in items:
                c["fails"] = c["name"].lower() in DEFAULT_FAILING
    return choices, errors


def _read_survey(sheet: _Sheet, choices: dict, errors: list[CellError]):
    from gongzhi.orgs.models import Department

    departments = set(Department.Kind.values)
    root: list[dict] = []
    stack: list[list[dict]] = [root]
    names: set[str] = set()
    expressions: list[tuple[list, str, int]] = []
    for row, values in sheet.rows:
        type_text = sheet.value(values, "type")
        words = type_text.split()
        first = " ".join(words[:2]).lower() if words[:2] in (["select", "one"], ["begin", "group"],
                                                             ["end", "group"]) else (words[0].lower() if words else "")
        rest = words[2:] if " " in first else words[1:]
        if first == "select" and words[1:4] == ["all", "that", "apply"]:
            first, rest = "select all that apply", words[4:]
        if first in SKIPPED or not first:
            continue
        kind = TYPES.get(first)
        if kind is None:
            errors.append(CellError(sheet.name, sheet.cell("type", row),
                                    _("不支持的题型：%(type)s（支持 select_one、select_multiple、text、integer、decimal、"
                                      "date、image、geopoint、note 和 group）") % {"type": type_text}))
            continue
        if kind == "end_group":
            if len(stack) > 1:
                stack.pop()
            continue
        name = sheet.value(values, "name")
        if name in names:
            errors.append(CellError(sheet.name, sheet.cell("name", row),
                                    _("题目名称 %(name)s 重复：整张表内名称须唯一") % {"name": name}))
        names.add(name)
        node: dict[str, Any] = {"name": name, "row": row, "label": sheet.labels(values, "label") or {"default": name},
                                "hint": sheet.labels(values, "hint")}
        relevant_text = sheet.value(values, "relevant")
        relevant = _parse_expression(relevant_text, sheet, "relevant", row, errors)
        if relevant is not None:
            expressions.append((relevant, "relevant", row))
        node.update(relevant=relevant, relevant_text=relevant_text)
        if kind == "begin_group":
            node.update(type="group", children=[])
            stack[-1].append(node)
            stack.append(node["children"])
            continue
        node["type"] = kind
        constraint_text = sheet.value(values, "constraint")
        constraint = _parse_expression(constraint_text, sheet, "constraint", row, errors)
        if constraint is not None:
            expressions.append((constraint, "constraint", row))
        node.update(constraint=constraint, constraint_text=constraint_text,
                    constraint_message=sheet.labels(values, "constraint_message"),
                    required=sheet.value(values, "required").lower() in TRUE_WORDS,
                    required_message=sheet.labels(values, "required_message"),
                    appearance=sheet.value(values, "appearance"))
        if kind in ("select_one", "select_multiple"):
            node["list"] = rest[0] if rest else ""
        _read_our_columns(sheet, values, row, node, departments, errors)
        stack[-1].append(node)
    return root, names, expressions


def _read_our_columns(sheet: _Sheet, values: tuple, row: int, node: dict, departments: set[str],
                      errors: list[CellError]) -> None:
    department = sheet.value(values, "department")
    severity = sheet.value(values, "severity")
    days = sheet.value(values, "rectification_days")
    legal_basis = sheet.value(values, "legal_basis")
    if department and department not in departments:
        errors.append(CellError(sheet.name, sheet.cell("department", row),
                                _("未知的部门代码：%(code)s（可用：%(codes)s）")
                                % {"code": department, "codes": ", ".join(sorted(departments))}))
    if severity and severity.lower() not in SEVERITIES and severity not in SEVERITIES:
        errors.append(CellError(sheet.name, sheet.cell("severity", row),
                                _("严重程度应为 minor、major 或 critical（一般、较大、重大）")))
    days_value = None
    if days:
        days_value = _int(days)
        if days_value is None:
            errors.append(CellError(sheet.name, sheet.cell("rectification_days", row),
                                    _("整改天数应为 0 到 3650 之间的整数，却是“%(value)s”") % {"value": days}))
    if department:
        if node["type"] not in ("select_one", "select_multiple"):
            errors.append(CellError(sheet.name, sheet.cell("department", row),
                                    _("只有选择题可以作为检查项（填写责任部门）")))
        if not days:
            errors.append(CellError(sheet.name, sheet.cell("rectification_days", row),
                                    _("检查项须填写整改天数")))
    elif severity or days or legal_basis:
        errors.append(CellError(sheet.name, sheet.cell("department", row),
                                _("填写了严重程度、整改天数或法律依据的检查项须填写责任部门")))
    node.update(department=department, severity=SEVERITIES.get(severity.lower(), SEVERITIES.get(severity, ""))
                if severity else ("minor" if department else ""), rectification_days=days_value,
                legal_basis=legal_basis)


# ---------------------------------------------------------------------------------------------
# The stored definition
# ---------------------------------------------------------------------------------------------


def pick_label(labels: dict[str, str] | None, language: str | None = None) -> str:
    """The label for the language (``zh-hans`` → a "(zh)" / 中文 column, ``en`` → "(en)" / English),
    else the plain ``label`` column, else any."""
    if not labels:
        return ""
    language = (language or get_language() or "zh-hans").lower()
    wanted = ("(en)", "english") if language.startswith("en") else ("(zh", "中文", "chinese")
    for key, text in labels.items():
        lowered = key.lower()
        if any(w in lowered for w in wanted):
            return text
    return labels.get("default") or next(iter(labels.values()))


@dataclass
class Form:
    """A checklist definition with the lookups answers need."""

    title: str
    children: list[dict]
    choices: dict[str, list[dict]]
    questions: dict[str, dict] = field(default_factory=dict)
    #: name → the relevant-trees of the groups around it, outermost first
    group_relevants: dict[str, list[list]] = field(default_factory=dict)

    @classmethod
    def from_definition(cls, definition: dict) -> Form:
        form = cls(definition.get("title", ""), definition.get("children", []), definition.get("choices", {}))

        def walk(nodes: list[dict], relevants: list[list]) -> None:
            for node in nodes:
                if node["type"] == "group":
                    walk(node["children"], relevants + ([node["relevant"]] if node.get("relevant") else []))
                else:
                    form.questions[node["name"]] = node
                    form.group_relevants[node["name"]] = relevants

        walk(form.children, [])
        return form

    def choice_list(self, question: dict) -> list[dict]:
        return self.choices.get(question.get("list", ""), [])
