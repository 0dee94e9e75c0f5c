"""The 公开栏 (transparency board): rules of procedure, fee standards and the owners' committee's
income and spending, published as versions (docs/portal.md).

A ``Disclosure`` is the item; its content lives in ``DisclosureVersion`` rows, which are append-only
(the models refuse a save of an existing row and any delete): publishing a change adds a version
with a change note, and the older ones stay visible with their SHA-256. Finance lines are checked
and summed with ``Decimal`` only. Receipts are ``DisclosureAttachment`` rows of the version they
came with: images re-encoded as JPEG (``cases.photos``), PDFs sniffed and refused when they carry
scripts; each with the SHA-256 of the stored file (what a download returns).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.cases import photos
from gongzhi.core import audit, imports
from gongzhi.core.forms import clean_text
from gongzhi.core.imports import ImportReport, RowError
from gongzhi.core.scoping import jurisdiction

from . import queries
from .models import Disclosure, DisclosureAttachment, DisclosureVersion

MAX_BODY = 20_000
MAX_LINES = 500
MAX_ATTACHMENTS = 10
MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_IMPORT_BYTES = 2 * 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
PDF_SUFFIXES = (".pdf",)
#: What a receipt PDF never needs: scripts, actions run on opening, launched programs, embedded files.
PDF_ACTIVE_MARKERS = (b"/javascript", b"/js", b"/launch", b"/embeddedfile", b"/openaction", b"/aa", b"/richmedia",
                      b"/xfa")
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
COLUMNS = (("date", "日期"), ("item", "事项"), ("income", "收入"), ("expense", "支出"), ("note", "备注"))
HEADERS = {title: key for key, title in COLUMNS} | {key: key for key, _title in COLUMNS}


# ----------------------------------------------------------------------------- who may

def disclosable_areas(user):
    """The areas where the user may publish on the 公开栏 (for the new-item form)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Area.objects.none()
    scope = jurisdiction(user)
    if scope.everything:
        return Area.objects.order_by("path")
    paths = set(scope.command_paths)
    for code in queries.DISCLOSURE_ROLES:
        paths.update(scope.role_paths.get(code, ()))
    if not paths:
        return Area.objects.none()
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return Area.objects.filter(q).order_by("path")


def _require(actor, area) -> None:
    if not queries.can_disclose(actor, area):
        raise PermissionDenied(_("您不能在这个区域的公开栏发布"))


# ----------------------------------------------------------------------------- items

def create_disclosure(actor, *, area, kind, title, period_start=None, period_end=None,
                      is_public=False) -> Disclosure:
    """A new 公开栏 item (no content yet: its first version is published next)."""
    _require(actor, area)
    title = clean_text(title, "title", _("标题"), 120)
    if kind not in Disclosure.Kind.values:
        raise ValidationError({"kind": _("请选择类别")})
    if kind == Disclosure.Kind.FINANCE:
        if not period_start or not period_end:
            raise ValidationError({"period_start": _("收支公示需要填写期间")})
        if period_end < period_start:
            raise ValidationError({"period_end": _("期间止不能早于期间起")})
    elif (period_start and period_end) and period_end < period_start:
        raise ValidationError({"period_end": _("期间止不能早于期间起")})
    with transaction.atomic():
        disclosure = Disclosure.objects.create(
            area=area, kind=kind, title=title, period_start=period_start, period_end=period_end,
            is_public=bool(is_public), created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "portal.disclosure_create", disclosure, after=audit.snapshot(
            disclosure, ["area", "kind", "title", "period_start", "period_end", "is_public"]))
    return disclosure


# ----------------------------------------------------------------------------- finance lines

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "").strip()


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError


