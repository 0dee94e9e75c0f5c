"""The category directory as versioned reference data (ARCHITECTURE pattern 5, MapIt generations).

A directory is loaded as a new, inactive ``DirectoryVersion`` (``load_directory_csv``), checked
(``check_version``), then activated (``activate_version``): exactly one version is active, new
cases are filed under its categories and old cases keep the category rows they were filed under
(those rows are never deleted). Activation carries over, by code, what admins set up on the
previously active version (default department, keywords, closing condition, extra fields, time
limits, routing rules) wherever the new version has nothing of its own.

Codes. GB/T 47678.5-2026 gives components (管理部件) and matters (管理事项) the same 5-digit codes
(01001 供水井盖 is a component, 01001 供水井盖异常 the matter about it), while a version holds each
code once. Matters — what cases are about — keep the plain code (06010 暴露垃圾); components are
stored with the prefix ``COMPONENT_CODE_PREFIX`` (B01001 供水井盖). Local categories (12345 request
types …) take any other code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit, refcache
from gongzhi.core.imports import RowError

from .extra_fields import clean_definitions
from .models import Case, Category, DirectoryVersion, RoutingRule, TimeLimit

BUNDLED_CSV = Path(__file__).resolve().parent / "data" / "gbt47678_5_2026_directory.csv"
DEFAULT_VERSION_NAME = "GB/T 47678.5-2026"
#: Stored in front of a component's 5-digit code (see the module docstring).
COMPONENT_CODE_PREFIX = "B"
CSV_COLUMNS = ("matter_kind", "major_code", "major_name", "minor_code", "code5", "name")

#: What a file may write for a kind (the CSV's 管理部件/管理事项, the values, the admin labels).
KIND_ALIASES: dict[str, str] = {
    "管理部件": Category.Kind.COMPONENT, "部件": Category.Kind.COMPONENT, "component": Category.Kind.COMPONENT,
    "管理事项": Category.Kind.MATTER, "事项": Category.Kind.MATTER, "事件": Category.Kind.MATTER,
    "matter": Category.Kind.MATTER,
    "本地分类": Category.Kind.LOCAL, "本地": Category.Kind.LOCAL, "local": Category.Kind.LOCAL,
}
STANDARD_KINDS = (Category.Kind.COMPONENT, Category.Kind.MATTER)
#: The settings an admin makes per category that activation carries over to the next version.
COPIED_FIELDS = ("default_department", "keywords", "closing_condition", "extra_fields")

_FIVE_DIGITS = re.compile(r"\d{5}")
_LOCAL_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


class DirectoryError(Exception):
    """A directory file or version that can't be used; ``errors`` lists every bad row."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = sorted(errors or [], key=lambda e: (e.sheet, e.row))

    def lines(self) -> list[str]:
        """The message, then one line per bad row (for commands and admin messages)."""
        return [self.message, *(str(e) for e in self.errors)]


@dataclass
class DirectoryRow:
    """One category as a directory file gives it (``code`` already as stored)."""

    number: int
    code: str
    name: str
    kind: str
    major_code: str = ""
    major_name: str = ""


@dataclass
class Activation:
    """What ``activate_version`` did: the versions, what was copied, the warnings of the check."""

    version: DirectoryVersion
    previous: DirectoryVersion | None
    copied: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        values = {"name": self.version.name, "previous": self.previous.name if self.previous else _("无"),
                  "categories": self.copied.get("categories", 0), "limits": self.copied.get("limits", 0),
                  "rules": self.copied.get("rules", 0)}
        return _("已启用目录版本“%(name)s”（上一版本：%(previous)s）；沿用设置：%(categories)d 个分类、"
                 "%(limits)d 条处置时限、%(rules)d 条派遣规则。") % values


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------


def kind_from_text(text: str) -> str | None:
    """A kind value from a file's cell (管理部件, matter, 本地分类 …), or None."""
    text = (text or "").strip()
    return KIND_ALIASES.get(text) or KIND_ALIASES.get(text.lower())


def stored_code(kind: str, code5: str) -> str:
    """The code a category is stored under: components get ``COMPONENT_CODE_PREFIX``."""
    code5 = (code5 or "").strip()
    if kind == Category.Kind.COMPONENT and not code5.startswith(COMPONENT_CODE_PREFIX):
        return COMPONENT_CODE_PREFIX + code5
    return code5


