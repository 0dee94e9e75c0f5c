"""Voter rolls: create, import (xlsx or CSV), delete — and the import template.

One row per member (an owner, a household member, a representative); the rows with the same 房号
form one unit (a household or a property unit). Columns — Chinese headers as in ``roll_template``,
the English names of ``ALIASES`` accepted too:

======  ============  ==========================================================================
header  field         what
======  ============  ==========================================================================
楼栋    building      optional; rows of one unit must agree (a blank cell takes the unit's value)
房号    code          required; the unit (楼栋-单元-室, or a household number in a village)
建筑面积 floor_area    ㎡, ≥ 0, at most two decimals; rows of one unit must agree; required (once per
                      unit) in an owners' roll
姓名    name          required
手机号  phone         optional, 11 digits; a platform account with that number is linked
业主标识 owner_key     optional; the same key on several units = one owner (counted once by headcount)
户代表  head          是/否 (default 否)
代表    representative 是/否 (default 否)
成年    adult         是/否 (default 是)
委托代理人 proxy       optional: who votes for the member with a written proxy
======  ============  ==========================================================================

Like every import (``gongzhi.core.imports``, ARCHITECTURE pattern 6): every row is checked first,
a file with any bad row writes nothing, and nothing is written without ``commit``. Importing into an
existing roll replaces its units and members in one transaction (units keep their ids when their
房号 stays: cost-sharing statements point at them) — refused while a decision on the roll is open.
Every write leaves an audit row (``deliberation.create_roll|import_roll|delete_roll``).
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from gongzhi.core import audit, imports
from gongzhi.core.errors import Conflict
from gongzhi.core.imports import ImportReport, RowError

from .models import Decision, Member, ShareStatement, Unit, VoterRoll
from .queries import can_manage

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
SHEET_NAME = "名册"
TEXT_MAX = 64
AREA_MAX = Decimal("9999999999.99")  # AREA_DIGITS: 12 digits, 2 decimals
PHONE_RE = re.compile(r"^1\d{10}$")

#: The file's columns in order: (field, Chinese header).
COLUMNS = (("building", "楼栋"), ("code", "房号"), ("floor_area", "建筑面积"), ("name", "姓名"), ("phone", "手机号"),
           ("owner_key", "业主标识"), ("head", "户代表"), ("representative", "代表"), ("adult", "成年"),
           ("proxy", "委托代理人"))
HEADERS = dict(COLUMNS)  # field → Chinese header (what error messages name)
ALIASES = {header: name for name, header in COLUMNS} | {name: name for name, _h in COLUMNS} | {
    "户号": "code", "房屋编号": "code", "unit": "code", "unit_code": "code", "room": "code",
    "面积": "floor_area", "area": "floor_area",
    "手机号码": "phone", "手机": "phone", "联系电话": "phone", "mobile": "phone",
    "owner": "owner_key", "是否户代表": "head", "is_head": "head", "是否代表": "representative",
    "is_representative": "representative", "是否成年": "adult", "is_adult": "adult",
    "代理人": "proxy", "proxy_name": "proxy",
}
REQUIRED = ("code", "name")
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "n", "no", "false", "0", "×", "✗"}
EXAMPLES = (
    ("1", "1-101", "89.50", "周一鸣", "13800000000", "", "是", "否", "是", ""),
    ("1", "1-101", "89.50", "周小雨", "", "", "否", "否", "否", ""),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RollFileError(ValidationError):
    """The file can't be read as a voter roll at all (not xlsx or CSV, empty, too large, headers
    missing); the message is for the user."""


# ------------------------------------------------------------------------------------ the report


@dataclass
class RollImportReport(ImportReport):
    """What an import did (``committed``) or would do: the counts of the file's roll."""

    units: int = 0
    members: int = 0
    total_area: Decimal = Decimal("0.00")
    linked: int = 0
    #: replacing a roll: what it held before
    replaces: VoterRoll | None = None
    previous_units: int = 0
    previous_members: int = 0
    roll: VoterRoll | None = None

    def counts(self) -> dict[str, Any]:
        return {"total": self.total, "units": self.units, "members": self.members, "area": f"{self.total_area:.2f}",
                "linked": self.linked, "old_units": self.previous_units, "old_members": self.previous_members}

    def summary(self) -> str:
        if self.errors:
            return self.refused()
        c = self.counts()
        if self.committed:
            text = _("已导入：共 %(total)d 行，%(units)d 户（套）、%(members)d 人，总建筑面积 %(area)s ㎡，"
                     "%(linked)d 人已关联平台账号。") % c
        else:
            text = _("试运行：共 %(total)d 行，将导入 %(units)d 户（套）、%(members)d 人，总建筑面积 %(area)s ㎡，"
                     "%(linked)d 人可关联平台账号；未写入任何数据。") % c
        if self.replaces is not None:
            text += " " + _("名册原有的 %(old_units)d 户（套）、%(old_members)d 人将被替换。") % c
        return text


