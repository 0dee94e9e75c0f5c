"""The rule engine of co-decision: a question's pass rule is data (a small JSON tree), evaluated with
exact fractions (``fractions.Fraction``, never ``float``) and described in words close to the
statutes'.

A rule is a **condition**, or ``{"all": [rule, …]}`` (every one must hold: 且) or
``{"any": [rule, …]}`` (one is enough: 或). A condition::

    {"electorate": "all",          # an Electorate.key of the decision ("all": the whole roll)
     "count": "for",               # for | against | participants | attendees
     "measure": "area",            # persons | households | area | representatives
     "base": "participants",       # electorate | participants | attendees
     "cmp": ">=",                  # ">=" 以上/不低于 (includes the number) · ">" 超过/过半数 (does not)
     "ratio": "3/4"}               # an exact fraction in (0, 1]: "2/3", "1/2", "0.9", "90%"

It holds when ``count[measure] / base[measure]  cmp  ratio`` over the figures of that electorate,
compared exactly. Civil Code art. 1259: "以上" includes the number itself (≥), "超过" does not (>); a
"过半数" is more than half (> 1/2). A zero denominator (nobody in the base) makes a condition fail.

``figures`` (what ``tally`` computes for one question)::

    {electorate_key: {"electorate": {measure: value}, "participants": {...}, "attendees": {...},
                      "for": {...}, "against": {...}, "abstain": {...}}}

with int values for persons, households and representatives and a Decimal string for the area
("1234.50"); a missing figure counts as 0.

``validate`` normalises a rule (or raises ``ValidationError`` with a Chinese message), ``evaluate``
gives an ``Outcome`` (passed, and one JSON-safe line per condition: its text, numerator, denominator,
their ratio as "a/b" and a rounded percentage for display, the threshold, met or not), ``describe``
gives the rule's text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_DEPTH = 8
MAX_CONDITIONS = 64
MAX_DENOMINATOR = 10_000
COUNTS = ("for", "against", "participants", "attendees")
MEASURES = ("persons", "households", "area", "representatives")
BASES = ("electorate", "participants", "attendees")
CMPS = (">=", ">")
CONDITION_KEYS = frozenset({"electorate", "count", "measure", "base", "cmp", "ratio"})
KEY_RE = re.compile(r"^[-a-zA-Z0-9_]{1,32}$")

COUNT_WORDS = {
    "for": gettext_lazy("同意的"),
    "against": gettext_lazy("反对的"),
    "participants": gettext_lazy("参与表决的"),
    "attendees": gettext_lazy("到会的"),
}
BASE_WORDS = {
    "electorate": gettext_lazy("全体"),
    "participants": gettext_lazy("参与表决"),
    "attendees": gettext_lazy("到会"),
}
MEASURE_WORDS = {
    "persons": gettext_lazy("人数"),
    "households": gettext_lazy("户数"),
    "area": gettext_lazy("专有部分面积"),
    "representatives": gettext_lazy("代表人数"),
}
CMP_WORDS = {
    ">=": gettext_lazy("以上，含本数"),
    ">": gettext_lazy("超过，不含本数"),
}


# ------------------------------------------------------------------------------------ validation


def _invalid(message: str, field_name: str):
    return ValidationError({field_name: message}, code="invalid_rule")


def parse_ratio(value) -> Fraction:
    """An exact ratio in (0, 1] from "2/3", "0.9", "90%", 1 … (never from a float)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("not a string")
    text = str(value).strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    if not re.fullmatch(r"\d{1,9}(\.\d{1,6})?(/\d{1,9})?", text) or ("." in text and "/" in text):
        raise ValueError("not a ratio")
    ratio = Fraction(text)  # exact: Fraction parses decimal strings without rounding
    if percent:
        ratio /= 100
    if not 0 < ratio <= 1 or ratio.denominator > MAX_DENOMINATOR:
        raise ValueError("out of range")
    return ratio


def format_fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def validate(rule, *, electorates=None, field: str = "rule") -> dict:
    """The rule, normalised (every key present, ratios as "a/b"); a JSON string is accepted too.

    ``electorates``: the keys a condition may name (``None``: any well-formed key). Raises
    ``ValidationError({field: message})`` with a Chinese message saying what is wrong and where."""
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except ValueError:
            raise _invalid(_("规则不是有效的 JSON"), field) from None
    allowed = None if electorates is None else set(electorates)
    counter = [0]
    return _validate(rule, 1, allowed, field, counter)