def _amount(value, label: str) -> Decimal:
    if value is None or _text(value) == "":
        return Decimal("0.00")
    if isinstance(value, bool):
        raise ValidationError(_("%(label)s不是金额") % {"label": label})
    if isinstance(value, float):
        value = repr(value)  # the shortest decimal that reads back as this float: 12.3, never 12.2999…
    text = _text(value).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("%(label)s不是金额") % {"label": label}) from None
    if not amount.is_finite():
        raise ValidationError(_("%(label)s不是金额") % {"label": label})
    if amount < 0:
        raise ValidationError(_("%(label)s不能为负数") % {"label": label})
    if amount != amount.quantize(CENT):
        raise ValidationError(_("%(label)s最多两位小数") % {"label": label})
    if amount > MAX_AMOUNT:
        raise ValidationError(_("%(label)s过大") % {"label": label})
    return amount.quantize(CENT)


def clean_line(raw: dict, *, period_start=None, period_end=None) -> tuple[dict, list[tuple[str, str]]]:
    """One finance line in its canonical form (``date`` ISO, amounts as ``"12.50"``), and the
    problems found as (column title, message)."""
    problems: list[tuple[str, str]] = []
    line: dict = {}
    try:
        day = _date(raw.get("date"))
        if period_start and period_end and not (period_start <= day <= period_end):
            problems.append((_("日期"), _("日期不在公示期间 %(start)s 至 %(end)s 内") % {
                "start": period_start.isoformat(), "end": period_end.isoformat()}))
        line["date"] = day.isoformat()
    except ValueError:
        problems.append((_("日期"), _("日期格式应为 2026-01-31")))
    for key, label, size, required in (("item", _("事项"), 100, True), ("note", _("备注"), 200, False)):
        try:
            line[key] = clean_text(_text(raw.get(key)), key, label, size, required=required)
        except ValidationError as exc:
            problems.append((label, exc.messages[0]))
    amounts = {}
    for key, label in (("income", _("收入")), ("expense", _("支出"))):
        try:
            amounts[key] = _amount(raw.get(key), label)
        except ValidationError as exc:
            problems.append((label, exc.messages[0]))
    if len(amounts) == 2:
        if not amounts["income"] and not amounts["expense"]:
            problems.append((_("收入"), _("收入和支出不能都为 0")))
        line["income"], line["expense"] = str(amounts["income"]), str(amounts["expense"])
    ordered = {key: line.get(key, "") for key, _title in COLUMNS}
    return ordered, problems


def totals(lines) -> tuple[Decimal, Decimal]:
    """Income and expense totals of canonical lines (exact)."""
    income = sum((Decimal(line["income"]) for line in lines), Decimal("0.00"))
    expense = sum((Decimal(line["expense"]) for line in lines), Decimal("0.00"))
    return income.quantize(CENT), expense.quantize(CENT)


def content_sha256(body: str, lines, income_total: Decimal, expense_total: Decimal) -> str:
    """SHA-256 of a version's content as canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps({"body": body, "lines": list(lines), "income_total": str(income_total),
                            "expense_total": str(expense_total)},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def version_sha256(version: DisclosureVersion) -> str:
    """Recompute a stored version's digest (equal to ``version.sha256`` unless the row was altered)."""
    return content_sha256(version.body, version.lines, Decimal(version.income_total).quantize(CENT),
                          Decimal(version.expense_total).quantize(CENT))


# ----------------------------------------------------------------------------- attachments

@dataclass
class _Checked:
    name: str
    stored_name: str
    data: bytes


def _display_name(upload) -> str:
    name = Path(str(getattr(upload, "name", "") or "")).name.replace("\x00", "").strip()
    return name[:200] or _("附件")