# ------------------------------------------------------------------------------------ reading


@dataclass
class RawRow:
    number: int
    values: dict[str, Any]
    sheet: str = ""


def _text(value: Any) -> str:
    """A cell as stripped text: numbers typed into cells (phones, 101) stay digits; NUL is dropped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "").strip()


def _header_name(value: Any) -> str:
    """A header cell → a field name ("" when unknown): ``建筑面积（㎡）`` and ``Floor_Area`` are known."""
    text = re.sub(r"[（(].*?[）)]|[*＊]", "", _text(value)).strip()
    return ALIASES.get(text) or ALIASES.get(text.lower()) or ""


def _positions(header: Iterable[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, value in enumerate(header):
        name = _header_name(value)
        if name and name not in positions:
            positions[name] = i
    missing = [HEADERS[c] for c in REQUIRED if c not in positions]
    if missing:
        raise RollFileError(_("第 1 行应为表头，缺少列：%(missing)s（列为 %(columns)s）") % {
            "missing": "、".join(missing), "columns": "、".join(h for _n, h in COLUMNS)})
    return positions


def _rows(cells: Iterable[tuple], sheet: str = "") -> list[RawRow]:
    cells = iter(cells)
    header = next(cells, None)
    if header is None or all(_text(v) == "" for v in header):
        raise RollFileError(_("文件是空的：第 1 行应为表头"))
    positions = _positions(header)
    rows = []
    for number, values in enumerate(cells, start=2):
        if not values or all(_text(v) == "" for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise RollFileError(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
        rows.append(RawRow(number, {c: values[i] if i < len(values) else None for c, i in positions.items()},
                           sheet))
    if not rows:
        raise RollFileError(_("文件中只有表头，没有成员"))
    return rows


def read_file(file: bytes | str | Path | IO[bytes], filename: str = "") -> list[RawRow]:
    """The rows of an xlsx workbook (its sheet 名册, else the first) or a CSV file."""
    try:
        title, cells = imports.read_table(file, filename, max_bytes=MAX_BYTES, sheet_name=SHEET_NAME)
    except imports.TableFileError as exc:
        raise RollFileError(str(exc)) from None
    return _rows(cells, title)


# ------------------------------------------------------------------------------------ checking


@dataclass
class MemberPlan:
    row: int
    name: str
    phone: str
    owner_key: str
    is_head: bool
    is_representative: bool
    is_adult: bool
    proxy_name: str


@dataclass
class UnitPlan:
    code: str
    building: str
    floor_area: Decimal | None
    row: int
    sheet: str = ""
    building_row: int = 0
    area_row: int = 0
    members: list[MemberPlan] = field(default_factory=list)


def _area(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(_("不是数字：%(value)s") % {"value": text}) from None
    if not value.is_finite():
        raise ValueError(_("不是数字：%(value)s") % {"value": text})
    if value < 0:
        raise ValueError(_("不能为负数"))
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("最多两位小数"))
    if value > AREA_MAX:
        raise ValueError(_("数值过大"))
    return value.quantize(Decimal("0.01"))


def _flag(text: str, default: bool) -> bool:
    if text == "":
        return default
    if text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise ValueError(_("请填写“是”或“否”"))


def _phone(text: str) -> str:
    phone = re.sub(r"[\s\-－]", "", text)
    if phone.startswith("+86"):
        phone = phone[3:]
    if phone and not PHONE_RE.match(phone):
        raise ValueError(_("应为 11 位手机号码"))
    return phone


def _check(rows: list[RawRow], kind: str, report: RollImportReport) -> dict[str, UnitPlan]:
    units: dict[str, UnitPlan] = {}

    def error(row: RawRow, column: str, message: str) -> None:
        report.errors.append(RowError(row.number, HEADERS[column], message, row.sheet))

    for row in rows:
        before = len(report.errors)
        v = {c: _text(value) for c, value in row.values.items()}
        for column in ("code", "building"):
            if isinstance(row.values.get(column), datetime.date | datetime.time):
                error(row, column, _("被 Excel 识别成了日期，请把该列设为文本格式后重新填写"))
        for column in ("code", "name", "building", "owner_key", "proxy"):
            if len(v.get(column, "")) > TEXT_MAX:
                error(row, column, _("不能超过 %(n)d 个字符") % {"n": TEXT_MAX})
        for column in REQUIRED:
            if not v.get(column):
                error(row, column, _("不能为空"))
        area = None
        if v.get("floor_area"):
            try:
                area = _area(v["floor_area"])
            except ValueError as exc:
                error(row, "floor_area", str(exc))
        try:
            phone = _phone(v.get("phone", ""))
        except ValueError as exc:
            error(row, "phone", str(exc))
            phone = ""
        flags = {}
        for column, default in (("head", False), ("representative", False), ("adult", True)):
            try:
                flags[column] = _flag(v.get(column, ""), default)
            except ValueError as exc:
                error(row, column, str(exc))
        if len(report.errors) > before:
            continue
        code, building = v["code"], v.get("building", "")
        unit = units.get(code)
        if unit is None:
            unit = units[code] = UnitPlan(code, building, area, row.number, row.sheet,
                                          building_row=row.number if building else 0,
                                          area_row=row.number if area is not None else 0)
        else:
            if building and unit.building and building != unit.building:
                error(row, "building", _("与第 %(row)d 行同一房号的楼栋（%(value)s）不一致") % {
                    "row": unit.building_row, "value": unit.building})
            elif building and not unit.building:
                unit.building, unit.building_row = building, row.number
            if area is not None and unit.floor_area is not None and area != unit.floor_area:
                error(row, "floor_area", _("与第 %(row)d 行同一房号的建筑面积（%(value)s）不一致") % {
                    "row": unit.area_row, "value": unit.floor_area})
            elif area is not None and unit.floor_area is None:
                unit.floor_area, unit.area_row = area, row.number
        if any(m.name == v["name"] and m.phone == phone for m in unit.members):
            error(row, "name", _("同一房号下重复的成员：%(name)s") % {"name": v["name"]})
        if len(report.errors) > before:
            continue
        unit.members.append(MemberPlan(row.number, v["name"], phone, v.get("owner_key", ""), flags["head"],
                                       flags["representative"], flags["adult"], v.get("proxy", "")))
    if kind == VoterRoll.Kind.OWNERS:
        for unit in units.values():
            if unit.floor_area is None and unit.members:
                report.errors.append(RowError(unit.row, HEADERS["floor_area"], _("业主名册须填写建筑面积"),
                                              unit.sheet))
    return units


def _users_by_phone(phones: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    phones_list = sorted(phones)
    for i in range(0, len(phones_list), 500):
        for user in get_user_model().objects.filter(phone__in=phones_list[i:i + 500], is_active=True):
            found[user.phone] = user
    return found


# ------------------------------------------------------------------------------------ services


def _clean_roll_fields(name: str, kind: str) -> tuple[str, str]:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": _("请填写名册名称")})
    if len(name) > 120:
        raise ValidationError({"name": _("名册名称不能超过 %(n)d 个字符") % {"n": 120}})
    if kind not in VoterRoll.Kind.values:
        raise ValidationError({"kind": _("未知的名册类别")})
    return name, kind


def _roll_counts(roll: VoterRoll) -> dict[str, Any]:
    units = Unit.objects.filter(roll=roll).aggregate(n=Count("pk"), area=Sum("floor_area"))
    return {"units": units["n"], "members": Member.objects.filter(roll=roll).count(),
            "floor_area": f"{units['area'] or 0:.2f}"}


def _refuse_if_open(roll: VoterRoll) -> None:
    if Decision.objects.filter(roll=roll, status=Decision.Status.OPEN).exists():
        raise Conflict(_("该名册有正在进行的表决（其选民已在开始时冻结），表决结束前不能重新导入"))


@transaction.atomic
def create_roll(*, actor, area, name: str, kind: str = VoterRoll.Kind.OWNERS, note: str = "") -> VoterRoll:
    """An empty roll of ``area`` (fill it with ``import_roll``)."""
    if not can_manage(actor, area):
        raise PermissionDenied(_("您不能在该区域建立表决名册"))
    name, kind = _clean_roll_fields(name, kind)
    note = (note or "").strip()[:2000] if isinstance(note, str) else ""
    roll = VoterRoll.objects.create(area=area, name=name, kind=kind, note=note,
                                    created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(actor, "deliberation.create_roll", roll, after=audit.snapshot(roll))
    return roll


@transaction.atomic
def delete_roll(roll: VoterRoll, *, actor) -> None:
    """Delete a roll with its units and members — refused once any decision uses it (its electors,
    figures and results refer to it) or a project's cost-sharing statement names one of its units."""
    roll = VoterRoll.objects.select_for_update().select_related("area").get(pk=roll.pk)
    if not can_manage(actor, roll.area):
        raise PermissionDenied(_("您不能删除该名册"))
    if Decision.objects.filter(roll=roll).exists():
        raise Conflict(_("该名册已用于表决，不能删除"))
    if ShareStatement.objects.filter(unit__roll=roll).exists():
        raise Conflict(_("该名册的房屋已用于费用分摊，不能删除"))
    before = audit.snapshot(roll) | _roll_counts(roll)
    audit.record(actor, "deliberation.delete_roll", roll, before=before)
    roll.delete()


