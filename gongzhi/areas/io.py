"""Import and export of areas as GeoJSON FeatureCollections and xlsx sheets.

Both formats carry the same columns (``COLUMNS``): ``code, name, name_en, level, parent_code,
parent_name, geometry, attributes``. A parent is named by ``parent_code`` when it has a code;
otherwise ``parent_name`` holds its name, or a path such as ``990101001001001/3号楼/1单元`` (the
nearest ancestor's code, then names going down) when a plain name would be ambiguous.

Import is two-phase (MapIt's import commands): ``read_file`` turns a file into ``Row`` objects,
``import_areas`` checks every row against the tree *and* against the earlier rows of the same
file, then writes only when asked to and only when every row is good, in one transaction, through
``services.create_area`` / ``services.update_area`` so that each change leaves an audit row.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from gongzhi.core.imports import ImportReport as BaseImportReport
from gongzhi.core.imports import RowError

from . import services
from .models import Area, AreaLevel

COLUMNS = ("code", "name", "name_en", "level", "parent_code", "parent_name", "geometry", "attributes")
#: Header cells a hand-made spreadsheet may use instead of the column names.
HEADER_ALIASES = {
    "编码": "code", "名称": "name", "英文名称": "name_en", "层级": "level", "上级编码": "parent_code",
    "上级名称": "parent_name", "边界": "geometry", "属性": "attributes",
}
FORMATS = ("geojson", "xlsx")
SHEET_NAME = "areas"
#: Excel refuses cells longer than this; openpyxl and LibreOffice read them anyway.
EXCEL_CELL_LIMIT = 32_767
CHUNK = 500

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stage is "check" or "write"."""


class ImportFileError(Exception):
    """The file can't be read as areas at all; the message is for the user."""


class ImportWriteError(Exception):
    """Internal: a service refused a row while writing (the data changed since the check)."""

    def __init__(self, row: int, errors: list[tuple[str, str]]):
        super().__init__(row, errors)
        self.row = row
        self.errors = errors


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _export_records(qs) -> Iterator[dict[str, Any]]:
    """One dict per area (keys: ``COLUMNS``), parents before children, streamed from the database."""
    qs = qs.select_related("level", "parent").order_by("path")
    name_paths: dict[int, str] = {}
    for area in qs.iterator(chunk_size=2000):
        parent = area.parent
        if parent is None:
            parent_code, parent_name = "", ""
        elif parent.code:
            parent_code, parent_name = parent.code, parent.name
        else:
            parent_code, parent_name = "", _name_path(parent, name_paths)
        yield {
            "code": area.code or "",
            "name": area.name,
            "name_en": area.name_en or "",
            "level": area.level.slug,
            "parent_code": parent_code,
            "parent_name": parent_name,
            "geometry": area.geometry or None,
            "attributes": area.attributes or {},
        }


def _name_path(area: Area, cache: dict[int, str]) -> str:
    """How to find ``area`` (which has no code) again: its nearest ancestor's code, then the names
    going down to it (``990101001001001/3号楼``); the names from the root when no ancestor has a code."""
    if area.pk in cache:
        return cache[area.pk]
    ids = area.ancestor_ids()
    ancestors = {a.pk: a for a in Area.objects.filter(pk__in=ids).only("pk", "name", "code")}
    parts = [area.name]
    for pk in reversed(ids):
        ancestor = ancestors.get(pk)
        if ancestor is None:
            break
        if ancestor.code:
            parts.append(ancestor.code)
            break
        parts.append(ancestor.name)
    cache[area.pk] = "/".join(reversed(parts))
    return cache[area.pk]


def to_geojson_bytes(qs) -> bytes:
    """The areas of ``qs`` as a UTF-8 GeoJSON FeatureCollection, one Feature per line."""
    out = io.BytesIO()
    out.write(b'{"type":"FeatureCollection","features":[\n')
    for i, record in enumerate(_export_records(qs)):
        geometry = record.pop("geometry")
        feature = {"type": "Feature", "geometry": geometry, "properties": record}
        if i:
            out.write(b",\n")
        out.write(json.dumps(feature, ensure_ascii=False, separators=(",", ":")).encode())
    out.write(b"\n]}\n")
    return out.getvalue()


