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

Three aggregate queries whatever the size (and two tiny ones: the electorates, the question ids),
each grouped by building — the electors (``GROUP BY building``), the participations joined to their
electors (``GROUP BY building, voted, attended``), the votes (``GROUP BY question, building,
choice``) — with the four weights summed per group. The groups (a few hundred at most: buildings ×
choices) are folded into the electorates here, in exact Decimal arithmetic. This is 3–5 times faster
on PostgreSQL than one conditional aggregate per electorate and measure
(``SUM(CASE WHEN building IN (…) THEN persons END)`` × 24 columns), measured by
``bench/deliberation.py``: every row is summed once, whatever the number of electorates.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from .models import Elector, Participation, Vote

MEASURES = {"persons": "persons", "households": "households", "area": "floor_area",
            "representatives": "representatives"}
CHOICES = ("for", "against", "abstain")
GROUPS = ("electorate", "participants", "attendees", *CHOICES)
ALL = "all"
CENT = Decimal("0.01")


def electorates(decision) -> list[tuple[str, str, list[str]]]:
    """(key, name, buildings) of the decision's electorates; the whole roll when it has none."""
    rows = [(e.key, e.name, [str(b) for b in (e.buildings or [])]) for e in decision.electorates.order_by("pk")]
    return rows or [(ALL, "", [])]


def _sums(prefix: str = "") -> dict:
    """``SUM`` of each weight, named ``w_<measure>`` (a name no model field has)."""
    return {f"w_{m}": Sum(prefix + column) for m, column in MEASURES.items()}


def _zeros() -> dict:
    return {"persons": 0, "households": 0, "area": Decimal("0.00"), "representatives": 0}


def _add(into: dict, row: dict) -> None:
    for m in MEASURES:
        value = row[f"w_{m}"]
        if value is not None:
            into[m] += Decimal(value) if m == "area" else int(value)


def _finish(groups: dict) -> dict:
    return {g: {m: (format(Decimal(v).quantize(CENT), "f") if m == "area" else v) for m, v in w.items()}
            for g, w in groups.items()}


def _scopes_of(building: str, scopes) -> list[str]:
    """The electorates a building belongs to (a whole-roll electorate takes every building)."""
    return [key for key, _name, buildings in scopes if not buildings or building in buildings]


def _raw(decision, scopes, with_votes: bool = True) -> tuple[dict, dict]:
    """Summed weights as Decimals and ints: (per electorate, per question and electorate).

    Each query groups by building (and by voted/attended, or by question and choice) — at most a few
    hundred groups — and the groups are folded into the electorates here."""
    base = {key: {g: _zeros() for g in ("electorate", "participants", "attendees")} for key, _n, _b in scopes}
    for row in Elector.objects.filter(decision=decision).order_by().values("building").annotate(**_sums()):
        for key in _scopes_of(row["building"], scopes):
            _add(base[key]["electorate"], row)
    rows = (Participation.objects.filter(decision=decision).order_by()
            .values("elector__building", "voted", "attended").annotate(**_sums("elector__")))
    for row in rows:
        for key in _scopes_of(row["elector__building"], scopes):
            if row["voted"]:
                _add(base[key]["participants"], row)
            if row["attended"]:
                _add(base[key]["attendees"], row)
    if not with_votes:
        return base, {}
    question_ids = list(decision.questions.order_by().values_list("pk", flat=True))
    votes = {qid: {key: {c: _zeros() for c in CHOICES} for key, _n, _b in scopes} for qid in question_ids}
    if question_ids:
        rows = (Vote.objects.filter(question_id__in=question_ids).order_by()
                .values("question_id", "building", "choice").annotate(**_sums()))
        for row in rows:
            if row["choice"] not in CHOICES:
                continue
            for key in _scopes_of(row["building"], scopes):
                _add(votes[row["question_id"]][key][row["choice"]], row)
    return base, votes


def electorate_figures(decision, scopes=None) -> dict:
    """The question-independent part: ``{key: {"electorate": …, "participants": …, "attendees": …}}``."""
    scopes = scopes or electorates(decision)
    base, _votes = _raw(decision, scopes, with_votes=False)
    return {key: _finish(groups) for key, groups in base.items()}


def figures(decision) -> dict:
    """Every question's figures (see the module's docstring)."""
    scopes = electorates(decision)
    base, votes = _raw(decision, scopes)
    finished = {key: _finish(groups) for key, groups in base.items()}
    return {qid: {key: {**{g: dict(v) for g, v in finished[key].items()}, **_finish(per_key[key])}
                  for key, _n, _b in scopes}
            for qid, per_key in votes.items()}


def names(decision) -> dict[str, str]:
    """Electorate key → name (for the rules' texts)."""
    return {key: name or key for key, name, _buildings in electorates(decision)}
