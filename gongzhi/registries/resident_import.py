"""Import people and their households from an xlsx workbook or a CSV file (实有人口导入).

One row per person. Columns (Chinese headers; a ``*`` or a note in brackets after a header is
ignored):

======== ============ =====================================================================
header   field        what
======== ============ =====================================================================
姓名     name         required
身份证号 id_number    required; 18 characters with a valid check digit (set the column to text
                      in Excel: an 18-digit number loses its last digits as a number)
性别     gender       男/女, optional (derived from the identity number; must agree with it)
联系电话 phone        optional
区域     area         required: the code or the name of an area the importer may write in
户号     household    optional: the household in that area (created when it doesn't exist)
详细地址 address      optional (also the address of a household created here, and of the stay)
与户主关系 relation   optional (户主, 配偶, 子女 …)
人口类型 residence    户籍 / 常住 / 流动 (default 户籍)
迁入日期 moved_in_on  floating population only (required for them): opens a stay
======== ============ =====================================================================

Like every import (``gongzhi.core.imports``, ARCHITECTURE pattern 6) nothing is written without
``commit``, and a file with any bad row writes nothing. The rows go through the same services as the
pages (``residents.py``: checks, audit rows), each in a savepoint inside one transaction that is
rolled back on a dry run or when any row failed — so the dry run checks exactly what the commit
would do. A person already registered (the same identity number, found through the blind index) is
updated, not added twice. Error lines show identity numbers and phones masked, never in full.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.core import audit, imports
from gongzhi.core.imports import ImportReport, RowError

from . import crypto, residents, rules
from .models import FloatingRegistration, Household, Person, Registry

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
CELL_MAX = 300

COLUMNS = (("name", "姓名"), ("id_number", "身份证号"), ("gender", "性别"), ("phone", "联系电话"),
           ("area", "区域"), ("household", "户号"), ("address", "详细地址"), ("relation", "与户主关系"),
           ("residence", "人口类型"), ("moved_in_on", "迁入日期"))
HEADERS = dict(COLUMNS)
ALIASES = {header: name for name, header in COLUMNS} | {name: name for name, _h in COLUMNS} | {
    "公民身份号码": "id_number", "身份证号码": "id_number", "电话": "phone", "手机号": "phone",
    "所在区域": "area", "区域编码": "area", "住址": "address", "地址": "address", "关系": "relation",
}
REQUIRED = ("name", "id_number", "area")
#: service field → column (what a row error names)
FIELD_COLUMNS = HEADERS | {"number": "户号", "reason": "迁入日期", "housing": "迁入日期"}
GENDERS = {"男": Person.Gender.MALE, "女": Person.Gender.FEMALE, "": ""}
RESIDENCES = {"户籍": Person.Residence.REGISTERED, "户籍人口": Person.Residence.REGISTERED,
              "常住": Person.Residence.RESIDENT, "常住人口": Person.Residence.RESIDENT,
              "流动": Person.Residence.FLOATING, "流动人口": Person.Residence.FLOATING,
              "": Person.Residence.REGISTERED}
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class ImportFileError(ValidationError):
    """The file can't be read as a list of people at all; the message is for the user."""


@dataclass
class ResidentImportReport(ImportReport):
    created: int = 0
    updated: int = 0
    households: int = 0
    stays: int = 0

    def summary(self) -> str:
        if self.errors:
            return self.refused()
        values = {"total": self.total, "created": self.created, "updated": self.updated,
                  "households": self.households, "stays": self.stays}
        if self.committed:
            return _("已导入：共 %(total)d 行，新登记 %(created)d 人，更新 %(updated)d 人，新建 %(households)d 户，"
                     "流动人口居住登记 %(stays)d 条。") % values
        return _("试运行：共 %(total)d 行，将新登记 %(created)d 人，更新 %(updated)d 人，新建 %(households)d 户，"
                 "流动人口居住登记 %(stays)d 条；未写入任何数据。") % values


