"""From counts to rates and a score, with exact arithmetic (``fractions.Fraction``, ARCHITECTURE
pattern 7): a scheme's weights and parameters are read once into a ``Spec``, and ``figures`` turns
the counts of one area / department / person — kept per case source, since an indicator may count
only some sources — into a ``Figures``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .definitions import COUNTS, DEFINITIONS, Indicator, derive


@dataclass(frozen=True)
class Item:
    indicator: str
    weight: Fraction
    sources: tuple[str, ...] = ()  # empty: every source

    @property
    def label(self) -> str:
        return str(Indicator(self.indicator).label)

    @property
    def help(self) -> str:
        return str(DEFINITIONS[self.indicator].help)


@dataclass(frozen=True)
class Spec:
    """A scheme as plain data (what a result was computed with; kept beside it for audit)."""

    code: str
    name: str
    items: tuple[Item, ...]
    basic_weight: Fraction = Fraction(1)
    use_rating: bool = True
    due_to_close: str = "due"
    min_cases: int = 1

    @classmethod
    def from_scheme(cls, scheme) -> Spec:
        items = tuple(Item(i.indicator, Fraction(i.weight), tuple(i.sources or ()))
                      for i in scheme.items.all() if i.indicator in DEFINITIONS)
        return cls(scheme.code, scheme.name, items, Fraction(scheme.basic_weight), scheme.use_rating,
                   scheme.due_to_close, scheme.min_cases)

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "basic_weight": str(self.basic_weight),
                "use_rating": self.use_rating, "due_to_close": self.due_to_close, "min_cases": self.min_cases,
                "items": [{"indicator": i.indicator, "weight": str(i.weight), "sources": list(i.sources)}
                          for i in self.items]}


#: Every indicator, equal weights: what ``indicators()`` reports when no scheme is given.
ALL = Spec("all", "all", tuple(Item(code, Fraction(1)) for code in DEFINITIONS))


def percent(value: Fraction | None) -> Decimal | None:
    """A rate or score as a percentage with two decimals (half up), or None."""
    if value is None:
        return None
    return (Decimal(value.numerator) * 100 / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass
class Rate:
    indicator: str
    numerator: Fraction
    denominator: int
    value: Fraction | None  # numerator ÷ denominator, None when nothing to count

    @property
    def percent(self) -> Decimal | None:
        return percent(self.value)

    @property
    def label(self) -> str:
        return str(Indicator(self.indicator).label)

    @property
    def help(self) -> str:
        return str(DEFINITIONS[self.indicator].help)


@dataclass
class Figures:
    """The figures of one subject over one period: the counts (every source together, after the
    scheme's choices), every indicator's rate (the scheme's first), and the scheme's weighted score
    (0–100, None without data)."""

    counts: dict[str, int]
    rates: dict[str, Rate] = field(default_factory=dict)
    score_value: Fraction | None = None
    spec: Spec | None = None
    #: The months of the period that were never counted (尚未统计): then there are no figures yet.
    pending: tuple = ()

    @property
    def score(self) -> Decimal | None:
        return percent(self.score_value)

    @property
    def cases(self) -> int:
        return self.counts.get("cases", 0)

    def as_dict(self) -> dict:
        """Plain JSON-able figures (the API's and the reports' shape)."""
        return {"score": None if self.score is None else str(self.score),
                "cases": self.cases,
                "counts": dict(self.counts),
                "rates": {code: {"percent": None if r.percent is None else str(r.percent),
                                 "numerator": str(r.numerator), "denominator": r.denominator}
                          for code, r in self.rates.items()}}


def add(into: dict[str, int], row) -> dict[str, int]:
    """Add a fact row (a model instance or a dict) to a dict of counts."""
    get = row.get if isinstance(row, dict) else (lambda n: getattr(row, n))
    for name in COUNTS:
        into[name] = into.get(name, 0) + int(get(name) or 0)
    return into


def figures(by_source: dict[str, dict[str, int]], spec: Spec = ALL, *, pending=()) -> Figures:
    """``by_source``: source → counts. Rates per the spec's items; score = Σ w·rate ÷ Σ w over the
    items with a denominator (返工率 as 1 − rate). ``pending``: the period's never-counted months."""
    derived = {s: derive(c, use_rating=spec.use_rating, due_to_close=spec.due_to_close) for s, c in by_source.items()}
    total: dict[str, int] = {}
    for c in derived.values():
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    if not total:
        total = derive({}, use_rating=spec.use_rating, due_to_close=spec.due_to_close)
    rates: dict[str, Rate] = {}
    weighted, weights = Fraction(0), Fraction(0)
    items = {i.indicator: i for i in spec.items}
    # Every indicator's rate (the scheme's sources where it names the indicator); the score: the scheme's.
    for code in [*items, *(c for c in DEFINITIONS if c not in items)]:
        d = DEFINITIONS[code]
        item = items.get(code)
        if item is not None and item.sources:
            c = derive({}, use_rating=spec.use_rating, due_to_close=spec.due_to_close)
            for s in item.sources:
                for k, v in derived.get(s, {}).items():
                    c[k] += v
        else:
            c = total
        den = sum(c[k] for k in d.denominator)
        if code == Indicator.SATISFY:
            num = Fraction(c["sat_satisfied"]) + spec.basic_weight * c["sat_basic"]
        else:
            num = Fraction(sum(c[k] for k in d.numerator))
        value = num / den if den else None
        rates[code] = Rate(code, num, den, value)
        if item is not None and value is not None and item.weight:
            weighted += item.weight * ((1 - value) if d.lower_is_better else value)
            weights += item.weight
    score = weighted / weights if weights and total.get("cases", 0) >= spec.min_cases else None
    return Figures(total, rates, score, spec, tuple(pending))
