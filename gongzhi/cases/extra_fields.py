"""Optional extra fields a category declares (e.g. 车牌号 for 机动车乱停放), and the checks of the
values a report gives for them.

A category's ``extra_fields`` is a JSON list; each item::

    {"name": "plate", "label": "车牌号", "label_en": "Plate number", "required": true,
     "type": "text", "max_length": 10}
    {"name": "period", "label": "噪声时段", "type": "choice", "choices": ["白天", "夜间"]}

``name`` (letters, digits, ``_``; the key in ``Case.extra``) is the only key that must be there;
``type`` is ``text`` (default), ``number``, ``choice`` (with ``choices``) or ``date`` (YYYY-MM-DD);
``max_length`` (text only) defaults to 200. Definitions written before ``type`` existed keep working.

``Case.extra`` holds two kinds of keys: the category's declared fields, and system keys that the
channels write themselves (``SYSTEM_KEYS``: device alerts, 12345 import, demo data, the check
step). A category may not declare a system key. How a report's ``extra`` is checked
(``clean_values``, called by ``intake._clean``):

- declared fields: the value must be of the declared type (choices respected, text bounded);
  empty values are dropped; a required field must be filled — on the channels where a person fills
  in the form (``FORM_SOURCES``: the phone page, the API). Batch channels (12345 import, device
  alerts) can't ask anybody, so a missing required field does not stop their reports;
- undeclared keys: system keys always pass; when the category declares fields, any other key from
  a form channel is refused (almost always a misspelt field name, and the data would be lost);
  without declared fields ``extra`` stays free-form for API integrations.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from .choices import Source

TYPES = ("text", "number", "choice", "date")
#: What a spreadsheet may write for a type.
TYPE_ALIASES = {"文本": "text", "数字": "number", "数值": "number", "选项": "choice", "选择": "choice",
                "单选": "choice", "日期": "date"}
KEYS = ("name", "label", "label_en", "required", "type", "choices", "max_length")
DEFAULT_MAX_LENGTH = 200
MAX_MAX_LENGTH = 2000
MAX_FIELDS = 20
MAX_CHOICES = 50
MAX_LABEL = 50
MAX_CHOICE_LENGTH = 100
#: A number's absolute value stays below this (a case's extra is not a ledger).
MAX_NUMBER = Decimal(10) ** 12
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: Keys the channels write into ``Case.extra`` themselves, with what the case page calls them
#: (None: not shown). A category may not declare one of these names.
SYSTEM_KEYS: dict[str, Any] = {
    "device_source": gettext_lazy("设备来源"),
    "alert_id": gettext_lazy("告警编号"),
    "occurred_at": gettext_lazy("发生时间"),
    "hotline_id": gettext_lazy("热线工单号"),
    "called_at": gettext_lazy("来电时间"),
    "demo": None,
    "checked": None,
    "checked_at": None,
}
#: Channels where a person fills in the form, so required fields can be asked for.
FORM_SOURCES = frozenset({Source.PATROL, Source.RESIDENT, Source.API})


def _english() -> bool:
    return (get_language() or "").lower().startswith("en")


@dataclass(frozen=True)
class ExtraField:
    """One declared field, read tolerantly from what is stored (see ``fields_of``)."""

    name: str
    label: str = ""
    label_en: str = ""
    required: bool = False
    type: str = "text"
    choices: tuple[str, ...] = ()
    max_length: int = DEFAULT_MAX_LENGTH

    @property
    def input_name(self) -> str:
        """The form input's name and the key of its errors (``extra.plate``)."""
        return f"extra.{self.name}"

    @property
    def display_label(self) -> str:
        """The label in the current language: English when the UI speaks it and one is given."""
        if _english() and self.label_en:
            return self.label_en
        return self.label or self.label_en or self.name

    @property
    def long_text(self) -> bool:
        return self.type == "text" and self.max_length > DEFAULT_MAX_LENGTH

    def required_message(self) -> str:
        return _("请填写%(label)s") % {"label": self.display_label}

    def clean(self, value: Any, *, enforce_required: bool = True) -> Any:
        """The value to store (None: nothing to store), or ValidationError with a message that
        names the field in the user's language."""
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if self.required and enforce_required:
                raise ValidationError(self.required_message(), code="required")
            return None
        label = self.display_label
        if self.type == "number":
            return _number(value, label)
        if self.type == "date":
            if not isinstance(value, str) or not DATE_RE.fullmatch(value):
                raise ValidationError(_("%(label)s须为日期，格式如 2026-11-23") % {"label": label}, code="invalid")
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                raise ValidationError(_("%(label)s不是有效的日期") % {"label": label}, code="invalid") from None
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError(_("%(label)s须为文本") % {"label": label}, code="invalid")
        value = str(value)
        if self.type == "choice":
            if value not in self.choices:
                raise ValidationError(_("%(label)s须为以下之一：%(choices)s")
                                      % {"label": label, "choices": "、".join(self.choices)}, code="invalid_choice")
            return value
        if len(value) > self.max_length:
            raise ValidationError(_("%(label)s不能超过 %(n)d 个字符（现有 %(m)d 个）")
                                  % {"label": label, "n": self.max_length, "m": len(value)}, code="max_length")
        return value

    def display(self, value: Any) -> str:
        """A stored value as the case page shows it."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)


def _number(value: Any, label: str) -> int | float:
    if isinstance(value, bool):
        raise ValidationError(_("%(label)s须为数字") % {"label": label}, code="invalid")
    try:
        number = Decimal(value.replace(",", "") if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError(_("%(label)s须为数字") % {"label": label}, code="invalid") from None
    if not number.is_finite():
        raise ValidationError(_("%(label)s须为数字") % {"label": label}, code="invalid")
    if abs(number) >= MAX_NUMBER:
        raise ValidationError(_("%(label)s超出范围") % {"label": label}, code="invalid")
    if number == number.to_integral_value():
        return int(number)
    result = float(number)
    if not math.isfinite(result):
        raise ValidationError(_("%(label)s须为数字") % {"label": label}, code="invalid")
    return result


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------


def clean_definitions(value: Any) -> list[dict]:
    """Check a category's ``extra_fields`` and return it in its stored form (strings trimmed, type
    aliases such as 数字 spelled as the type); raise ValidationError listing every problem.

    Only the keys an item has are stored (no defaults are added), so an export and a re-import give
    the same text."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError(_("附加字段须为 JSON 列表，如 [{\"name\": \"plate\", \"label\": \"车牌号\"}]"))
    if len(value) > MAX_FIELDS:
        raise ValidationError(_("附加字段最多 %(n)d 个") % {"n": MAX_FIELDS})
    errors: list[str] = []
    names: set[str] = set()
    out: list[dict] = []
    for number, item in enumerate(value, start=1):
        problems, cleaned = _definition(item, number)
        name = cleaned.get("name")
        if name is not None:
            if name in names:
                problems.append(_("附加字段 %(name)s 重复") % {"name": name})
            names.add(name)
        errors.extend(problems)
        out.append(cleaned)
    if errors:
        raise ValidationError(errors)
    return out


