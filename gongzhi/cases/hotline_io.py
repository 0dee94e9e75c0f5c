"""12345-style batch import: an xlsx of hotline work orders becomes cases (source 12345 热线).

Columns (header row, Chinese as the hotline systems export them): 工单编号, 标题, 内容, 分类编码,
地址, 经度, 纬度, 来电人, 来电号码, 紧急, 来电时间. Every row goes through ``intake.report_case``
like any other channel; its 工单编号 is the idempotency key, so importing the same file again
creates nothing twice. A row with an address but no coordinates lands in the dispatcher's
"to be located" queue.

Two phases (``gongzhi.areas.io`` style): every row is checked with intake's own validation first;
only with ``commit`` and no bad row is anything written, in one transaction.
"""

from __future__ import annotations

import datetime
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gongzhi.core.imports import ImportReport, RowError
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import User

from . import intake
from .choices import Source
from .directory import active_version
from .models import Case, Category

#: header → field. The English names are accepted too.
COLUMNS = {
    "工单编号": "external_id", "标题": "title", "内容": "content", "分类编码": "category_code", "地址": "address",
    "经度": "lon", "纬度": "lat", "来电人": "caller", "来电号码": "phone", "紧急": "urgent", "来电时间": "called_at",
}
HEADERS = {value: key for key, value in COLUMNS.items()}
REQUIRED = ("external_id", "title")
#: intake's field names → the column a user sees.
FIELD_COLUMNS = {"title": "标题", "description": "内容", "category": "分类编码", "lon": "经度", "lat": "纬度",
                 "address": "地址", "idempotency_key": "工单编号", "source": "工单编号", "photos": "工单编号"}
SYSTEM_USERNAME = "hotline-import"
KEY_PREFIX = "hotline:"
MAX_ID = 100 - len(KEY_PREFIX)
TRUE_WORDS = {"是", "紧急", "true", "1", "yes", "y"}
FALSE_WORDS = {"否", "", "false", "0", "no", "n", "一般"}
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                    "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")

Progress = Callable[[str, int, int], None]


class HotlineFileError(Exception):
    """The file can't be read as hotline work orders; the message is for the user."""


@dataclass
class HotlineRow:
    """One work order: its spreadsheet row, the report it becomes, and problems found reading it."""

    number: int
    external_id: str
    category_code: str = ""
    report: intake.Report | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class HotlineReport(ImportReport):
    """What an import did or would do. ``numbers``: (row, case number) of the cases created."""

    created: int = 0
    existing: int = 0
    to_locate: int = 0
    numbers: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        c = {"total": self.total, "created": self.created, "existing": self.existing, "locate": self.to_locate,
             "bad": len(self.bad_rows)}
        if self.errors:
            return self.refused()
        if self.committed:
            return _("已导入：共 %(total)d 行，新建 %(created)d 件案件（其中 %(locate)d 件待定位），"
                     "%(existing)d 行此前已导入。") % c
        return _("试运行：共 %(total)d 行，将新建 %(created)d 件案件（其中 %(locate)d 件待定位），"
                 "%(existing)d 行此前已导入；未写入任何数据。") % c


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a work-order number typed as a number
    return str(value).strip()


