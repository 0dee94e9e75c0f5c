"""From a month's figures to one of five levels, by a scheme's rules (exact arithmetic, Fraction).

Rules (a ``GradingScheme.rules`` JSON object; docs/safety.md has the default and its reasons)::

    {"counts": {"criminal":      {"basis": "per10k", "bands": [1, 2, 3, 5]},
                "public_order":  {"basis": "per10k", "bands": [2, 4, 6, 10]},
                "robbery_theft": {"basis": "per10k", "bands": [0.5, 1, 2, 3]},
                "fraud":         {"basis": "count",  "bands": [2, 5, 10, 20]}},
     "satisfaction": {"bands": [95, 90, 85, 80]},
     "combine": {"method": "weighted", "weights": {"criminal": 3, "public_order": 2, "robbery_theft": 2,
                                                   "fraud": 1, "satisfaction": 2}}}

- A count (``basis`` "count") or its rate per 10,000 residents (``basis`` "per10k") is green when
  ≤ bands[0], blue when ≤ bands[1], yellow when ≤ bands[2], red when ≤ bands[3], black above.
- Satisfaction (a percentage) is green when ≥ bands[0], blue when ≥ bands[1], yellow when ≥ bands[2],
  red when ≥ bands[3], black below.
- ``combine`` "worst": the worst indicator's level. "weighted": the weighted mean of the indicators'
  ranks (green 0 … black 4), rounded half up. Optional ``"black_if_any_black": true`` (either method).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import COUNT_INDICATORS, LEVELS, RANK

INDICATORS = [*COUNT_INDICATORS, "satisfaction"]
BASES = ("count", "per10k")
METHODS = ("worst", "weighted")

DEFAULT_RULES = {
    "counts": {
        "criminal": {"basis": "per10k", "bands": ["1", "2", "3", "5"]},
        "public_order": {"basis": "per10k", "bands": ["2", "4", "6", "10"]},
        "robbery_theft": {"basis": "per10k", "bands": ["0.5", "1", "2", "3"]},
        "fraud": {"basis": "per10k", "bands": ["0.5", "1", "2", "3"]},
    },
    "satisfaction": {"bands": ["95", "90", "85", "80"]},
    "combine": {"method": "weighted", "black_if_any_black": True,
                "weights": {"criminal": 3, "public_order": 2, "robbery_theft": 2, "fraud": 1, "satisfaction": 2}},
}


def _fraction(value, where: str) -> Fraction:
    if isinstance(value, bool):
        raise ValidationError(_("%(where)s：应为数字") % {"where": where})
    try:
        number = Fraction(str(Decimal(str(value))))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(where)s：应为数字") % {"where": where}) from None
    if number < 0:
        raise ValidationError(_("%(where)s：不能为负数") % {"where": where})
    return number


def _bands(spec, where: str, *, ascending: bool) -> list[Fraction]:
    if not isinstance(spec, dict) or not isinstance(spec.get("bands"), list) or len(spec["bands"]) != 4:
        raise ValidationError(_("%(where)s：需要 4 个分界值（绿/蓝/黄/红）") % {"where": where})
    bands = [_fraction(b, where) for b in spec["bands"]]
    ordered = all(a <= b for a, b in zip(bands, bands[1:], strict=False)) if ascending else all(
        a >= b for a, b in zip(bands, bands[1:], strict=False))
    if not ordered:
        raise ValidationError(_("%(where)s：分界值应从绿到红依次递增（满意率依次递减）") % {"where": where})
    return bands


@dataclass(frozen=True)
class Rules:
    """Parsed, checked rules."""

    counts: dict[str, tuple[str, list[Fraction]]]
    satisfaction: list[Fraction]
    method: str
    weights: dict[str, Fraction]
    black_if_any_black: bool


def parse_rules(rules) -> Rules:
    """Check a scheme's rules; raise ValidationError with a message naming what is wrong."""
    if not isinstance(rules, dict):
        raise ValidationError(_("规则应为 JSON 对象"))
    counts = rules.get("counts")
    if not isinstance(counts, dict) or set(counts) != set(COUNT_INDICATORS):
        raise ValidationError(_("规则 counts 应包含且只包含：%(names)s") % {"names": ", ".join(COUNT_INDICATORS)})
    parsed = {}
    for name in COUNT_INDICATORS:
        spec = counts[name]
        basis = spec.get("basis") if isinstance(spec, dict) else None
        if basis not in BASES:
            raise ValidationError(_("%(name)s：basis 应为 count（件数）或 per10k（每万人）") % {"name": name})
        parsed[name] = (basis, _bands(spec, name, ascending=True))
    satisfaction = _bands(rules.get("satisfaction"), "satisfaction", ascending=False)
    combine = rules.get("combine") or {}
    method = combine.get("method") if isinstance(combine, dict) else None
    if method not in METHODS:
        raise ValidationError(_("combine.method 应为 worst（取最差）或 weighted（加权）"))
    weights: dict[str, Fraction] = {}
    if method == "weighted":
        given = combine.get("weights")
        if not isinstance(given, dict) or set(given) != set(INDICATORS):
            raise ValidationError(_("combine.weights 应为五项指标各给一个权重"))
        weights = {name: _fraction(given[name], f"weights.{name}") for name in INDICATORS}
        if sum(weights.values()) <= 0:
            raise ValidationError(_("权重之和应大于 0"))
    return Rules(parsed, satisfaction, method, weights, bool(combine.get("black_if_any_black", False)))


