"""Import and export of premises as xlsx (one sheet, a header row, one premises per row).

Columns (``COLUMNS``; the Chinese headers of ``HEADERS`` are accepted too): ``code`` 编号, ``name`` 名称,
``type`` 类型 (a type's code or name), ``address`` 地址, ``lon`` 经度, ``lat`` 纬度, ``operator`` 经营者,
``phone`` 联系电话, ``risk`` 风险等级 (low/medium/high or 低/中/高), ``licences`` 证照 — licences as
``类型:号码:有效期`` separated by ``;`` (e.g. ``营业执照:91150302MA0N:2027-06-30; 食品经营许可证:JY115:``).

Two phases like ``gongzhi.areas.io`` (whose file reading helpers this reuses): every row is checked
first — a point outside the city, an unknown type, a bad phone, a licence that does not parse, a
code used twice in the file — and only with ``commit`` and no bad row is anything written, in one
transaction, through ``services`` (each premises leaves its audit rows). A row whose code matches an
existing premises updates it (its licences are added when new); a row without a point is registered
"to be located".
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.areas.io import ImportFileError, _read_bytes, _text
from gongzhi.core.imports import ImportReport as BaseImportReport
from gongzhi.core.imports import RowError

from . import services
from .models import Licence, Premises, PremisesType, RiskLevel

COLUMNS = ("code", "name", "type", "address", "lon", "lat", "operator", "phone", "risk", "licences")
HEADERS = {"编号": "code", "名称": "name", "类型": "type", "地址": "address", "经度": "lon", "纬度": "lat",
           "经营者": "operator", "联系电话": "phone", "风险等级": "risk", "证照": "licences"}
COLUMN_HEADERS = {value: key for key, value in HEADERS.items()}
#: services' field names → the file's column names (for error messages).
FIELD_COLUMNS = {"operator_name": "operator", "contact_phone": "phone", "risk_level": "risk", "kind": "licences",
                 "number": "licences", "valid_until": "licences", "__all__": "name"}
RISK_WORDS = {"低": "low", "中": "medium", "高": "high", "低风险": "low", "中风险": "medium", "高风险": "high"}
SHEET_NAME = "premises"
MAX_ROWS = 20_000


@dataclass
class Row:
    """One premises as the file gives it, and what was wrong with it while reading."""

    number: int
    values: dict[str, Any]
    licences: list[dict] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportReport(BaseImportReport):
    created: int = 0
    updated: int = 0
    to_locate: int = 0

    def summary(self) -> str:
        c = {"total": self.total, "created": self.created, "updated": self.updated, "locate": self.to_locate,
             "bad": len(self.bad_rows)}
        if self.errors:
            return self.refused()
        if self.committed:
            return _("已导入：共 %(total)d 行，新建 %(created)d 个场所（其中 %(locate)d 个待定位），"
                     "更新 %(updated)d 个。") % c
        return _("试运行：共 %(total)d 行，将新建 %(created)d 个场所（其中 %(locate)d 个待定位），"
                 "更新 %(updated)d 个；未写入任何数据。") % c


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def licences_text(licences: Iterable[Licence]) -> str:
    return "; ".join(f"{lic.get_kind_display()}:{lic.number}:{lic.valid_until.isoformat() if lic.valid_until else ''}"
                     for lic in licences)


def to_xlsx_bytes(qs) -> bytes:
    """The premises of ``qs`` in the import format (every cell text: nothing becomes a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAME)

    def cell(value: Any) -> WriteOnlyCell:
        if isinstance(value, str):
            c = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value) or None)
            if value:
                c.data_type = "s"
            return c
        return WriteOnlyCell(sheet, value=value)

    sheet.append([cell(COLUMN_HEADERS[c]) for c in COLUMNS])
    qs = qs.select_related("type").prefetch_related("licences").order_by("id")
    for p in qs.iterator(chunk_size=1000):
        sheet.append([cell(v) for v in (p.code or "", p.name, p.type.code, p.address, p.lon, p.lat,
                                        p.operator_name, p.contact_phone, p.risk_level,
                                        licences_text(p.licences.all()))])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_bytes() -> bytes:
    return to_xlsx_bytes(Premises.objects.none())


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _licence_kinds() -> dict[str, str]:
    kinds = {}
    for value, label in Licence.Kind.choices:
        kinds[value] = value
        kinds[str(label)] = value
    return kinds


def _parse_licences(text: str) -> tuple[list[dict], list[str]]:
    licences, problems = [], []
    kinds = _licence_kinds()
    for part in text.replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.replace("：", ":").split(":")]
        if len(bits) not in (2, 3) or not bits[1]:
            problems.append(_("“%(part)s”应写作 类型:号码:有效期") % {"part": part})
            continue
        kind = kinds.get(bits[0])
        if kind is None:
            problems.append(_("未知的证照类型：%(kind)s") % {"kind": bits[0]})
            continue
        until = bits[2] if len(bits) == 3 else ""
        try:
            valid_until = datetime.date.fromisoformat(until) if until else None
        except ValueError:
            problems.append(_("有效期“%(value)s”应写作 2027-06-30") % {"value": until})
            continue
        licences.append({"kind": kind, "number": bits[1], "valid_until": valid_until})
    return licences, problems


def _coordinate(value: Any) -> float | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    return float(value) if isinstance(value, int | float) else float(_text(value))