def _number(value: Any) -> float | None:
    """A coordinate from a cell: a number or numeric text; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    number = float(value) if isinstance(value, int | float) else float(_text(value))
    if not math.isfinite(number):
        raise ValueError
    return number


def _moment(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    else:
        text = _text(value)
        moment = parse_datetime(text.replace("/", "-"))
        for fmt in DATETIME_FORMATS:
            if moment is not None:
                break
            try:
                moment = datetime.datetime.strptime(text, fmt)
            except ValueError:
                continue
        if moment is None:
            raise ValueError
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def read_hotline_xlsx(path_or_file: str | Path | IO[bytes]) -> list[HotlineRow]:
    """Read the first sheet into rows (row numbers count the header as 1); raise HotlineFileError
    when the file is not a workbook or lacks the required columns."""
    from openpyxl import load_workbook

    if isinstance(path_or_file, str | Path):
        try:
            data = Path(path_or_file).read_bytes()
        except FileNotFoundError:
            raise HotlineFileError(_("找不到文件：%(path)s") % {"path": path_or_file}) from None
        except OSError as exc:
            raise HotlineFileError(_("无法读取文件 %(path)s：%(error)s") % {"path": path_or_file, "error": exc}) from None
    else:
        data = path_or_file.read()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zoo of errors (zip, XML, KeyError…) for files it can't read
        raise HotlineFileError(_("文件不是有效的 xlsx 工作簿")) from None
    try:
        if not workbook.worksheets:
            raise HotlineFileError(_("工作簿中没有工作表"))
        cells = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(cells, None) or ()
        positions: dict[str, int] = {}
        for i, value in enumerate(header):
            name = _text(value)
            name = COLUMNS.get(name, name if name in HEADERS else "")
            if name and name not in positions:
                positions[name] = i
        missing = [HEADERS[c] for c in REQUIRED if c not in positions]
        if missing:
            raise HotlineFileError(_("第 1 行应为表头，缺少列：%(missing)s（列为 %(columns)s）") % {
                "missing": "、".join(missing), "columns": "、".join(COLUMNS)})
        rows = []
        for number, values in enumerate(cells, start=2):
            if not values or all(_text(v) == "" for v in values):
                continue
            given = {c: values[i] if i < len(values) else None for c, i in positions.items()}
            rows.append(_row(number, given))
        return rows
    finally:
        workbook.close()


def _row(number: int, values: dict[str, Any]) -> HotlineRow:
    text = {name: _text(values.get(name)) for name in COLUMNS.values()}
    row = HotlineRow(number=number, external_id=text["external_id"], category_code=text["category_code"])
    if not row.external_id:
        row.problems.append(("工单编号", _("工单编号不能为空")))
    elif len(row.external_id) > MAX_ID:
        row.problems.append(("工单编号", _("工单编号不能超过 %(n)d 个字符") % {"n": MAX_ID}))
    coordinates: dict[str, float | None] = {"lon": None, "lat": None}
    for name in coordinates:
        if text[name]:
            try:
                coordinates[name] = _number(values.get(name))
            except ValueError:
                row.problems.append((HEADERS[name], _("须为数字（如 116.397）")))
    urgent = text["urgent"].lower()
    if urgent not in TRUE_WORDS | FALSE_WORDS:
        row.problems.append(("紧急", _("紧急须填“是”或“否”")))
    extra: dict[str, Any] = {"hotline_id": row.external_id}
    if text["called_at"]:
        try:
            extra["called_at"] = _moment(values.get("called_at")).isoformat()
        except (ValueError, OverflowError):
            row.problems.append(("来电时间", _("来电时间格式应为 2026-01-31 09:30")))
    row.report = intake.Report(
        title=text["title"], description=text["content"], lon=coordinates["lon"], lat=coordinates["lat"],
        address=text["address"], source=Source.HOTLINE, urgent=urgent in TRUE_WORDS,
        idempotency_key=KEY_PREFIX + row.external_id, reporter_name=text["caller"], reporter_phone=text["phone"],
        extra=extra)  # the category is resolved against the active version when checking
    return row


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def hotline_user(*, create: bool = True) -> User | None:
    """The system user that imports are filed under (no usable password), made on first use."""
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is not None or not create:
        return user
    try:
        with transaction.atomic():
            return org_services.create_user(actor=None, username=SYSTEM_USERNAME, password=None,
                                            display_name=_("12345 热线导入"))
    except (IntegrityError, ValidationError):
        return User.objects.get(username=SYSTEM_USERNAME)  # made by a concurrent import


def _errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [(FIELD_COLUMNS.get(name, name), "；".join(messages)) for name, messages in exc.message_dict.items()]
    return [("工单编号", "；".join(exc.messages))]


def _check(rows: list[HotlineRow], reporter: User | None, report: HotlineReport,
           progress: Progress | None) -> list[HotlineRow]:
    """Resolve categories, find rows imported before, run intake's validation; return the rows to create."""
    version = active_version()
    codes = {r.category_code for r in rows if r.category_code}
    categories = {c.code: c for c in Category.objects.filter(version=version, code__in=codes)} if version else {}
    keys = [r.report.idempotency_key for r in rows if r.report is not None]
    done_keys: set[str] = set()
    if reporter is not None:
        for start in range(0, len(keys), 900):
            done_keys.update(Case.objects.filter(reporter=reporter, idempotency_key__in=keys[start:start + 900])
                             .values_list("idempotency_key", flat=True))
    first: dict[str, int] = {}
    todo: list[HotlineRow] = []
    for done, row in enumerate(rows, start=1):
        problems = list(row.problems)
        if row.external_id in first:
            problems.append(("工单编号", _("工单编号 %(id)s 与第 %(n)d 行重复") % {"id": row.external_id,
                                                                         "n": first[row.external_id]}))
        elif row.external_id:
            first[row.external_id] = row.number
        if row.category_code:
            row.report.category = categories.get(row.category_code)
            if row.report.category is None:
                problems.append(("分类编码", _("当前分类目录中没有编码 %(code)s") % {"code": row.category_code}))
        if not problems and row.report.idempotency_key in done_keys:
            report.existing += 1
        else:
            # intake's own checks, on every row so that a row's problems are all listed at once
            # (except those about a cell already reported, e.g. a coordinate that is not a number)
            try:
                clean = intake._clean(row.report)
            except ValidationError as exc:
                reported = {column for column, _m in problems}
                if reported & {"经度", "纬度"}:
                    reported |= {"经度", "纬度"}
                problems.extend((column, message) for column, message in _errors_of(exc) if column not in reported)
            else:
                if not problems:
                    report.to_locate += clean["area"] is None
                    todo.append(row)
        for column, message in problems:
            report.errors.append(RowError(row.number, column, message))
        if progress is not None:
            progress("check", done, len(rows))
    return todo