def import_roll(file, *, actor, area, name: str, kind: str, roll: VoterRoll | None = None,
                commit: bool = False, filename: str = "") -> RollImportReport:
    """Check a roll file (xlsx or CSV) and, with ``commit`` and no bad row, write it: a new roll of
    ``area`` (``roll`` None) or the replacement of ``roll``'s units and members (its name and kind
    set to ``name`` and ``kind``). Raises PermissionDenied, ValidationError (name, kind, area),
    Conflict (a decision on the roll is open) and RollFileError (an unreadable file)."""
    if roll is not None:
        area = roll.area
    if not can_manage(actor, area):
        raise PermissionDenied(_("您不能在该区域导入表决名册"))
    name, kind = _clean_roll_fields(name, kind)
    if roll is not None:
        _refuse_if_open(roll)
    rows = read_file(file, filename)
    report = RollImportReport(total=len(rows))
    plans = _check(rows, kind, report)
    if report.errors:
        return report
    report.units = len(plans)
    report.members = sum(len(u.members) for u in plans.values())
    report.total_area = sum((u.floor_area or Decimal(0) for u in plans.values()), Decimal("0.00"))
    users = _users_by_phone({m.phone for u in plans.values() for m in u.members if m.phone})
    report.linked = sum(1 for u in plans.values() for m in u.members if m.phone in users)
    if roll is not None:
        report.replaces = roll
        report.previous_units = roll.units.count()
        report.previous_members = roll.members.count()
        _refuse_protected(roll, plans)
    if not commit:
        return report
    report.roll = _write(plans, users, actor=actor, area=area, name=name, kind=kind, roll=roll)
    report.committed = True
    return report