def read_xlsx(path_or_file: str | Path | IO[bytes]) -> list[Row]:
    """The rows of the workbook's first sheet; raise ImportFileError when it can't be read."""
    from openpyxl import load_workbook

    data, _name = _read_bytes(path_or_file)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for files it can't read
        raise ImportFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        header = next(cells, None) or ()
        positions: dict[str, int] = {}
        for i, value in enumerate(header):
            name = _text(value)
            name = HEADERS.get(name, name.lower())
            if name in COLUMNS and name not in positions:
                positions[name] = i
        missing = [c for c in ("name", "type") if c not in positions]
        if missing:
            raise ImportFileError(_("第 1 行应为表头，缺少列：%(cols)s") % {"cols": ", ".join(missing)})
        rows = []
        for number, values in enumerate(cells, start=2):
            if not values or all(_text(v) == "" for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
            raw = {c: values[i] if i < len(values) else None for c, i in positions.items()}
            rows.append(_row(number, raw))
        return rows
    finally:
        workbook.close()


def _row(number: int, raw: dict[str, Any]) -> Row:
    row = Row(number, {})
    v = row.values
    for column in ("code", "name", "address", "operator", "phone", "risk", "type"):
        if column in raw:
            v[column] = _text(raw[column])
    for column in ("lon", "lat"):
        if column in raw:
            try:
                v[column] = _coordinate(raw[column])
            except ValueError:
                row.problems.append((column, _("不是数字：%(value)s") % {"value": _text(raw[column])}))
    if "risk" in v:
        risk = RISK_WORDS.get(v["risk"], v["risk"].lower()) if v["risk"] else RiskLevel.LOW
        v["risk"] = risk
    if raw.get("licences") is not None:
        row.licences, problems = _parse_licences(_text(raw["licences"]))
        row.problems += [("licences", p) for p in problems]
    return row


# --------------------------------------------------------------------------------------------
# Checking and writing
# --------------------------------------------------------------------------------------------


def _fields(row: Row, types: dict[str, PremisesType]) -> tuple[dict, list[tuple[str, str]]]:
    v = row.values
    problems: list[tuple[str, str]] = []
    fields: dict[str, Any] = {}
    mapping = {"code": "code", "name": "name", "address": "address", "operator": "operator_name",
               "phone": "contact_phone", "risk": "risk_level", "lon": "lon", "lat": "lat"}
    for column, name in mapping.items():
        if column in v:
            fields[name] = v[column]
    if fields.get("lon") is None and fields.get("lat") is None:
        fields.pop("lon", None)  # no point: "to be located" when new, left alone when updating
        fields.pop("lat", None)
    if "type" in v:
        kind = types.get(v["type"]) or types.get(v["type"].lower())
        if kind is None:
            problems.append(("type", _("未知的场所类型：%(type)s") % {"type": v["type"] or "—"}))
        else:
            fields["type"] = kind
    return fields, problems


def _errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "message_dict"):
        return [(FIELD_COLUMNS.get(k, k), m) for k, ms in exc.message_dict.items() for m in ms]
    return [("name", m) for m in exc.messages]


def import_premises(rows: list[Row], *, actor, commit: bool) -> ImportReport:
    """Check every row; write them all (one transaction) only when ``commit`` and none is bad."""
    report = ImportReport(total=len(rows))
    types = {}
    for t in PremisesType.objects.filter(is_active=True):
        types[t.code] = types[t.name] = t
    existing = {p.code: p for p in Premises.objects.filter(code__in=[r.values.get("code") for r in rows
                                                                    if r.values.get("code")])}
    seen_codes: dict[str, int] = {}
    plans: list[tuple[Row, dict, Premises | None]] = []
    for row in rows:
        errors = list(row.problems)
        fields, problems = _fields(row, types)
        errors += problems
        code = fields.get("code") or None
        if code:
            if code in seen_codes:
                errors.append(("code", _("与第 %(row)d 行的编号重复") % {"row": seen_codes[code]}))
            seen_codes.setdefault(code, row.number)
        target = existing.get(code) if code else None
        if target is None and not fields.get("name"):
            errors.append(("name", _("名称不能为空")))
        if target is None and "type" not in fields and not any(c == "type" for c, _m in errors):
            errors.append(("type", _("请填写场所类型")))
        try:
            services.clean_fields(fields)
        except ValidationError as exc:
            errors += _errors_of(exc)
        if not any(c in ("lon", "lat") for c, _m in errors):
            try:
                area = services.locate(fields.get("lon"), fields.get("lat"))
            except ValidationError as exc:
                errors += _errors_of(exc)
            else:
                moves = target is None or "lon" in fields
                new_area = area if moves else target.area
                creator = target.created_by if target else (actor if getattr(actor, "is_authenticated", False)
                                                            else None)
                after = Premises(area=new_area, area_path=new_area.path if new_area else "", created_by=creator)
                if actor is not None and not services.can_write(actor, after):
                    errors.append(("lon", _("该位置不在您的管辖范围内")))
                if new_area is None:
                    report.to_locate += 1
        if target is not None and actor is not None and not services.can_write(actor, target):
            errors.append(("code", _("编号 %(code)s 的场所不在您的管辖范围内") % {"code": code}))
        for column, message in errors:
            report.errors.append(RowError(row.number, column, message))
        if errors:
            continue
        plans.append((row, fields, target))
        if target is None:
            report.created += 1
        else:
            report.updated += 1
    if report.errors or not commit:
        return report
    try:
        with transaction.atomic():
            for row, fields, target in plans:
                if target is None:
                    name, kind = fields.pop("name"), fields.pop("type")
                    services.create_premises(actor=actor, name=name, type=kind, licences=row.licences, **fields)
                else:
                    target = services.update_premises(target, actor=actor, **fields)
                    have = set(target.licences.values_list("kind", "number"))
                    for licence in row.licences:
                        if (licence["kind"], licence["number"]) not in have:
                            services.add_licence(target, actor=actor, **licence)
    except (ValidationError, PermissionDenied) as exc:  # the data changed between the check and the write
        report.errors.append(RowError(0, "", "; ".join(getattr(exc, "messages", [str(exc)]))))
        return report
    report.committed = True
    return report