def import_hotline(rows: list[HotlineRow], *, reporter: User | None = None, commit: bool,
                   progress: Progress | None = None) -> HotlineReport:
    """Check every row; with ``commit`` and no bad row, create the cases in one transaction.

    ``reporter`` files the cases (default: the ``hotline-import`` system user, created on the first
    committed import). A row already imported by the same reporter is counted, not created again.
    """
    report = HotlineReport(total=len(rows))
    todo = _check(rows, reporter or hotline_user(create=False), report, progress)
    report.created = len(todo)
    if report.errors:
        report.created = report.to_locate = 0
        return report
    if not commit:
        return report
    current: HotlineRow | None = None
    created = 0
    try:
        with transaction.atomic():
            user = reporter or hotline_user()
            for done, current in enumerate(todo, start=1):
                case, was_created = intake.report_case(current.report, reporter=user)
                if was_created:
                    created += 1
                    report.numbers.append((current.number, case.number))
                if progress is not None:
                    progress("write", done, len(todo))
    except ValidationError as exc:  # the data changed between the check and the write
        report.errors = [RowError(current.number if current else 0, column, message)
                         for column, message in _errors_of(exc)]
        report.created = report.to_locate = 0
        report.numbers = []
        return report
    except DatabaseError as exc:
        report.errors = [RowError(current.number if current else 0, "工单编号",
                                  _("写入失败，请重试：%(error)s") % {"error": exc})]
        report.created = report.to_locate = 0
        report.numbers = []
        return report
    report.existing += len(todo) - created
    report.created = created
    report.committed = True
    return report