def to_xlsx_bytes(qs, *, warn: Callable[[str], None] | None = None) -> bytes:
    """The areas of ``qs`` as a workbook with one sheet "areas" (header row, then one row per area).

    Every cell is written as text (a name starting with "=" stays a name, not a formula). Polygons
    whose GeoJSON text is longer than Excel's cell limit are written whole (openpyxl and LibreOffice
    read them) and reported through ``warn``.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAME)

    def text_cell(value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value) if value else None)
        if value:
            cell.data_type = "s"  # never a formula
        return cell

    sheet.append([text_cell(name) for name in COLUMNS])
    for record in _export_records(qs):
        geometry = record["geometry"]
        record["geometry"] = json.dumps(geometry, ensure_ascii=False, separators=(",", ":")) if geometry else ""
        record["attributes"] = json.dumps(record["attributes"], ensure_ascii=False, separators=(",", ":"))
        if len(record["geometry"]) > EXCEL_CELL_LIMIT and warn is not None:
            warn(_("“%(name)s”的边界有 %(n)d 个字符，超过 Excel 单元格上限，请用 WPS/LibreOffice 打开或改用 GeoJSON")
                 % {"name": record["name"], "n": len(record["geometry"])})
        sheet.append([text_cell(record[name]) for name in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One area as the file gives it.

    ``number`` is the 1-based feature index (GeoJSON) or the spreadsheet row (xlsx, header = 1).
    ``given`` names the columns the file supplies for this row: a column that is absent leaves
    that field of an existing area alone. ``problems`` are (column, message) pairs found while
    reading the row (e.g. a geometry cell that is not JSON).
    """

    number: int
    code: str | None = None
    name: str = ""
    name_en: str = ""
    level: str = ""
    parent_code: str | None = None
    parent_name: str | None = None
    geometry: dict | None = None
    attributes: dict = field(default_factory=dict)
    given: frozenset[str] = frozenset(COLUMNS)
    problems: list[tuple[str, str]] = field(default_factory=list)


_ABSENT = object()  # a column or member the file does not have (as opposed to an empty one)


def _text(value: Any) -> str:
    """A cell or property value as stripped text (15-digit codes typed as numbers stay digits)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _row_from_values(number: int, values: dict[str, Any], geometry: Any, geometry_is_text: bool) -> Row:
    """Build a Row from one feature's properties or one sheet row (``values`` holds given columns)."""
    row = Row(number=number, given=frozenset(values) | ({"geometry"} if geometry is not _ABSENT else set()))
    row.code = _text(values.get("code")) or None
    row.name = _text(values.get("name"))
    row.name_en = _text(values.get("name_en"))
    row.level = _text(values.get("level"))
    row.parent_code = _text(values.get("parent_code")) or None
    row.parent_name = _text(values.get("parent_name")) or None
    if geometry is not _ABSENT:
        if geometry_is_text and isinstance(geometry, str):
            geometry = geometry.strip()
            if geometry:
                try:
                    geometry = json.loads(geometry)
                except ValueError:
                    row.problems.append(("geometry", _("边界不是有效的 GeoJSON 文本")))
                    geometry = None
            else:
                geometry = None
        if geometry is not None and not isinstance(geometry, dict):
            row.problems.append(("geometry", _("边界不是有效的 GeoJSON 几何对象")))
            geometry = None
        row.geometry = geometry or None
    attributes = values.get("attributes")
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes) if attributes.strip() else {}
        except ValueError:
            row.problems.append(("attributes", _("属性不是有效的 JSON 文本")))
            attributes = {}
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        row.problems.append(("attributes", _("属性必须是 JSON 对象（键值对）")))
        attributes = {}
    row.attributes = attributes
    return row