@dataclass(frozen=True)
class Figures:
    criminal: int
    public_order: int
    robbery_theft: int
    fraud: int
    satisfaction: Decimal
    population: int

    def count(self, name: str) -> int:
        return getattr(self, name)


@dataclass(frozen=True)
class Result:
    level: str
    detail: dict


def _count_level(value: Fraction, bands: list[Fraction]) -> int:
    for rank, bound in enumerate(bands):
        if value <= bound:
            return rank
    return 4


def _satisfaction_level(value: Fraction, bands: list[Fraction]) -> int:
    for rank, bound in enumerate(bands):
        if value >= bound:
            return rank
    return 4


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.4g}"


def grade(figures: Figures, rules) -> Result:
    """The level for these figures, with each indicator's value and level (stored as the grade's detail)."""
    r = rules if isinstance(rules, Rules) else parse_rules(rules)
    ranks: dict[str, int] = {}
    detail: dict[str, dict] = {}
    for name, (basis, bands) in r.counts.items():
        count = figures.count(name)
        if basis == "per10k":
            if figures.population <= 0:
                raise ValidationError(_("按每万人发案率评定，须先填写辖区常住人口"))
            value = Fraction(count * 10000, figures.population)
        else:
            value = Fraction(count)
        ranks[name] = _count_level(value, bands)
        detail[name] = {"count": count, "basis": basis, "value": _show(value), "level": LEVELS[ranks[name]].value}
    satisfaction = Fraction(str(figures.satisfaction))
    ranks["satisfaction"] = _satisfaction_level(satisfaction, r.satisfaction)
    detail["satisfaction"] = {"value": _show(satisfaction), "level": LEVELS[ranks["satisfaction"]].value}
    if r.method == "worst":
        rank = max(ranks.values())
        detail["score"] = str(rank)
    else:
        mean = sum(r.weights[n] * ranks[n] for n in INDICATORS) / sum(r.weights.values())
        rank = int(mean + Fraction(1, 2))  # half up (mean ≥ 0)
        detail["score"] = _show(mean)
    if r.black_if_any_black and 4 in ranks.values():
        rank = 4
    detail["method"] = r.method
    return Result(LEVELS[rank].value, detail)


def level_rank(level: str) -> int:
    return RANK[level]