def _validate(rule, depth: int, allowed, field_name: str, counter: list[int]) -> dict:
    if depth > MAX_DEPTH:
        raise _invalid(_("规则嵌套过深（最多 %(n)s 层）") % {"n": MAX_DEPTH}, field_name)
    if not isinstance(rule, dict) or not rule:
        raise _invalid(_("规则的每一项都应是一个条件或“全部满足/任一满足”的组合"), field_name)
    groups = [k for k in ("all", "any") if k in rule]
    if groups:
        if len(rule) != 1:
            others = sorted(str(k) for k in rule if k != groups[0])
            raise _invalid(_("组合条件只能包含 all 或 any 一个键，多余的键：%(keys)s") % {"keys": "、".join(others)},
                           field_name)
        key = groups[0]
        items = rule[key]
        if not isinstance(items, list) or not items:
            raise _invalid(_("组合条件（%(key)s）至少要包含一个条件") % {"key": key}, field_name)
        return {key: [_validate(item, depth + 1, allowed, field_name, counter) for item in items]}
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise _invalid(_("规则中的条件过多（最多 %(n)s 个）") % {"n": MAX_CONDITIONS}, field_name)
    unknown = sorted(str(k) for k in rule if k not in CONDITION_KEYS)
    if unknown:
        raise _invalid(_("规则中有无法识别的键：%(keys)s") % {"keys": "、".join(unknown)}, field_name)
    missing = [k for k in ("count", "measure", "base", "cmp", "ratio") if k not in rule]
    if missing:
        raise _invalid(_("条件缺少：%(keys)s") % {"keys": "、".join(missing)}, field_name)
    electorate = rule.get("electorate", "all")
    if not isinstance(electorate, str) or not KEY_RE.match(electorate):
        raise _invalid(_("表决范围标识无效：%(value)s") % {"value": _shown(electorate)}, field_name)
    if allowed is not None and electorate not in allowed:
        raise _invalid(_("本表决没有名为“%(value)s”的表决范围") % {"value": electorate}, field_name)
    checks = (("count", COUNTS, _("未知的计数对象：%(value)s（应为 for、against、participants 或 attendees）")),
              ("measure", MEASURES, _("未知的计量方式：%(value)s（应为 persons、households、area 或 representatives）")),
              ("base", BASES, _("未知的比较基数：%(value)s（应为 electorate、participants 或 attendees）")),
              ("cmp", CMPS, _("未知的比较方式：%(value)s（应为 >= 或 >）")))
    for key, choices, message in checks:
        if not isinstance(rule[key], str) or rule[key] not in choices:
            raise _invalid(message % {"value": _shown(rule[key])}, field_name)
    try:
        ratio = parse_ratio(rule["ratio"])
    except (ValueError, ZeroDivisionError):
        raise _invalid(_("比例“%(value)s”无效：应为大于 0 且不超过 1 的分数，如 2/3、1/2、0.9 或 90%%")
                       % {"value": _shown(rule["ratio"])}, field_name) from None
    return {"electorate": electorate, "count": rule["count"], "measure": rule["measure"], "base": rule["base"],
            "cmp": rule["cmp"], "ratio": format_fraction(ratio)}


def _shown(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:40]


def conditions(rule: dict):
    """The conditions of a (validated) rule, left to right."""
    for key in ("all", "any"):
        if key in rule:
            for item in rule[key]:
                yield from conditions(item)
            return
    yield rule


def electorate_keys(rule: dict) -> set[str]:
    return {c.get("electorate", "all") for c in conditions(rule)}


# ------------------------------------------------------------------------------------ evaluation


@dataclass
class Outcome:
    passed: bool
    lines: list[dict] = field(default_factory=list)


def to_fraction(value) -> Fraction:
    """A figure as an exact Fraction: int, Decimal, Fraction or a decimal string; never a float."""
    if value is None:
        return Fraction(0)
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"figures must be int, Decimal or str, not {type(value).__name__}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(Decimal(value.strip()))
        except (InvalidOperation, ValueError, OverflowError):
            raise ValueError(f"not a number: {value!r}") from None
    raise TypeError(f"figures must be int, Decimal or str, not {type(value).__name__}")