def _read_bytes(path_or_fileobj: str | Path | IO[bytes]) -> tuple[bytes, str]:
    if isinstance(path_or_fileobj, str | Path):
        path = Path(path_or_fileobj)
        try:
            return path.read_bytes(), path.name
        except FileNotFoundError:
            raise ImportFileError(_("找不到文件：%(path)s") % {"path": path}) from None
        except OSError as exc:
            raise ImportFileError(_("无法读取文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
    data = path_or_fileobj.read()
    if isinstance(data, str):
        data = data.encode()
    return data, str(getattr(path_or_fileobj, "name", "") or "")


def guess_format(filename: str, data: bytes = b"") -> str | None:
    """"geojson" or "xlsx" from the file name's extension, else from the first bytes."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".xlsx":
        return "xlsx"
    if data[:2] == b"PK":
        return "xlsx"
    if data.lstrip()[:1] in (b"{", b"["):
        return "geojson"
    return None


def read_file(path_or_fileobj: str | Path | IO[bytes], fmt: str | None = None) -> list[Row]:
    """Read a GeoJSON FeatureCollection or an xlsx sheet into rows, or raise ImportFileError."""
    data, filename = _read_bytes(path_or_fileobj)
    fmt = fmt or guess_format(filename, data)
    if fmt == "geojson":
        return _read_geojson(data)
    if fmt == "xlsx":
        return _read_xlsx(data)
    if fmt is None:
        raise ImportFileError(_("无法识别文件格式，请使用 .geojson 或 .xlsx 文件"))
    raise ImportFileError(_("不支持的格式：%(fmt)s") % {"fmt": fmt})


def _read_geojson(data: bytes) -> list[Row]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFileError(_("文件不是 UTF-8 编码的 GeoJSON")) from None
    except ValueError as exc:
        raise ImportFileError(_("文件不是有效的 JSON：%(error)s") % {"error": exc}) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise ImportFileError(_("文件不是 GeoJSON FeatureCollection（需要 type 为 FeatureCollection 且含 features 列表）"))
    rows = []
    for number, feature in enumerate(document["features"], start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            row = Row(number=number)
            row.problems.append(("feature", _("不是 GeoJSON Feature")))
            rows.append(row)
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            row = Row(number=number)
            row.problems.append(("properties", _("properties 必须是 JSON 对象")))
            rows.append(row)
            continue
        values = {k: properties[k] for k in COLUMNS if k in properties and k != "geometry"}
        geometry = feature["geometry"] if "geometry" in feature else _ABSENT
        rows.append(_row_from_values(number, values, geometry, geometry_is_text=False))
    return rows


def _read_xlsx(data: bytes) -> list[Row]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zoo of errors (zip, XML, KeyError…) for files it can't read
        raise ImportFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        if SHEET_NAME in workbook.sheetnames:
            sheet = workbook[SHEET_NAME]
        elif workbook.worksheets:
            sheet = workbook.worksheets[0]
        else:
            raise ImportFileError(_("工作簿中没有工作表"))
        cells = sheet.iter_rows(values_only=True)
        header = next(cells, None) or ()
        positions: dict[str, int] = {}
        for i, cell in enumerate(header):
            name = _text(cell).lower()
            name = HEADER_ALIASES.get(name, name)
            if name in COLUMNS and name not in positions:
                positions[name] = i
        missing = [c for c in ("name", "level") if c not in positions]
        if "parent_code" not in positions and "parent_name" not in positions:
            missing.append("parent_code")
        if missing:
            raise ImportFileError(
                _("第 1 行应为表头，缺少列：%(missing)s（需要 %(columns)s）")
                % {"missing": "、".join(missing), "columns": ", ".join(COLUMNS)})
        rows = []
        for number, values in enumerate(cells, start=2):
            if not values or all(v is None or _text(v) == "" for v in values):
                continue
            given = {c: values[i] if i < len(values) else None for c, i in positions.items() if c != "geometry"}
            if "geometry" in positions:
                i = positions["geometry"]
                geometry = values[i] if i < len(values) else None
                if geometry is not None and not isinstance(geometry, str):
                    geometry = _text(geometry)  # a number in the cell: still text to parse (and reject)
            else:
                geometry = _ABSENT
            rows.append(_row_from_values(number, given, geometry, geometry_is_text=True))
        return rows
    finally:
        workbook.close()


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass
class ImportReport(BaseImportReport):
    """What an import did, or would do (``committed`` False)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (row number, "create" | "update", description) for every row that changes something.
    changes: list[tuple[int, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        counts = {"total": self.total, "created": self.created, "updated": self.updated,
                  "unchanged": self.unchanged, "bad": len(self.bad_rows)}
        if self.errors:
            return self.refused()
        if self.committed:
            return _("已导入：共 %(total)d 行，新建 %(created)d 个区域，更新 %(updated)d 个，%(unchanged)d 个无变化。") % counts
        return _("试运行：共 %(total)d 行，将新建 %(created)d 个区域，更新 %(updated)d 个，%(unchanged)d 个无变化；"
                 "未写入任何数据。") % counts


@dataclass(eq=False)
class _Plan:
    """What one row will do, worked out by ``_Checker``."""

    row: Row
    level: AreaLevel | None = None
    existing: Area | None = None
    parent: Area | _Plan | None = None
    name: str = ""
    facts: services.ParentFacts | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    action: str = "create"
    bad: bool = False
    result: Area | None = None  # the written area (commit)

    @property
    def key(self) -> tuple[str, int]:
        return ("a", self.existing.pk) if self.existing is not None else ("r", self.row.number)


def _key(node: Area | _Plan) -> tuple[str, int]:
    return node.key if isinstance(node, _Plan) else ("a", node.pk)


# Which column a services error belongs to.
_FIELD_COLUMN = {"parent": "parent_code", "__all__": "row"}


class _Checker:
    """Checks every row against the database and the earlier rows of the file (no writes)."""

    def __init__(self, rows: list[Row], report: ImportReport, progress: Progress | None):
        self.rows = rows
        self.report = report
        self.progress = progress
        levels = list(AreaLevel.objects.all())
        self.levels = {lvl.name: lvl for lvl in levels} | {lvl.slug: lvl for lvl in levels}
        self.root_rank = min((lvl.rank for lvl in levels), default=None)
        self.first_row_of_code: dict[str, int] = {}
        for row in rows:
            if row.code:
                self.first_row_of_code.setdefault(row.code, row.number)
        wanted = {r.code for r in rows if r.code} | {r.parent_code for r in rows if r.parent_code}
        self.existing_by_code = self._fetch_codes(wanted)
        self.plan_by_code: dict[str, _Plan] = {}  # earlier rows, by code
        self.plan_by_pk: dict[int, _Plan] = {}  # earlier rows that update an area
        self.plan_children: dict[tuple[tuple[str, int], str], _Plan] = {}  # (parent key, name) → row
        self.plans_by_name: dict[str, list[_Plan]] = {}
        self.children_cache: dict[int, dict[str, Area]] = {}
        self.named_cache: dict[str, list[Area]] = {}
        self.facts_cache: dict[int, services.ParentFacts] = {}

    @staticmethod
    def _fetch_codes(codes: set[str]) -> dict[str, Area]:
        found: dict[str, Area] = {}
        codes_list = sorted(codes)
        for i in range(0, len(codes_list), CHUNK):
            chunk = codes_list[i:i + CHUNK]
            for area in Area.objects.filter(code__in=chunk).select_related("level", "parent__level"):
                found[area.code] = area
        return found

    def children_of(self, area_pk: int) -> dict[str, Area]:
        """The existing children of an area, by name (one query per parent)."""
        if area_pk not in self.children_cache:
            self.children_cache[area_pk] = {
                a.name: a for a in Area.objects.filter(parent_id=area_pk).select_related("level", "parent__level")}
        return self.children_cache[area_pk]

    def named(self, name: str) -> list[Area]:
        if name not in self.named_cache:
            self.named_cache[name] = list(
                Area.objects.filter(name=name).select_related("level", "parent__level")[:50])
        return self.named_cache[name]

    def facts_of(self, node: Area | _Plan | None) -> services.ParentFacts | None:
        """What a row's parent will look like once the file is written."""
        if node is None:
            return None
        if isinstance(node, _Plan):
            return node.facts
        if node.pk in self.plan_by_pk:
            return self.plan_by_pk[node.pk].facts
        if node.pk not in self.facts_cache:
            self.facts_cache[node.pk] = services.ParentFacts.of(node)
        return self.facts_cache[node.pk]

    # -- finding parents ---------------------------------------------------------------------

    def _node(self, area: Area) -> Area | _Plan:
        return self.plan_by_pk.get(area.pk, area)

    def _by_plain_name(self, name: str) -> list[Area | _Plan]:
        found: dict[tuple[str, int], Area | _Plan] = {}
        for area in self.named(name):
            node = self._node(area)
            if not (isinstance(node, _Plan) and node.name != name):  # renamed by an earlier row
                found[_key(node)] = node
        for plan in self.plans_by_name.get(name, []):
            found[plan.key] = plan
        return list(found.values())

    def _children_named(self, node: Area | _Plan, name: str) -> list[Area | _Plan]:
        found: dict[tuple[str, int], Area | _Plan] = {}
        area = node.existing if isinstance(node, _Plan) else node
        if area is not None:
            child = self.children_of(area.pk).get(name)
            if child is not None:
                found[("a", child.pk)] = self._node(child)
        plan = self.plan_children.get((_key(node), name))
        if plan is not None:
            found[plan.key] = plan
        return list(found.values())

    def find_by_name(self, text: str) -> list[Area | _Plan]:
        """Areas (or earlier rows) a ``parent_name`` can mean: a plain name, or
        ``code-or-name/child name/…`` going down the tree."""
        found = self._by_plain_name(text)
        if found or "/" not in text:
            return found
        head, *rest = [part.strip() for part in text.split("/")]
        if head in self.plan_by_code:
            nodes: list[Area | _Plan] = [self.plan_by_code[head]]
        else:
            area = self.existing_by_code.get(head)
            if area is None and head:
                area = self._fetch_codes({head}).get(head)
                if area is not None:
                    self.existing_by_code[head] = area
            nodes = [self._node(area)] if area is not None else self._by_plain_name(head)
        for part in rest:
            nodes = [child for node in nodes for child in self._children_named(node, part)]
        return nodes

    def resolve_parent(self, row: Row, errors: dict[str, str]) -> tuple[bool, Area | _Plan | None]:
        """(given, parent node). ``given`` is False when the row names no parent."""
        if row.parent_code:
            code = row.parent_code
            if code in self.plan_by_code:
                return True, self.plan_by_code[code]
            if code in self.existing_by_code:
                return True, self._node(self.existing_by_code[code])
            later = self.first_row_of_code.get(code)
            if code == row.code:
                errors["parent_code"] = _("上级编码不能是本行自己的编码")
            elif later is not None and later > row.number:
                errors["parent_code"] = _("上级 %(code)s 在第 %(n)d 行，须排在本行之前") % {"code": code, "n": later}
            elif later is not None:
                errors["parent_code"] = _("上级 %(code)s 所在的第 %(n)d 行有错误") % {"code": code, "n": later}
            else:
                errors["parent_code"] = _("找不到编码为 %(code)s 的上级区域") % {"code": code}
            return True, None
        if row.parent_name:
            found = self.find_by_name(row.parent_name)
            if len(found) == 1:
                return True, found[0]
            if not found:
                errors["parent_name"] = _("找不到名为“%(name)s”的上级区域") % {"name": row.parent_name}
            else:
                errors["parent_name"] = _("名为“%(name)s”的区域不止一个，请填写上级编码") % {"name": row.parent_name}
            return True, None
        return False, None

    # -- one row -------------------------------------------------------------------------------

    def check(self, row: Row) -> _Plan:
        plan = _Plan(row=row, name=(row.name or "").strip())
        errors: dict[str, str] = {}
        for column, message in row.problems:
            errors.setdefault(column, message)

        if row.level:
            plan.level = self.levels.get(row.level) or self.levels.get(row.level.lower())
            if plan.level is None:
                errors["level"] = _("没有这个层级：%(level)s") % {"level": row.level}
        elif "feature" not in errors and "properties" not in errors:
            errors["level"] = _("层级不能为空")

        code = row.code
        if code and self.first_row_of_code.get(code) != row.number:
            errors["code"] = _("编码 %(code)s 与第 %(n)d 行重复") % {"code": code, "n": self.first_row_of_code[code]}
            code = None
        parent_given, parent = self.resolve_parent(row, errors)
        parent_failed = parent_given and parent is None

        existing = self.existing_by_code.get(code) if code else None
        if existing is None and code is None and "code" not in errors and not parent_failed and plan.name:
            existing = self._codeless_match(parent, plan.name)
        if existing is not None and existing.pk in self.plan_by_pk:
            other = self.plan_by_pk[existing.pk].row.number
            errors["row"] = _("与第 %(n)d 行是同一个区域") % {"n": other}
            existing = None
        plan.existing = existing

        if existing is not None:
            if plan.level is not None and plan.level.pk != existing.level_id:
                errors["level"] = _("不能通过导入修改层级（现为“%(level)s”）") % {"level": existing.level.name}
            if parent is not None and _key(parent) != ("a", existing.parent_id or 0):
                errors["parent_code" if row.parent_code else "parent_name"] = _("移动区域请在管理后台操作")
            if existing.parent_id is not None:
                parent = self._node(existing.parent)
            else:
                parent = None
            plan.level = existing.level

        if plan.level is not None:
            # Without a parent (it could not be found) the checks that need none still run.
            self._check_fields(plan, None if parent_failed else parent, errors, parent_failed=parent_failed)
        elif not plan.name and not row.problems:
            errors["name"] = _("名称不能为空")
        plan.parent = parent

        # Register the row so that later rows can name it as their parent.
        if plan.facts is not None:
            if "name" not in errors and parent is not None:
                self.plan_children.setdefault((_key(parent), plan.name), plan)
            if code and "code" not in errors:
                self.plan_by_code[code] = plan
            if existing is not None:
                self.plan_by_pk[existing.pk] = plan
            if plan.name:
                self.plans_by_name.setdefault(plan.name, []).append(plan)

        for column, message in errors.items():
            self.report.errors.append(RowError(row.number, column, message))
        plan.bad = bool(errors)
        return plan

    def _codeless_match(self, parent: Area | _Plan | None, name: str) -> Area | None:
        """A row without a code updates the code-less area of that name under the same parent."""
        if parent is None:
            roots = list(Area.objects.filter(parent__isnull=True, name=name, code__isnull=True)
                         .select_related("level")[:2])
            return roots[0] if len(roots) == 1 else None
        area = parent.existing if isinstance(parent, _Plan) else parent
        if area is None:
            return None
        child = self.children_of(area.pk).get(name)
        return child if child is not None and not child.code else None

    def _check_fields(self, plan: _Plan, parent: Area | _Plan | None, errors: dict[str, str], *,
                      parent_failed: bool = False) -> None:
        row, existing = plan.row, plan.existing
        if "geometry" in row.given:
            geometry = row.geometry
        else:
            geometry = existing.geometry if existing is not None else None
        facts = self.facts_of(parent)
        clean, field_errors = services.check_area_fields(
            level=plan.level, parent=facts, code=row.code if "code" not in errors else None,
            geometry=None if "geometry" in errors else geometry, name=row.name, root_rank=self.root_rank)
        for name, message in field_errors.items():
            if not (parent_failed and name == "parent"):
                errors.setdefault(_FIELD_COLUMN.get(name, name), message)
        plan.name = clean["name"]

        # Sibling names: in the database, and among the rows of this file.
        if parent is not None and plan.name and "name" not in errors:
            parent_area = parent.existing if isinstance(parent, _Plan) else parent
            if parent_area is not None:
                sibling = self.children_of(parent_area.pk).get(plan.name)
                renamed_away = sibling is not None and sibling.pk in self.plan_by_pk \
                    and self.plan_by_pk[sibling.pk].name != plan.name
                if sibling is not None and (existing is None or sibling.pk != existing.pk) and not renamed_away:
                    errors["name"] = _("“%(parent)s”下已有名为“%(name)s”的区域") % {
                        "parent": parent_area.name, "name": plan.name}
            other = self.plan_children.get((_key(parent), plan.name))
            if "name" not in errors and other is not None and other is not plan:
                errors["name"] = _("与第 %(n)d 行同名且上级相同") % {"n": other.row.number}

        # This row as the parent of later rows: a polygon that parsed is used even when it sticks out
        # of its own parent (that row is reported; its children are still checked against it).
        plan.facts = services.ParentFacts(
            name=plan.name, level=plan.level, code=clean["code"] if "code" not in errors else None,
            geometry=clean["geometry"] if clean["shape"] is not None else None, _shape=clean["shape"])

        if existing is None:
            plan.action = "create"
            return
        changes: dict[str, Any] = {}
        if plan.name != existing.name:
            changes["name"] = plan.name
        if "name_en" in row.given and (row.name_en or "") != (existing.name_en or ""):
            changes["name_en"] = row.name_en or ""
        if "geometry" in row.given and (row.geometry or None) != (existing.geometry or None):
            changes["geometry"] = row.geometry or None
        if "attributes" in row.given and (row.attributes or {}) != (existing.attributes or {}):
            changes["attributes"] = row.attributes or {}
        plan.changes = changes
        plan.action = "update" if changes else "unchanged"

    def run(self) -> list[_Plan]:
        plans = []
        total = len(self.rows)
        for done, row in enumerate(self.rows, start=1):
            plans.append(self.check(row))
            if self.progress is not None:
                self.progress("check", done, total)
        return plans


def _describe(plan: _Plan) -> str:
    label = f"{plan.name}（{plan.row.code}）" if plan.row.code else plan.name
    if plan.action == "create":
        parent = plan.parent
        parent_name = (parent.name if parent is not None else "")
        return _("新建%(level)s %(label)s，上级：%(parent)s") % {
            "level": plan.level.name, "label": label, "parent": parent_name or _("无")}
    return _("更新 %(label)s：%(fields)s") % {"label": label, "fields": "、".join(plan.changes)}


def _write(plans: list[_Plan], *, actor, progress: Progress | None) -> None:
    """Create and update in file order (parents come first); raise ImportWriteError on refusal."""
    total = len(plans)
    for done, plan in enumerate(plans, start=1):
        try:
            if plan.action == "create":
                parent = plan.parent
                if isinstance(parent, _Plan):
                    parent = parent.result or parent.existing
                plan.result = services.create_area(
                    actor=actor, level=plan.level, parent=parent, name=plan.name, code=plan.row.code,
                    geometry=plan.row.geometry, attributes=plan.row.attributes, name_en=plan.row.name_en)
            elif plan.action == "update":
                plan.result = services.update_area(plan.existing, actor=actor, **plan.changes)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"row": exc.messages}
            raise ImportWriteError(plan.row.number, [
                (_FIELD_COLUMN.get(name, name), "；".join(msgs)) for name, msgs in messages.items()]) from exc
        except DatabaseError as exc:
            raise ImportWriteError(plan.row.number, [
                ("row", _("写入失败（可能有人同时修改了区划，请重试）：%(error)s") % {"error": exc})]) from exc
        if progress is not None:
            progress("write", done, total)


def import_areas(rows: Iterable[Row], *, actor, commit: bool, progress: Progress | None = None) -> ImportReport:
    """Check every row; write them all (one transaction) only when ``commit`` and no row is bad.

    ``actor`` is the user the audit rows name (None: the system, as in management commands).
    """
    rows = list(rows)
    report = ImportReport(total=len(rows))
    plans = _Checker(rows, report, progress).run()
    if report.errors:
        report.errors.sort(key=lambda e: e.row)
        return report
    for plan in plans:
        if plan.action == "create":
            report.created += 1
        elif plan.action == "update":
            report.updated += 1
        else:
            report.unchanged += 1
        if plan.action != "unchanged":
            report.changes.append((plan.row.number, plan.action, _describe(plan)))
    if not commit:
        return report
    try:
        with transaction.atomic():
            _write(plans, actor=actor, progress=progress)
    except ImportWriteError as exc:
        report.errors = [RowError(exc.row, column, message) for column, message in exc.errors]
        report.created = report.updated = report.unchanged = 0
        report.changes = []
        return report
    report.committed = True
    return report