# ------------------------------------------------------------------------------ reading


@dataclass
class Row:
    number: int
    raw: dict[str, Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "").strip()


def _header(value: Any) -> str:
    text = re.sub(r"[（(].*?[）)]|[*＊]", "", _text(value)).strip()
    return ALIASES.get(text) or ALIASES.get(text.lower()) or ""


def _rows(cells) -> list[Row]:
    cells = iter(cells)
    header = next(cells, None)
    if header is None or all(_text(v) == "" for v in header):
        raise ImportFileError(_("文件是空的：第 1 行应为表头"))
    positions: dict[str, int] = {}
    for i, value in enumerate(header):
        name = _header(value)
        if name and name not in positions:
            positions[name] = i
    missing = [HEADERS[c] for c in REQUIRED if c not in positions]
    if missing:
        raise ImportFileError(_("第 1 行应为表头，缺少列：%(missing)s（列为 %(columns)s）") % {
            "missing": "、".join(missing), "columns": "、".join(h for _n, h in COLUMNS)})
    rows = []
    for number, values in enumerate(cells, start=2):
        if not values or all(_text(v) == "" for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
        rows.append(Row(number, {c: values[i] if i < len(values) else None for c, i in positions.items()}))
    if not rows:
        raise ImportFileError(_("文件中只有表头，没有人员"))
    return rows


def read_rows(file: bytes | IO[bytes], filename: str = "") -> list[Row]:
    """The rows of an xlsx workbook (its first sheet) or a CSV file."""
    try:
        _title, cells = imports.read_table(file, filename, max_bytes=MAX_BYTES)
    except imports.TableFileError as exc:
        raise ImportFileError(str(exc)) from None
    return _rows(cells)


# ------------------------------------------------------------------------------ importing


class RowProblem(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    if not text:
        return None
    match = DATE_RE.match(text)
    try:
        if match is None:
            raise ValueError
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise RowProblem("moved_in_on", _("日期格式不正确，请写成 2024-05-01")) from None


class _Areas:
    def __init__(self, actor):
        self.by_code: dict[str, Area] = {}
        self.by_name: dict[str, list[Area]] = {}
        for area in residents.writable_areas(actor):
            if area.code:
                self.by_code[area.code] = area
            self.by_name.setdefault(area.name, []).append(area)

    def get(self, text: str) -> Area:
        if not text:
            raise RowProblem("area", _("不能为空"))
        if text in self.by_code:
            return self.by_code[text]
        found = self.by_name.get(text, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise RowProblem("area", _("有多个同名区域，请填写区域编码"))
        raise RowProblem("area", _("不是您可以登记的区域"))


def _values(row: Row) -> dict[str, Any]:
    raw = row.raw
    if isinstance(raw.get("id_number"), int | float) and not isinstance(raw.get("id_number"), bool):
        raise RowProblem("id_number", _("被 Excel 存成了数字（末几位会丢失），请把该列设为文本格式后重新填写"))
    v = {c: _text(value) for c, value in raw.items() if c != "moved_in_on"}
    for column, text in v.items():
        if len(text) > CELL_MAX:
            raise RowProblem(column, _("不能超过 %(n)d 个字符") % {"n": CELL_MAX})
    if v.get("gender", "") not in GENDERS:
        raise RowProblem("gender", _("请填写“男”或“女”"))
    if v.get("residence", "") not in RESIDENCES:
        raise RowProblem("residence", _("请填写“户籍”“常住”或“流动”"))
    v["gender"] = GENDERS[v.get("gender", "")]
    v["residence"] = RESIDENCES[v.get("residence", "")]
    v["moved_in_on"] = _date(raw.get("moved_in_on"))
    if v["residence"] == Person.Residence.FLOATING and v["moved_in_on"] is None:
        raise RowProblem("moved_in_on", _("流动人口须填写迁入日期"))
    if v["residence"] != Person.Residence.FLOATING and v["moved_in_on"] is not None:
        raise RowProblem("moved_in_on", _("只有流动人口填写迁入日期"))
    return v


class _Importer:
    def __init__(self, actor, report: ResidentImportReport):
        self.actor, self.report = actor, report
        self.areas = _Areas(actor)
        self.seen: dict[str, int] = {}  # blind index → the row that had it

    def household(self, area: Area, number: str, address: str) -> Household | None:
        if not number:
            return None
        # looked up each time (no cache): a failed row's savepoint takes the household it created with it
        found = Household.objects.filter(area=area, number=number, closed_at__isnull=True).first()
        if found is None:
            found = residents.create_household(self.actor, area=area, number=number, address=address)
            self.report.households += 1
        return found

    def row(self, row: Row) -> None:
        v = _values(row)
        number = residents.valid_id_number(v.get("id_number", ""))
        index = crypto.blind_index(number)
        if index in self.seen:
            raise RowProblem("id_number", _("与第 %(row)d 行的身份证号重复（%(id)s）") % {
                "row": self.seen[index], "id": crypto.mask(number, crypto.ID)})
        self.seen[index] = row.number
        area = self.areas.get(v.get("area", ""))
        existing = Person.objects.filter(id_number_index=index, closed_at__isnull=True,
                                         anonymised_at__isnull=True).first()
        household = self.household(area, v.get("household", ""), v.get("address", ""))
        if existing is None:
            person = residents.register_person(
                self.actor, area=area, name=v.get("name", ""), id_number=number, gender=v["gender"],
                phone=v.get("phone", ""), address=v.get("address", ""), household=household,
                relation=v.get("relation", ""), residence=v["residence"])
            self.report.created += 1
        else:
            person = residents.update_person(
                self.actor, existing, name=v.get("name", ""), gender=v["gender"], phone=v.get("phone", ""),
                address=v.get("address", ""), area=area, residence=v["residence"],
                relation=v.get("relation", "") if household is None else None)
            if household is not None and (person.household_id != household.pk
                                          or person.relation != v.get("relation", "")):
                person = residents.move_person(self.actor, person, household, v.get("relation", ""))
            self.report.updated += 1
        if v["moved_in_on"] is not None and not FloatingRegistration.objects.filter(
                person=person, moved_out_on=None).exists():
            residents.register_stay(self.actor, person, area=area, address=v.get("address", ""),
                                    moved_in_on=v["moved_in_on"])
            self.report.stays += 1

    def error(self, row: Row, field: str | None, message: str) -> None:
        self.report.errors.append(RowError(row.number, FIELD_COLUMNS.get(field or "", "—"), message))


def import_people(file: bytes | IO[bytes], *, actor, commit: bool = False, filename: str = "") \
        -> ResidentImportReport:
    """Check (and with ``commit`` write) a file of people. ``ImportFileError`` when it can't be read;
    ``PermissionDenied`` when ``actor`` may write residents nowhere."""
    if actor is not None and rules.paths(actor, Registry.RESIDENTS, write=True) == ():
        raise PermissionDenied(_("您不能导入实有人口"))
    rows = read_rows(file, filename)
    report = ResidentImportReport(total=len(rows))
    importer = _Importer(actor, report)
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    importer.row(row)
            except RowProblem as exc:
                importer.error(row, exc.field, exc.message)
            except ValidationError as exc:
                for field, messages in getattr(exc, "message_dict", {None: exc.messages}).items():
                    for message in messages:
                        importer.error(row, field, message)
            except PermissionDenied as exc:
                importer.error(row, "area", str(exc) or _("无权登记"))
        if report.errors or not commit:
            transaction.set_rollback(True)
            return report
        report.committed = True
        audit.record(actor, "registries.import_people", None, object_type="registries.person",
                     note=f"rows={report.total} created={report.created} updated={report.updated} "
                          f"households={report.households} stays={report.stays}")
    return report