def percent(value: Fraction) -> str:
    """A percentage rounded half up to two decimals, for display only ("66.67")."""
    hundredths = (value.numerator * 10_000 * 2 + value.denominator) // (2 * value.denominator)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _figure(figures: dict, electorate: str, group: str, measure: str) -> Fraction:
    return to_fraction(((figures.get(electorate) or {}).get(group) or {}).get(measure))


def _json_number(value: Fraction) -> str:
    """An exact figure as text: "12" or "1234.5" (area sums are decimals) — "a/b" only if neither."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return format_fraction(value)


def evaluate_condition(cond: dict, figures: dict, names: dict | None = None) -> dict:
    electorate = cond.get("electorate", "all")
    numerator = _figure(figures, electorate, cond["count"], cond["measure"])
    denominator = _figure(figures, electorate, cond["base"], cond["measure"])
    threshold = parse_ratio(cond["ratio"])
    line = {"text": describe_condition(cond, names), "electorate": electorate, "count": cond["count"],
            "measure": cond["measure"], "base": cond["base"], "cmp": cond["cmp"],
            "numerator": _json_number(numerator), "denominator": _json_number(denominator),
            "threshold": format_fraction(threshold), "threshold_percent": percent(threshold)}
    if electorate not in figures:
        line["note"] = _("没有该表决范围的计票数据")
    if denominator <= 0:
        line.update(ratio=None, percent=None, met=False)
        line.setdefault("note", _("基数为零，条件不成立"))
        return line
    ratio = numerator / denominator
    met = ratio >= threshold if cond["cmp"] == ">=" else ratio > threshold
    line.update(ratio=format_fraction(ratio), percent=percent(ratio), met=met)
    return line


def evaluate(rule: dict, figures: dict, names: dict | None = None) -> Outcome:
    """Evaluate a validated rule over ``figures``; every condition is evaluated (no short cut), so
    the lines explain the whole result. ``names``: electorate key → name, for the texts."""
    lines: list[dict] = []
    passed = _evaluate(rule, figures, names, lines)
    return Outcome(passed=passed, lines=lines)


def _evaluate(rule: dict, figures: dict, names, lines: list[dict]) -> bool:
    if "all" in rule:
        results = [_evaluate(item, figures, names, lines) for item in rule["all"]]
        return all(results)
    if "any" in rule:
        results = [_evaluate(item, figures, names, lines) for item in rule["any"]]
        return any(results)
    line = evaluate_condition(rule, figures, names)
    lines.append(line)
    return line["met"]


# ------------------------------------------------------------------------------------ description


def describe_condition(cond: dict, names: dict | None = None) -> str:
    electorate = cond.get("electorate", "all")
    ratio = parse_ratio(cond["ratio"])
    text = _("%(count)s%(measure)s占%(base)s%(measure)s的比例 %(cmp)s %(ratio)s（%(words)s）") % {
        "count": COUNT_WORDS[cond["count"]], "measure": MEASURE_WORDS[cond["measure"]],
        "base": BASE_WORDS[cond["base"]], "cmp": "≥" if cond["cmp"] == ">=" else ">",
        "ratio": format_fraction(ratio) if ratio != 1 else "1", "words": CMP_WORDS[cond["cmp"]]}
    if electorate != "all" or (names and "all" in names and len(names) > 1):
        name = (names or {}).get(electorate) or electorate
        text = _("［%(name)s］%(text)s") % {"name": name, "text": text}
    return text


def describe(rule, names: dict | None = None) -> str:
    """The rule in words, e.g. "参与表决的专有部分面积占全体专有部分面积的比例 ≥ 2/3（以上，含本数）；并且 …"
    ``names``: electorate key → name (the building's name instead of its key)."""
    rule = validate(rule)
    return _describe(rule, names, top=True)


def _describe(rule: dict, names, top: bool) -> str:
    for key, joiner in (("all", _("；并且 ")), ("any", _("；或者 "))):
        if key in rule:
            parts = [_describe(item, names, top=False) for item in rule[key]]
            if len(parts) == 1:
                return parts[0]
            text = str(joiner).join(parts)
            return text if top else _("〔%(text)s〕") % {"text": text}
    return describe_condition(rule, names)