def _definition(item: Any, number: int) -> tuple[list[str], dict]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        return [_("附加字段的每一项须为含 name 的 JSON 对象（第 %(n)d 项不是）") % {"n": number}], {}
    name = item["name"].strip()
    where = name if NAME_RE.fullmatch(name) else _("第 %(n)d 项") % {"n": number}
    problems: list[str] = []

    def problem(message: str) -> None:
        problems.append(_("附加字段 %(field)s：%(message)s") % {"field": where, "message": message})

    out: dict[str, Any] = {"name": name}
    unknown = sorted(str(k) for k in item if k not in KEYS)
    if unknown:
        problem(_("未知的键 %(keys)s（可用的键：%(allowed)s）") % {"keys": "、".join(unknown), "allowed": "、".join(KEYS)})
    if not NAME_RE.fullmatch(name):
        problem(_("name 只能含英文字母、数字和下划线，以字母开头，不超过 40 个字符，如 plate"))
    elif name in SYSTEM_KEYS:
        problem(_("name“%(name)s”是系统保留的名称，请换一个") % {"name": name})
    for key in ("label", "label_en"):
        if key in item:
            if not isinstance(item[key], str):
                problem(_("%(key)s 须为文本") % {"key": key})
            elif len(item[key].strip()) > MAX_LABEL:
                problem(_("%(key)s 不能超过 %(n)d 个字符") % {"key": key, "n": MAX_LABEL})
            else:
                out[key] = item[key].strip()
    if "required" in item:
        if not isinstance(item["required"], bool):
            problem(_("required 须为 true 或 false"))
        else:
            out["required"] = item["required"]
    kind = "text"
    if "type" in item:
        raw = item["type"]
        kind = TYPE_ALIASES.get(raw.strip(), raw.strip().lower()) if isinstance(raw, str) else None
        if kind not in TYPES:
            problem(_("type 须为 text（文本）、number（数字）、choice（选项）或 date（日期）"))
            kind = None
        else:
            out["type"] = kind
    if "choices" in item:
        choices = item["choices"]
        if kind != "choice":
            problem(_("只有 choice（选项）类型的字段可以有 choices"))
        elif (not isinstance(choices, list) or not choices
              or not all(isinstance(c, str) and c.strip() for c in choices)):
            problem(_("choices 须为非空的文本列表，如 [\"白天\", \"夜间\"]"))
        else:
            cleaned = [c.strip() for c in choices]
            if len(cleaned) > MAX_CHOICES:
                problem(_("choices 最多 %(n)d 项") % {"n": MAX_CHOICES})
            elif len(set(cleaned)) != len(cleaned):
                problem(_("choices 中有重复的选项"))
            elif any(len(c) > MAX_CHOICE_LENGTH for c in cleaned):
                problem(_("每个选项不能超过 %(n)d 个字符") % {"n": MAX_CHOICE_LENGTH})
            else:
                out["choices"] = cleaned
    elif kind == "choice":
        problem(_("choice（选项）类型须给出 choices，如 [\"白天\", \"夜间\"]"))
    if "max_length" in item:
        limit = item["max_length"]
        if kind not in ("text", None):
            problem(_("只有 text（文本）类型的字段可以有 max_length"))
        elif isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_MAX_LENGTH:
            problem(_("max_length 须为 1 到 %(n)d 之间的整数") % {"n": MAX_MAX_LENGTH})
        else:
            out["max_length"] = limit
    return problems, out