def code_problem(kind: str, code: str) -> str | None:
    """Why ``code`` is not a valid stored code for ``kind`` (None: it is)."""
    code = code or ""
    if not code:
        return _("编码不能为空")
    if len(code) > Category._meta.get_field("code").max_length:
        return _("编码不能超过 %(n)d 个字符") % {"n": Category._meta.get_field("code").max_length}
    if kind == Category.Kind.MATTER and not _FIVE_DIGITS.fullmatch(code):
        return _("管理事项的编码须为 5 位数字（大类 2 位 + 小类 3 位），现为“%(code)s”") % {"code": code}
    if kind == Category.Kind.COMPONENT and not (
            code.startswith(COMPONENT_CODE_PREFIX) and _FIVE_DIGITS.fullmatch(code[len(COMPONENT_CODE_PREFIX):])):
        return _("管理部件的编码须为 5 位数字（大类 2 位 + 小类 3 位），现为“%(code)s”") % {"code": code}
    if kind == Category.Kind.LOCAL:
        if not _LOCAL_CODE.fullmatch(code):
            return _("本地分类编码只能含字母、数字、点、横线和下划线")
        if _FIVE_DIGITS.fullmatch(code) or (code.startswith(COMPONENT_CODE_PREFIX)
                                            and _FIVE_DIGITS.fullmatch(code[len(COMPONENT_CODE_PREFIX):])):
            return _("本地分类编码不能与国标编码格式相同（5 位数字），请加前缀，如 L%(code)s") % {"code": code}
    return None


def clean_extra_fields(value: Any) -> list[dict]:
    """Check a category's extra fields: a list of {"name", "label", "label_en", "required", "type",
    "choices", "max_length"} objects (see ``gongzhi.cases.extra_fields``); returns the stored form."""
    return clean_definitions(value)


def active_version() -> DirectoryVersion | None:
    """The version new cases are filed under (None before any directory is activated)."""
    return DirectoryVersion.objects.filter(is_active=True).first()


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def active_category(code: str) -> Category | None:
    """The active category with this code in the active version, or None (cached per process:
    intake looks one up for every report; see ``core.refcache``)."""
    def load() -> dict[str, Category]:
        rows = Category.objects.filter(version__is_active=True, is_active=True).select_related(
            "version", "default_department")
        return {category.code: category for category in rows}
    return refcache.get("active-categories", load).get(code)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a CSV saved by Excel or WPS on a Chinese Windows
    except UnicodeDecodeError:
        raise DirectoryError(_("文件不是 UTF-8 或 GBK 编码的 CSV")) from None


def _read_text(path_or_file: str | Path | IO) -> str:
    if isinstance(path_or_file, str | Path):
        try:
            data = Path(path_or_file).read_bytes()
        except FileNotFoundError:
            raise DirectoryError(_("找不到文件：%(path)s") % {"path": path_or_file}) from None
        except OSError as exc:
            raise DirectoryError(_("无法读取文件 %(path)s：%(error)s") % {"path": path_or_file, "error": exc}) from None
        return _decode(data)
    data = path_or_file.read()
    return _decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")