def _refuse_protected(roll: VoterRoll, plans: dict[str, UnitPlan]) -> None:
    used = set(ShareStatement.objects.filter(unit__roll=roll).values_list("unit__code", flat=True))
    codes = sorted(used - set(plans))[:10]
    if codes:
        raise Conflict(_("房号 %(codes)s 已用于费用分摊，新名册中必须保留") % {"codes": "、".join(codes)})


@transaction.atomic
def _write(plans: dict[str, UnitPlan], users: dict[str, Any], *, actor, area, name: str, kind: str,
           roll: VoterRoll | None) -> VoterRoll:
    if roll is None:
        roll = create_roll(actor=actor, area=area, name=name, kind=kind)
        before = {"units": 0, "members": 0, "floor_area": "0.00"}
    else:
        roll = VoterRoll.objects.select_for_update().get(pk=roll.pk)
        _refuse_if_open(roll)  # again, under the lock
        _refuse_protected(roll, plans)
        before = audit.snapshot(roll, ["name", "kind"]) | _roll_counts(roll)
        if (roll.name, roll.kind) != (name, kind):
            roll.name, roll.kind = name, kind
            roll.save(update_fields=["name", "kind", "updated_at"])
    Member.objects.filter(roll=roll).delete()
    existing = {u.code: u for u in Unit.objects.filter(roll=roll)}
    gone = [u.pk for code, u in existing.items() if code not in plans]
    for i in range(0, len(gone), 500):
        Unit.objects.filter(pk__in=gone[i:i + 500]).delete()
    changed, new = [], []
    for code, plan in plans.items():
        area_m2 = plan.floor_area or Decimal("0.00")
        unit = existing.get(code)
        if unit is None:
            new.append(Unit(roll_id=roll.pk, code=code, building=plan.building, floor_area=area_m2))
        elif (unit.building, unit.floor_area) != (plan.building, area_m2):
            unit.building, unit.floor_area = plan.building, area_m2
            changed.append(unit)
    Unit.objects.bulk_update(changed, ["building", "floor_area"], batch_size=1000)
    Unit.objects.bulk_create(new, batch_size=1000)
    ids = dict(Unit.objects.filter(roll=roll).values_list("code", "pk"))
    Member.objects.bulk_create((
        Member(roll_id=roll.pk, unit_id=ids[code], name=m.name, phone=m.phone, owner_key=m.owner_key,
               user_id=users[m.phone].pk if m.phone in users else None, is_adult=m.is_adult, is_head=m.is_head,
               is_representative=m.is_representative, proxy_name=m.proxy_name)
        for code, plan in plans.items() for m in plan.members), batch_size=1000)
    after = audit.snapshot(roll, ["name", "kind"]) | _roll_counts(roll)
    audit.record(actor, "deliberation.import_roll", roll, before=before, after=after,
                 note=_("导入 %(units)d 户（套）、%(members)d 人") % {"units": after["units"], "members": after["members"]})
    return roll


# ------------------------------------------------------------------------------------ the template


def roll_template() -> bytes:
    """An xlsx with the header row and two example rows (one household of two; invented names)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append([header for _n, header in COLUMNS])
    for example in EXAMPLES:
        sheet.append(list(example))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s"  # phones and 房号 stay text, nothing becomes a formula or a date
    for column in "ABCDEFGHIJ":
        sheet.column_dimensions[column].width = 14
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