def check_attachment(upload) -> _Checked:
    """A receipt as it will be stored: an image (JPEG/PNG/WebP, re-encoded as JPEG) or a PDF
    (sniffed, size-limited, without scripts or embedded files); anything else is refused."""
    name = _display_name(upload)
    suffix = Path(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        image = photos.check_upload(upload)
        data = photos.encode_jpeg(image, max_side=2400, quality=85)
        return _Checked(name, f"{uuid.uuid4().hex}.jpg", data)
    if suffix in PDF_SUFFIXES:
        too_big = _("PDF 文件不能超过 %(mb)d MB") % {"mb": MAX_PDF_BYTES // (1024 * 1024)}
        if getattr(upload, "size", None) is not None and upload.size > MAX_PDF_BYTES:
            raise ValidationError(too_big)
        upload.seek(0)
        data = upload.read(MAX_PDF_BYTES + 1)
        upload.seek(0)
        if len(data) > MAX_PDF_BYTES:
            raise ValidationError(too_big)
        if not data.startswith(b"%PDF-"):
            raise ValidationError(_("文件不是有效的 PDF"))
        lowered = data.lower()
        if any(marker + end in lowered for marker in PDF_ACTIVE_MARKERS for end in (b" ", b"(", b"<", b"/", b"[")) \
                or any(marker in lowered for marker in photos.ACTIVE_MARKERS):
            raise ValidationError(_("PDF 中含有脚本或嵌入文件，请打印为普通 PDF 后再上传"))
        return _Checked(name, f"{uuid.uuid4().hex}.pdf", data)
    raise ValidationError(_("附件只能是 JPG、PNG、WebP 图片或 PDF 文件"))


# ----------------------------------------------------------------------------- versions

def _clean_lines(disclosure: Disclosure, lines) -> list[dict]:
    lines = list(lines or ())
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": _("一次最多 %(n)d 行收支明细") % {"n": MAX_LINES}})
    cleaned, errors = [], []
    for number, raw in enumerate(lines, start=1):
        if not isinstance(raw, dict):
            errors.append(_("第 %(n)d 行格式不正确") % {"n": number})
            continue
        line, problems = clean_line(raw, period_start=disclosure.period_start, period_end=disclosure.period_end)
        errors.extend(_("第 %(n)d 行: %(field)s: %(message)s") % {"n": number, "field": f, "message": m}
                      for f, m in problems)
        cleaned.append(line)
    if errors:
        raise ValidationError({"lines": errors})
    return cleaned


def publish_version(actor, disclosure: Disclosure, *, body="", lines=(), change_note="",
                    attachments=()) -> DisclosureVersion:
    """Publish the next version of a 公开栏 item. Nothing existing is changed: a new row is added."""
    _require(actor, disclosure.area)
    is_finance = disclosure.kind == Disclosure.Kind.FINANCE
    body = clean_text(body, "body", _("正文"), MAX_BODY, required=not is_finance)
    if is_finance:
        cleaned = _clean_lines(disclosure, lines)
        if not cleaned:
            raise ValidationError({"lines": _("请填写收支明细")})
    elif lines:
        raise ValidationError({"lines": _("只有收支公示有收支明细")})
    else:
        cleaned = []
    income_total, expense_total = totals(cleaned)
    if income_total > MAX_AMOUNT or expense_total > MAX_AMOUNT:
        raise ValidationError({"lines": _("合计金额过大")})
    change_note = clean_text(change_note, "change_note", _("变更说明"), 200, required=False)
    attachments = list(attachments or ())
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": _("最多上传 %(n)d 个附件") % {"n": MAX_ATTACHMENTS}})
    checked = []
    for upload in attachments:
        try:
            checked.append(check_attachment(upload))
        except ValidationError as exc:
            raise ValidationError({"attachments": [f"{_display_name(upload)}: {m}" for m in exc.messages]}) from None
    digest = content_sha256(body, cleaned, income_total, expense_total)
    with photos.removed_on_error(), transaction.atomic():  # a failed publish leaves no receipt file
        locked = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
        last = DisclosureVersion.objects.filter(disclosure=locked).order_by("-number").first()
        if last is not None:
            if not change_note:
                raise ValidationError({"change_note": _("请说明改了什么")})
            if last.sha256 == digest and not checked:
                raise ValidationError({"body": _("内容与当前版本相同，没有新版本可发布")})
        version = DisclosureVersion(
            disclosure=locked, number=(last.number + 1) if last else 1, body=body, lines=cleaned,
            income_total=income_total, expense_total=expense_total, change_note=change_note,
            published_by=actor if getattr(actor, "is_authenticated", False) else None,
            published_at=timezone.now(), sha256=digest)
        version.save()
        for item in checked:
            attachment = DisclosureAttachment(version=version, name=item.name,
                                              sha256=hashlib.sha256(item.data).hexdigest())
            photos.save_file(attachment.file, item.stored_name, ContentFile(item.data))
            attachment.save()
        audit.record(actor, "portal.disclosure_publish", version, after=audit.snapshot(
            version, ["disclosure", "number", "income_total", "expense_total", "change_note", "sha256"])
            | {"attachments": [a.name for a in checked]})
    return version


# ----------------------------------------------------------------------------- import

def parse_rows(rows, *, disclosure=None, header=True, sheet="") -> tuple[list[dict], list[RowError]]:
    """Finance lines from rows of cells (a header row with 日期, 事项, 收入, 支出, 备注 when
    ``header``, otherwise those five in that order)."""
    rows = list(rows)
    start = disclosure.period_start if disclosure else None
    end = disclosure.period_end if disclosure else None
    if header:
        if not rows or all(_text(v) == "" for v in rows[0]):
            return [], [RowError(1, _("表头"), _("文件是空的：第 1 行应为表头"), sheet)]
        positions = {}
        for i, value in enumerate(rows[0]):
            key = HEADERS.get(re.sub(r"[（(].*?[）)]|[*＊]", "", _text(value)).strip())
            if key and key not in positions:
                positions[key] = i
        missing = [title for key, title in COLUMNS if key != "note" and key not in positions]
        if missing:
            return [], [RowError(1, _("表头"), _("缺少列：%(missing)s（列为 日期、事项、收入、支出、备注）")
                                 % {"missing": "、".join(missing)}, sheet)]
        body, first = rows[1:], 2
    else:
        positions = {key: i for i, (key, _title) in enumerate(COLUMNS)}
        body, first = rows, 1
    lines, errors = [], []
    for number, values in enumerate(body, start=first):
        if not values or all(_text(v) == "" for v in values):
            continue
        if len(lines) >= MAX_LINES:
            errors.append(RowError(number, _("行数"), _("一次最多 %(n)d 行") % {"n": MAX_LINES}, sheet))
            break
        raw = {key: values[i] if i < len(values) else None for key, i in positions.items()}
        line, problems = clean_line(raw, period_start=start, period_end=end)
        errors.extend(RowError(number, f, m, sheet) for f, m in problems)
        lines.append(line)
    if not lines and not errors:
        errors.append(RowError(first, _("行数"), _("没有收支明细"), sheet))
    return lines, errors


def import_lines(file, filename: str = "", *, disclosure=None) -> tuple[list[dict], list[RowError]]:
    """Finance lines of an xlsx (first sheet) or CSV file with columns 日期, 事项, 收入, 支出, 备注.
    Nothing is written: the caller shows the lines (a dry run) and publishes them only when
    ``errors`` is empty. With ``disclosure``, dates are checked against its period."""
    try:
        _title, rows = imports.read_table(file, filename, max_bytes=MAX_IMPORT_BYTES)
    except imports.TableFileError as exc:
        return [], [RowError(0, _("文件"), str(exc))]
    return parse_rows(rows, disclosure=disclosure, sheet="")


@dataclass
class LinesReport(ImportReport):
    """A dry run of finance lines: the lines, their totals, and the errors (any error: nothing)."""

    lines: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> tuple[Decimal, Decimal]:
        return totals(self.lines) if self.ok else (Decimal("0.00"), Decimal("0.00"))


def dry_run(file, filename: str = "", *, disclosure=None) -> LinesReport:
    lines, errors = import_lines(file, filename, disclosure=disclosure)
    return LinesReport(total=len(lines), errors=errors, lines=lines if not errors else [])


# ----------------------------------------------------------------------------- reads

def _latest_versions(disclosures):
    return DisclosureVersion.objects.filter(disclosure__in=disclosures).select_related(
        "disclosure", "disclosure__area", "published_by")


def latest_finance(user, area=None) -> DisclosureVersion | None:
    """The latest version of the most recent finance statement the user may see at their homes or
    above (or at ``area`` or above, for staff and pages of one area)."""
    if area is not None:
        paths = [area.path]
    else:
        paths = queries.home_paths(user)
    ids = queries._ancestor_ids(paths)
    if not ids:
        return None
    found = (queries.visible_disclosures(user).filter(kind=Disclosure.Kind.FINANCE, area__in=ids,
                                                      versions__isnull=False)
             .distinct().order_by("-period_end", "-period_start", "-pk").first())
    if found is None:
        return None
    return _latest_versions([found]).order_by("-number").first()


def listed_for(user):
    """The 公开栏 items the user may see, as the list page shows them: published ones, and the
    unpublished drafts of areas where the user may publish; annotated with ``latest_at`` and
    ``n_versions``."""
    shown = Q(n_versions__gt=0)
    if getattr(user, "is_authenticated", False):
        shown |= Q(area__in=disclosable_areas(user).values("pk"))
    return (queries.visible_disclosures(user)
            .annotate(latest_at=Max("versions__published_at"), n_versions=Count("versions")).filter(shown))


def latest_at_home(user, limit: int = 5):
    """The 公开栏 items of the user's homes and the areas above them, most recently updated first
    (published ones only), annotated with ``latest_at`` and ``n_versions``."""
    ids = queries._ancestor_ids(queries.home_paths(user))
    if not ids:
        return Disclosure.objects.none()
    return (queries.visible_disclosures(user).filter(area__in=ids)
            .annotate(latest_at=Max("versions__published_at"), n_versions=Count("versions"))
            .filter(n_versions__gt=0).order_by("-latest_at", "-pk")[:limit])


@dataclass
class HistoryEntry:
    version: DisclosureVersion
    previous: DisclosureVersion | None
    added: list[dict]
    removed: list[dict]
    body_changed: bool

    @property
    def income_before(self):
        return self.previous.income_total if self.previous else None

    @property
    def expense_before(self):
        return self.previous.expense_total if self.previous else None

    @property
    def totals_changed(self) -> bool:
        return self.previous is not None and (self.previous.income_total != self.version.income_total
                                              or self.previous.expense_total != self.version.expense_total)


def _line_key(line: dict) -> str:
    return json.dumps(line, ensure_ascii=False, sort_keys=True)


def line_diff(before, after) -> tuple[list[dict], list[dict]]:
    """Lines added and removed between two versions (as multisets: a changed line is one of each)."""
    old, new = Counter(_line_key(x) for x in before), Counter(_line_key(x) for x in after)
    added = [json.loads(k) for k in (new - old).elements()]
    removed = [json.loads(k) for k in (old - new).elements()]
    return sorted(added, key=lambda x: (x["date"], x["item"])), sorted(removed, key=lambda x: (x["date"], x["item"]))


def history(disclosure: Disclosure) -> list[HistoryEntry]:
    """Every version, newest first, with what changed against the one before."""
    versions = list(DisclosureVersion.objects.filter(disclosure=disclosure).select_related("published_by")
                    .prefetch_related("attachments").order_by("number"))
    entries, previous = [], None
    for version in versions:
        added, removed = line_diff(previous.lines if previous else [], version.lines)
        entries.append(HistoryEntry(version, previous, added, removed,
                                    previous is not None and previous.body != version.body))
        previous = version
    return entries[::-1]