def read_directory_csv(path_or_file: str | Path | IO) -> list[DirectoryRow]:
    """Read a directory CSV (``CSV_COLUMNS``) and check every row; raise DirectoryError listing
    every bad row (row numbers count the header as row 1) if any is bad."""
    reader = csv.reader(io.StringIO(_read_text(path_or_file)))
    header = [(cell or "").strip().lower() for cell in next(reader, [])]
    positions = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    missing = [c for c in ("matter_kind", "name") if c not in positions]
    if "code5" not in positions and not {"major_code", "minor_code"} <= set(positions):
        missing.append("code5")
    if missing:
        raise DirectoryError(_("第 1 行应为表头，缺少列：%(missing)s（需要 %(columns)s）") % {
            "missing": "、".join(missing), "columns": ", ".join(CSV_COLUMNS)})
    rows: list[DirectoryRow] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    max_name = Category._meta.get_field("name").max_length
    for number, cells in enumerate(reader, start=2):
        if not any((c or "").strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            i = positions.get(name)
            return (cells[i] or "").strip() if i is not None and i < len(cells) else ""

        bad: list[RowError] = []
        kind = kind_from_text(cell("matter_kind"))
        if kind is None:
            bad.append(RowError(number, "matter_kind", _("类型须为“管理部件”“管理事项”或“本地分类”，现为“%(v)s”")
                                % {"v": cell("matter_kind")}))
        major_code, minor_code = cell("major_code"), cell("minor_code")
        code5 = cell("code5") or (major_code + minor_code if major_code and minor_code else "")
        code = stored_code(kind or "", code5)
        if kind is not None:
            problem = code_problem(kind, code)
            if problem:
                if kind in STANDARD_KINDS and code5.isdigit() and len(code5) < 5:
                    problem += _("（用 Excel 另存时开头的 0 可能丢失）")
                bad.append(RowError(number, "code5", problem))
            elif kind in STANDARD_KINDS and major_code and not code5.startswith(major_code):
                bad.append(RowError(number, "code5", _("编码 %(code)s 与大类编码 %(major)s 不一致")
                                    % {"code": code5, "major": major_code}))
        name = cell("name")
        if not name:
            bad.append(RowError(number, "name", _("名称不能为空")))
        elif len(name) > max_name:
            bad.append(RowError(number, "name", _("名称不能超过 %(n)d 个字符") % {"n": max_name}))
        if len(major_code) > 8:
            bad.append(RowError(number, "major_code", _("大类编码不能超过 8 个字符")))
        if len(cell("major_name")) > 50:
            bad.append(RowError(number, "major_name", _("大类名称不能超过 50 个字符")))
        if code and code in first_row:
            bad.append(RowError(number, "code5", _("编码 %(code)s 与第 %(n)d 行重复")
                                % {"code": code, "n": first_row[code]}))
        elif code:
            first_row[code] = number
        if bad:
            errors.extend(bad)
            continue
        rows.append(DirectoryRow(number=number, code=code, name=name, kind=kind, major_code=major_code,
                                 major_name=cell("major_name")))
    if errors:
        raise DirectoryError(_("目录文件有 %(n)d 行错误，未载入任何数据。") % {"n": len({e.row for e in errors})},
                             errors)
    if not rows:
        raise DirectoryError(_("目录文件中没有分类"))
    return rows


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DirectoryError(_("请填写目录版本名称"))
    if len(name) > DirectoryVersion._meta.get_field("name").max_length:
        raise DirectoryError(_("目录版本名称不能超过 100 个字符"))
    if DirectoryVersion.objects.filter(name=name).exists():
        raise DirectoryError(_("已有名为“%(name)s”的目录版本，请换一个名称") % {"name": name})
    return name


def load_directory_csv(path_or_file: str | Path | IO, *, name: str, source: str = "", actor=None,
                       notes: str = "", progress: Progress | None = None) -> DirectoryVersion:
    """Load a directory CSV as a NEW inactive version (all rows or nothing) and audit it.

    Raises DirectoryError (with every bad row) when the file or the name can't be used.
    """
    rows = read_directory_csv(path_or_file)
    name = _check_name(name)
    source = (source or "")[:200]
    try:
        with transaction.atomic():
            version = DirectoryVersion.objects.create(name=name, source=source, notes=notes, is_active=False)
            total, chunk = len(rows), 500
            for start in range(0, total, chunk):
                Category.objects.bulk_create([
                    Category(version=version, code=r.code, name=r.name, kind=r.kind, major_code=r.major_code,
                             major_name=r.major_name) for r in rows[start:start + chunk]])
                if progress is not None:
                    progress("load", min(start + chunk, total), total)
            counts = {kind: sum(1 for r in rows if r.kind == kind) for kind in Category.Kind.values}
            audit.record(actor, "directory.load", version, after={"categories": total, **counts, "source": source},
                         note=source)
    except IntegrityError:
        raise DirectoryError(_("已有名为“%(name)s”的目录版本，请换一个名称") % {"name": name}) from None
    return version


def add_local_category(version: DirectoryVersion, *, code: str, name: str, actor=None, major_code: str = "",
                       major_name: str = "", keywords: str = "", default_department=None,
                       closing_condition: str = "", extra_fields: list | None = None) -> Category:
    """Add a local category (kind 本地分类, e.g. a 12345 request type) to ``version``."""
    code, name = (code or "").strip(), (name or "").strip()
    errors: dict[str, list[str]] = {}
    problem = code_problem(Category.Kind.LOCAL, code)
    if problem:
        errors["code"] = [problem]
    elif Category.objects.filter(version=version, code=code).exists():
        errors["code"] = [_("该版本中已有编码为 %(code)s 的分类") % {"code": code}]
    if not name:
        errors["name"] = [_("名称不能为空")]
    try:
        extra_fields = clean_extra_fields(extra_fields)
    except ValidationError as exc:
        errors["extra_fields"] = exc.messages
    if errors:
        raise ValidationError(errors)
    category = Category(version=version, code=code, name=name, kind=Category.Kind.LOCAL, major_code=major_code,
                        major_name=major_name, keywords=keywords, default_department=default_department,
                        closing_condition=closing_condition, extra_fields=extra_fields)
    category.full_clean(exclude=["version", "default_department"])
    with transaction.atomic():
        category.save()
        audit.record(actor, "category.create", category, after=audit.snapshot(category))
    return category


# --------------------------------------------------------------------------------------------
# Checking and activating
# --------------------------------------------------------------------------------------------


def _problems(version: DirectoryVersion) -> tuple[list[str], list[str]]:
    """(errors that block activation, warnings)."""
    errors: list[str] = []
    warnings: list[str] = []
    categories = list(version.categories.values_list("code", "name", "kind"))
    if not categories:
        errors.append(_("该版本没有任何分类"))
    duplicates = (version.categories.values("code").annotate(n=Count("id")).filter(n__gt=1)
                  .values_list("code", "n"))
    for code, n in duplicates:
        errors.append(_("编码 %(code)s 重复 %(n)d 次") % {"code": code, "n": n})
    for code, name, kind in categories:
        if not (name or "").strip():
            errors.append(_("编码 %(code)s 的名称为空") % {"code": code})
        if kind in STANDARD_KINDS:
            problem = code_problem(kind, code)
            if problem:
                errors.append(f"{code}: {problem}")
        elif kind not in Category.Kind.values:
            errors.append(_("编码 %(code)s 的类型“%(kind)s”无效") % {"code": code, "kind": kind})
    current = active_version()
    if current is not None and current.pk != version.pk:
        codes = {code for code, _name, _kind in categories}
        still_open = (Case.objects.open().filter(category__version=current)
                      .values("category__code", "category__name").annotate(n=Count("id"))
                      .order_by("category__code"))
        for row in still_open:
            if row["category__code"] not in codes:
                warnings.append(_("警告：当前版本的分类 %(code)s %(name)s 在新版本中没有，仍有 %(n)d 件未结案件"
                                  "（它们保留原分类，可继续办理）") % {
                    "code": row["category__code"], "name": row["category__name"], "n": row["n"]})
    return errors, warnings


def check_version(version: DirectoryVersion) -> list[str]:
    """Problems of a loaded version, errors first (duplicate codes, empty names, malformed codes for
    standard kinds), then warnings (categories of the active version that still have open cases but
    are missing from this one). An empty list means nothing to report."""
    errors, warnings = _problems(version)
    return errors + warnings


def _copy_settings(previous: DirectoryVersion, version: DirectoryVersion) -> dict[str, int]:
    """Copy the admins' per-category settings from ``previous`` to ``version`` by code, where the
    new category has none: each field on its own; time limits and routing rules as a whole set."""
    old = {c.code: c for c in previous.categories.prefetch_related("limits", "rules")}
    changed: list[Category] = []
    limits: list[TimeLimit] = []
    rules: list[RoutingRule] = []
    for category in version.categories.prefetch_related("limits", "rules"):
        source = old.get(category.code)
        if source is None:
            continue
        touched = False
        if category.default_department_id is None and source.default_department_id is not None:
            category.default_department_id, touched = source.default_department_id, True
        for name in ("keywords", "closing_condition", "extra_fields"):
            if not getattr(category, name) and getattr(source, name):
                setattr(category, name, getattr(source, name))
                touched = True
        if touched:
            changed.append(category)
        if not category.limits.all():
            limits.extend(TimeLimit(category=category, step=t.step, area_class=t.area_class, urgent=t.urgent,
                                    amount=t.amount, unit=t.unit) for t in source.limits.all())
        if not category.rules.all():
            rules.extend(RoutingRule(category=category, area_id=r.area_id, department_id=r.department_id,
                                     priority=r.priority) for r in source.rules.all())
    Category.objects.bulk_update(changed, list(COPIED_FIELDS), batch_size=500)
    TimeLimit.objects.bulk_create(limits, batch_size=500)
    RoutingRule.objects.bulk_create(rules, batch_size=500)
    return {"categories": len(changed), "limits": len(limits), "rules": len(rules)}


def activate_version(version: DirectoryVersion, *, actor) -> Activation:
    """Make ``version`` the only active one, in one transaction, carrying over the settings of the
    previously active version (``_copy_settings``). Raises ValidationError when the check finds
    errors, when it is already active, or when someone else activated another version meanwhile."""
    errors, warnings = _problems(version)
    if errors:
        raise ValidationError([_("目录版本“%(name)s”未通过检查，不能启用：") % {"name": version.name}, *errors])
    try:
        with transaction.atomic():
            locked = DirectoryVersion.objects.select_for_update().get(pk=version.pk)
            if locked.is_active:
                raise ValidationError(_("目录版本“%(name)s”已是当前版本") % {"name": locked.name})
            previous = DirectoryVersion.objects.select_for_update().filter(is_active=True).first()
            copied = _copy_settings(previous, locked) if previous is not None else {}
            if previous is not None:
                DirectoryVersion.objects.filter(pk=previous.pk).update(is_active=False)
            locked.is_active, locked.activated_at = True, timezone.now()
            locked.save(update_fields=["is_active", "activated_at"])
            audit.record(actor, "directory.activate", locked,
                         before={"active": previous.name if previous else None},
                         after={"active": locked.name, **{f"copied_{k}": v for k, v in copied.items()}},
                         note="; ".join(warnings)[:2000])
    except IntegrityError:
        raise ValidationError(_("另一个目录版本刚被启用，请刷新后重试")) from None
    version.is_active, version.activated_at = True, locked.activated_at
    return Activation(version=locked, previous=previous, copied=copied, warnings=warnings)
