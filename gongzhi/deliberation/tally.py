"""The figures a decision's rules are evaluated on, summed by the database.

``figures(decision)`` returns one figures dict (``rules``' shape) per question::

    {question_id: {electorate_key: {
        "electorate":   {"persons": int, "households": int, "area": "1234.50", "representatives": int},
        "participants": {...},   # Participation.voted, weights of its Elector
        "attendees":    {...},   # Participation.attended
        "for": {...}, "against": {...}, "abstain": {...},   # the question's Vote rows (copied weights)
    }}}

An electorate whose ``buildings`` is empty is the whole roll; otherwise only electors (and votes)
whose ``building`` is in the list count. A decision without Electorate rows has one: ``"all"``.
Votes carry their weights and building (a secret decision's votes name no elector), so the votes
are summed on their own rows; participations are joined to their elector for its weights.

Three aggregate queries whatever the size (and two tiny ones: the electorates, the question ids):
one over the electors, one over the participations (joined to electors), one over the votes grouped
by question — each a conditional aggregation
(``SUM(CASE WHEN building IN (…) THEN persons END)`` per electorate and measure).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, DecimalField, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from .models import Elector, Participation, Vote

MEASURES = {"persons": "persons", "households": "households", "area": "floor_area",
            "representatives": "representatives"}
CHOICES = ("for", "against", "abstain")
ALL = "all"
SUM_AREA = DecimalField(max_digits=20, decimal_places=2)


def electorates(decision) -> list[tuple[str, str, list[str]]]:
    """(key, name, buildings) of the decision's electorates; the whole roll when it has none."""
    rows = [(e.key, e.name, list(e.buildings or [])) for e in decision.electorates.order_by("pk")]
    return rows or [(ALL, "", [])]


def _sum(field: str, measure: str, condition: Q | None):
    output = SUM_AREA if measure == "area" else IntegerField()
    zero = Value(Decimal("0.00"), output_field=SUM_AREA) if measure == "area" else Value(0)
    expression = F(field) if condition is None else Case(When(condition, then=F(field)), output_field=output)
    return Coalesce(Sum(expression, output_field=output), zero, output_field=output)


def _in_electorate(buildings: list[str], building_field: str) -> Q | None:
    return Q(**{f"{building_field}__in": buildings}) if buildings else None


def _and(a: Q | None, b: Q | None) -> Q | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _value(measure: str, value) -> int | str:
    if measure == "area":
        return format(Decimal(value or 0).quantize(Decimal("0.01")), "f")
    return int(value or 0)


def _aggregates(groups: dict[str, Q | None], scopes, weight_prefix: str, building_field: str) -> dict:
    """Aggregate expressions named ``<group>__<electorate>__<measure>``."""
    out = {}
    for key, _name, buildings in scopes:
        where = _in_electorate(buildings, building_field)
        for group, condition in groups.items():
            for measure, column in MEASURES.items():
                out[f"{group}__{key}__{measure}"] = _sum(weight_prefix + column, measure, _and(condition, where))
    return out


def _unpack(row: dict, groups, scopes, into: dict) -> None:
    for key, _name, _buildings in scopes:
        for group in groups:
            into.setdefault(key, {})[group] = {m: _value(m, row[f"{group}__{key}__{m}"]) for m in MEASURES}


def electorate_figures(decision, scopes=None) -> dict:
    """The question-independent part: ``{key: {"electorate": …, "participants": …, "attendees": …}}``."""
    scopes = scopes or electorates(decision)
    result: dict = {}
    electors = Elector.objects.filter(decision=decision).aggregate(
        **_aggregates({"electorate": None}, scopes, "", "building"))
    _unpack(electors, ["electorate"], scopes, result)
    taking_part = {"participants": Q(voted=True), "attendees": Q(attended=True)}
    participations = Participation.objects.filter(decision=decision).aggregate(
        **_aggregates(taking_part, scopes, "elector__", "elector__building"))
    _unpack(participations, taking_part, scopes, result)
    return result


def vote_figures(decision, scopes=None) -> dict:
    """``{question_id: {key: {"for": …, "against": …, "abstain": …}}}`` for every question of the decision
    (a question nobody voted on has zeros)."""
    scopes = scopes or electorates(decision)
    choices = {c: Q(choice=c) for c in CHOICES}
    rows = (Vote.objects.filter(question__decision=decision).order_by().values("question_id")
            .annotate(**_aggregates(choices, scopes, "", "building")))
    result = {qid: {} for qid in decision.questions.values_list("pk", flat=True)}
    for row in rows:
        _unpack(row, CHOICES, scopes, result.setdefault(row["question_id"], {}))
    zeros = {m: _value(m, 0) for m in MEASURES}
    for per_question in result.values():
        for key, _name, _buildings in scopes:
            for choice in CHOICES:
                per_question.setdefault(key, {}).setdefault(choice, dict(zeros))
    return result


def figures(decision) -> dict:
    """Every question's figures (see the module's docstring): three aggregate queries."""
    scopes = electorates(decision)
    base = electorate_figures(decision, scopes)
    votes = vote_figures(decision, scopes)
    out = {}
    for qid, per_question in votes.items():
        out[qid] = {key: {**{g: dict(v) for g, v in base[key].items()}, **per_question[key]}
                    for key, _name, _buildings in scopes}
    return out


def names(decision) -> dict[str, str]:
    """Electorate key → name (for the rules' texts)."""
    return {key: name or key for key, name, _buildings in electorates(decision)}
