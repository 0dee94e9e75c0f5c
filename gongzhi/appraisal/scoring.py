"""The weighted total of a project's sheets (exact fractions; docs/appraisal.md).

- A sheet's total is the sum of its item scores (each between 0 and the item's maximum).
- A party's score is the mean of its sheets' totals.
- The weighted total is Σ weight × party score / Σ weight, over the parties that have at least one
  sheet (a party nobody from scored does not pull the total down; the count per party is shown
  beside it so a reader sees who scored).
- The percentage is the weighted total / the sheet's maximum × 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .models import Party, Project


@dataclass(frozen=True)
class PartyResult:
    party: str
    label: str
    weight: Fraction
    sheets: int
    mean: Fraction | None


@dataclass(frozen=True)
class ProjectResult:
    max_total: Fraction
    parties: list[PartyResult]
    weighted: Fraction | None
    sheets: int

    @property
    def percent(self) -> Fraction | None:
        if self.weighted is None or not self.max_total:
            return None
        return self.weighted * 100 / self.max_total


def rounded(value: Fraction | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def compute(weights: dict[str, Fraction], totals: dict[str, list[Fraction]], max_total: Fraction) -> ProjectResult:
    """The pure computation: ``weights`` per party, ``totals`` the sheet totals per party."""
    parties = []
    num = den = Fraction(0)
    for party in Party.values:
        weight = weights.get(party, Fraction(0))
        sheets = totals.get(party, [])
        mean = sum(sheets, Fraction(0)) / len(sheets) if sheets else None
        parties.append(PartyResult(party, str(Party(party).label), weight, len(sheets), mean))
        if mean is not None and weight > 0:
            num += weight * mean
            den += weight
    weighted = num / den if den else None
    return ProjectResult(max_total, parties, weighted, sum(len(v) for v in totals.values()))


def project_result(project: Project) -> ProjectResult:
    weights = {w.party: Fraction(str(w.weight)) for w in project.weights.all()}
    totals: dict[str, list[Fraction]] = {}
    for party, total in project.sheets.values_list("party", "total"):
        totals.setdefault(party, []).append(Fraction(str(total)))
    max_total = sum((Fraction(str(m)) for m in project.items.values_list("max_score", flat=True)), Fraction(0))
    return compute(weights, totals, max_total)