def fields_of(category) -> list[ExtraField]:
    """The declared fields of ``category`` (None: none). Stored definitions were checked when saved;
    anything odd from before that (a bad item, an unknown type) is read as leniently as possible
    rather than breaking intake."""
    raw = getattr(category, "extra_fields", None) if category is not None else None
    if not raw or not isinstance(raw, list):
        return []
    fields: list[ExtraField] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            continue
        name = item["name"].strip()
        if name in seen or name in SYSTEM_KEYS:
            continue
        seen.add(name)
        kind = item.get("type") if item.get("type") in TYPES else "text"
        choices = tuple(str(c).strip() for c in item.get("choices") or () if isinstance(c, str | int | float))
        if kind == "choice" and not choices:
            kind = "text"
        limit = item.get("max_length")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else DEFAULT_MAX_LENGTH
        fields.append(ExtraField(
            name=name, label=str(item.get("label") or ""), label_en=str(item.get("label_en") or ""),
            required=item.get("required") is True, type=kind, choices=choices, max_length=min(limit, MAX_MAX_LENGTH)))
    return fields


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def clean_values(category, extra: Any, *, source: str) -> tuple[dict, dict[str, list[str]]]:
    """Check a report's ``extra`` against ``category``'s declared fields (see the module docstring).

    Returns ``(extra to store, errors)``; errors are keyed ``extra.<name>`` (``extra`` when the
    whole value is not an object). No database access: ``category`` is already loaded."""
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        return {}, {"extra": [_("附加信息须为 JSON 对象")]}
    fields = fields_of(category)
    if not fields:
        return extra, {}
    enforce = source in FORM_SOURCES
    declared = {f.name for f in fields}
    errors: dict[str, list[str]] = {}
    out = {key: value for key, value in extra.items() if key not in declared}
    for f in fields:
        try:
            value = f.clean(extra.get(f.name), enforce_required=enforce)
        except ValidationError as exc:
            errors[f.input_name] = exc.messages
            continue
        if value is not None:
            out[f.name] = value
    if enforce:
        names = "、".join(f"{f.name}（{f.display_label}）" for f in fields)
        for key in extra:
            if key in declared or key in SYSTEM_KEYS:
                continue
            shown = str(key)[:40]
            errors[f"extra.{shown}"] = [_("“%(key)s”不是该分类的附加字段，可填写：%(names)s") % {"key": shown, "names": names}]
    return out, errors


@dataclass(frozen=True)
class Row:
    label: str
    value: str


def display_rows(case) -> tuple[list[Row], list[Row]]:
    """What the case page shows of ``case.extra``: (the category's declared fields that have a
    value, in declared order; the source information — system keys with a label, then any other
    keys such as an integration's own references or a field the category no longer declares)."""
    extra = case.extra if isinstance(case.extra, dict) else {}
    fields = fields_of(case.category)
    declared = []
    for f in fields:
        if extra.get(f.name) not in (None, ""):
            declared.append(Row(f.display_label, f.display(extra[f.name])))
    names = {f.name for f in fields}
    source = []
    for key, label in SYSTEM_KEYS.items():
        if label is not None and extra.get(key) not in (None, ""):
            source.append(Row(str(label), _moment_or_text(key, extra[key])))
    for key, value in extra.items():
        if key in names or key in SYSTEM_KEYS or value in (None, ""):
            continue
        source.append(Row(str(key)[:40], _text(value)))
    return declared, source


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    value = str(value)
    return value if len(value) <= 200 else value[:199] + "…"


def _moment_or_text(key: str, value: Any) -> str:
    if key.endswith("_at") and isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return _text(value)
        if moment.tzinfo is not None:
            from django.utils import timezone

            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M")
    return _text(value)
