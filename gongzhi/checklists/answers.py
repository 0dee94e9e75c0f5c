"""Checking a filled checklist on the server, and which items failed.

``validate_answers(version, answers) -> (cleaned, errors)``

- ``answers`` maps question names to what the phone sent: text; a list (or space-separated text) of
  choice names for select_multiple; numbers as numbers or text; a geopoint as ``"lat lon [alt acc]"``
  or ``[lat, lon]``; a photo as any non-empty reference the caller stored it under (the visit keeps
  the file; the checklist only needs to know there is one). Unknown names are ignored.
- Questions are visited in form order. A question whose own ``relevant`` or a group's around it is
  false is *not relevant*: its answer is dropped and counts as '' for every later expression (what
  ODK does). A relevant, required question without an answer is an error; an answer of the wrong
  type is an error; a ``constraint`` that is false for a given answer is an error
  (``constraint_message`` or a default). Unanswered questions are never checked against constraints.
- ``cleaned`` holds the relevant answered questions, JSON-safe: text → str, integer → int,
  decimal → str (exact, e.g. "2.5"), date → "YYYY-MM-DD", select_one → str, select_multiple →
  list[str], geopoint → [lat, lon] (+ altitude, accuracy when given), photo → the reference.
- ``errors`` maps a question name to one message in the user's language.

``failed_items(version, answers) -> list[Item]`` — the rule (docs/checklists.md): an *item* is a
select_one / select_multiple question with a ``department``. It fails when it is relevant and its
answer includes a failing choice: a choice marked ``fails = yes`` on the choices sheet, or — when its
list marks none — a choice named ``no``, ``fail``, ``failed``, ``不合格`` or ``否``. Answers are
cleaned first, so an invalid or non-relevant answer never fails an item.
"""

from __future__ import annotations

import datetime
import decimal
import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from . import expr
from .xlsform import Form, pick_label

MAX_TEXT = 2000


@dataclass(frozen=True)
class Item:
    """A failed inspection item: what the hazard and the department's notice are made of."""

    name: str
    label: str
    department_code: str  # an orgs.Department.Kind value: street_office, police, market, enforcement …
    severity: str  # minor | major | critical
    rectification_days: int | None
    legal_basis: str
    answer: tuple[str, ...] = ()  # the failing choice names
    answer_labels: tuple[str, ...] = ()


def _form(version_or_form) -> Form:
    return version_or_form if isinstance(version_or_form, Form) else version_or_form.form


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return " ".join(_as_text(v) for v in value if _as_text(v))
    return str(value).strip()


def _xpath_value(question: dict, value: Any) -> str:
    """What an answer is as an XPath string value (what expressions see)."""
    if question["type"] == "select_multiple" and isinstance(value, str):
        return " ".join(value.split())
    return _as_text(value)


def _clean(form: Form, question: dict, raw: Any) -> tuple[Any, str | None]:
    """(cleaned value, error message) for one non-empty answer."""
    kind = question["type"]
    text = _as_text(raw)
    if kind == "text":
        if len(text) > MAX_TEXT:
            return None, _("不能超过 %(n)d 个字符") % {"n": MAX_TEXT}
        return text, None
    if kind == "integer":
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            return None, _("请填写整数")
        if not number.is_finite() or number != number.to_integral_value() or abs(number) > 10**12:
            return None, _("请填写整数")
        return int(number), None
    if kind == "decimal":
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            return None, _("请填写数字")
        if not number.is_finite() or abs(number) > 10**12:
            return None, _("请填写数字")
        return str(number.normalize()) if number == number.to_integral_value() else str(number), None
    if kind == "date":
        try:
            return datetime.date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, _("日期应写作 2026-12-03")
    if kind in ("select_one", "select_multiple"):
        names = {c["name"] for c in form.choice_list(question)}
        chosen = text.split() if kind == "select_multiple" else [text]
        unknown = [c for c in chosen if c not in names]
        if unknown:
            return None, _("没有这个选项：%(value)s") % {"value": " ".join(unknown)}
        if kind == "select_one":
            return text, None
        return sorted(set(chosen), key=chosen.index), None
    if kind == "geopoint":
        try:
            parts = [float(p) for p in text.replace(",", " ").split()]
        except ValueError:
            parts = []
        if len(parts) not in (2, 3, 4) or not all(math.isfinite(p) for p in parts) or not (
                -90 <= parts[0] <= 90 and -180 <= parts[1] <= 180):
            return None, _("位置应为“纬度 经度”")
        return parts, None
    if kind == "photo":
        if len(text) > 300:
            return None, _("照片引用过长")
        return text, None
    return None, None  # note: no answer


def validate_answers(version, answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check answers against the version's form; see the module docstring."""
    form = _form(version)
    values: dict[str, str] = {name: _xpath_value(q, answers.get(name)) for name, q in form.questions.items()}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, question in form.questions.items():
        relevant = all(expr.holds(tree, values) for tree in form.group_relevants[name]) and expr.holds(
            question.get("relevant"), values)
        if not relevant:
            values[name] = ""
            continue
        if question["type"] == "note":
            continue
        value = values[name]
        if value == "":
            if question.get("required"):
                errors[name] = pick_label(question.get("required_message")) or _("此项必填")
            continue
        clean, error = _clean(form, question, answers.get(name))
        if error:
            errors[name] = error
            continue
        if not expr.holds(question.get("constraint"), values, current=value):
            errors[name] = pick_label(question.get("constraint_message")) or _("填写的内容不符合要求")
            continue
        cleaned[name] = clean
    return cleaned, errors


def failed_items(version, answers: dict[str, Any]) -> list[Item]:
    """The inspection items the answers fail, in form order; see the module docstring for the rule."""
    form = _form(version)
    cleaned, _errors = validate_answers(form, answers)
    items = []
    for name, question in form.questions.items():
        if not question.get("department") or name not in cleaned:
            continue
        chosen = cleaned[name] if isinstance(cleaned[name], list) else [cleaned[name]]
        by_name = {c["name"]: c for c in form.choice_list(question)}
        failing = [c for c in chosen if by_name.get(c, {}).get("fails")]
        if failing:
            items.append(Item(
                name=name, label=pick_label(question.get("label")), department_code=question["department"],
                severity=question.get("severity") or "minor", rectification_days=question.get("rectification_days"),
                legal_basis=question.get("legal_basis", ""), answer=tuple(failing),
                answer_labels=tuple(pick_label(by_name[c]["label"]) for c in failing)))
    return items


def items(version) -> list[dict]:
    """Every inspection item of a version (the questions with a department), in form order."""
    return [q for q in _form(version).questions.values() if q.get("department")]
