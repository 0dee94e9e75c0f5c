"""The tally (``tally.figures``): database sums over electors, participations and votes, per
electorate (whole roll or some buildings), with secret votes that name no elector."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.deliberation import tally
from gongzhi.deliberation.presets import cond

from .rulekit import ballot, elector, make_decision, take_part, vote

pytestmark = pytest.mark.django_db

RULE = cond("for", "persons", "participants", ">", "1/2")


def zero():
    return {"persons": 0, "households": 0, "area": "0.00", "representatives": 0}


def test_whole_roll_without_electorate_rows(world):
    decision = make_decision(world.community_a, questions=[("一", RULE, None), ("二", RULE, None)])
    q1, q2 = decision.questions.order_by("position")
    a = elector(decision, "a", persons=2, households=1, area="88.50", representatives=1)
    b = elector(decision, "b", persons=3, households=1, area="120.25")
    c = elector(decision, "c", persons=1, households=1, area="60.00")
    elector(decision, "d", persons=4, households=2, area="150.00")
    take_part(decision, a)
    take_part(decision, b, attended=True)
    take_part(decision, c, voted=False, attended=True)  # came to the meeting, did not vote
    vote(q1, a, "for")
    vote(q1, b, "against")
    vote(q2, a, "abstain")
    figures = tally.figures(decision)
    assert set(figures) == {q1.pk, q2.pk}
    first = figures[q1.pk]["all"]
    assert first["electorate"] == {"persons": 10, "households": 5, "area": "418.75", "representatives": 1}
    assert first["participants"] == {"persons": 5, "households": 2, "area": "208.75", "representatives": 1}
    assert first["attendees"] == {"persons": 4, "households": 2, "area": "180.25", "representatives": 0}
    assert first["for"] == {"persons": 2, "households": 1, "area": "88.50", "representatives": 1}
    assert first["against"] == {"persons": 3, "households": 1, "area": "120.25", "representatives": 0}
    assert first["abstain"] == zero()
    second = figures[q2.pk]["all"]
    assert second["electorate"] == first["electorate"] and second["participants"] == first["participants"]
    assert second["for"] == zero() and second["against"] == zero()
    assert second["abstain"]["area"] == "88.50"


def test_building_electorates_and_secret_votes(world):
    decision = make_decision(world.community_a, secret=True,
                             electorates=[("all", "全小区", []), ("b2", "2号楼", ["2"]), ("b13", "1、3号楼", ["1", "3"])],
                             questions=[("加装电梯", RULE, None)])
    (q,) = decision.questions.all()
    people = {}
    for i, building in enumerate(["1", "2", "2", "2", "3", "4"]):
        people[i] = elector(decision, f"e{i}", building=building, area=f"{100 + i}.10")
    ballot(decision, people[0], {1: "for"})
    ballot(decision, people[1], {1: "for"})
    ballot(decision, people[2], {1: "against"})
    ballot(decision, people[5], {1: "for"})
    assert not q.votes.filter(elector__isnull=False).exists()  # secret: votes name nobody
    figures = tally.figures(decision)[q.pk]
    assert set(figures) == {"all", "b2", "b13"}
    assert figures["all"]["electorate"]["persons"] == 6
    assert figures["all"]["for"]["persons"] == 3 and figures["all"]["participants"]["persons"] == 4
    assert figures["b2"]["electorate"] == {"persons": 3, "households": 3, "area": "306.30", "representatives": 0}
    assert figures["b2"]["participants"]["persons"] == 2
    assert figures["b2"]["for"] == {"persons": 1, "households": 1, "area": "101.10", "representatives": 0}
    assert figures["b2"]["against"]["area"] == "102.10"
    assert figures["b13"]["electorate"]["persons"] == 2 and figures["b13"]["electorate"]["area"] == "204.20"
    assert figures["b13"]["for"]["persons"] == 1 and figures["b13"]["against"] == zero()
    assert tally.names(decision) == {"all": "全小区", "b2": "2号楼", "b13": "1、3号楼"}


def test_other_decisions_do_not_count(world):
    mine = make_decision(world.community_a, questions=[("一", RULE, None)])
    other = make_decision(world.community_a, questions=[("一", RULE, None)])
    ballot(mine, elector(mine, "a"), {1: "for"})
    ballot(other, elector(other, "a"), {1: "for"})
    ballot(other, elector(other, "b"), {1: "for"})
    (figures,) = tally.figures(mine).values()
    assert figures["all"]["for"]["persons"] == 1 and figures["all"]["electorate"]["persons"] == 1


def test_a_handful_of_queries_whatever_the_size(world):
    decision = make_decision(world.community_a, electorates=[("all", "全小区", []), ("b1", "1号楼", ["1"])],
                             questions=[("一", RULE, None), ("二", RULE, 1)])
    for i in range(40):
        ballot(decision, elector(decision, f"x{i}", building=str(i % 3)), {1: "for", 2: "against"})
    with CaptureQueriesContext(connection) as ctx:
        figures = tally.figures(decision)
    assert len(ctx.captured_queries) == 5  # electorates, electors, participations, questions, votes
    assert all(f["all"]["electorate"]["persons"] == 40 for f in figures.values())
    assert sum(f["b1"]["for"]["persons"] + f["b1"]["against"]["persons"] for f in figures.values()) == 2 * 13


def test_empty_decision(world):
    decision = make_decision(world.community_a, questions=[("一", RULE, None)])
    (figures,) = tally.figures(decision).values()
    assert figures == {"all": {g: zero() for g in ("electorate", "participants", "attendees", "for", "against",
                                                   "abstain")}}
    assert tally.figures(make_decision(world.community_a, questions=[])) == {}


def test_random_rolls_match_python_sums(world):
    """Random weights, buildings (some blank), participation and choices: every figure equals a sum
    done here in Python over the rows, for overlapping electorates."""
    import random
    from decimal import Decimal

    rng = random.Random(7)
    scopes = [("all", "全小区", []), ("b1", "1号楼", ["1"]), ("b12", "1、2号楼", ["1", "2"]), ("nobody", "9号楼", ["9"])]
    decision = make_decision(world.community_a, electorates=scopes,
                             questions=[("一", RULE, None), ("二", RULE, None), ("三", RULE, None)])
    questions = list(decision.questions.order_by("position"))
    expected = {q.pk: {k: {g: {"persons": 0, "households": 0, "area": Decimal(0), "representatives": 0}
                           for g in ("electorate", "participants", "attendees", "for", "against", "abstain")}
                       for k, _n, _b in scopes} for q in questions}

    def add(key_filter, building, group, who):
        for qid in ([key_filter] if key_filter else expected):
            for key, _name, buildings in scopes:
                if not buildings or building in buildings:
                    target = expected[qid][key][group]
                    target["persons"] += who.persons
                    target["households"] += who.households
                    target["area"] += who.floor_area
                    target["representatives"] += who.representatives

    for i in range(60):
        who = elector(decision, f"r{i}", building=rng.choice(["1", "2", "3", ""]), persons=rng.randint(0, 4),
                      households=rng.randint(0, 2), area=f"{rng.randint(0, 20000) / 100:.2f}",
                      representatives=rng.randint(0, 1))
        add(None, who.building, "electorate", who)
        voted, attended = rng.random() < 0.7, rng.random() < 0.3
        if voted or attended:
            take_part(decision, who, voted=voted, attended=attended)
            if voted:
                add(None, who.building, "participants", who)
            if attended:
                add(None, who.building, "attendees", who)
        if voted:
            for q in questions:
                if rng.random() < 0.9:  # a ballot may leave a question blank
                    choice = rng.choice(["for", "against", "abstain"])
                    vote(q, who, choice, secret=rng.random() < 0.5)
                    add(q.pk, who.building, choice, who)
    for per_q in expected.values():
        for per_key in per_q.values():
            for weights in per_key.values():
                weights["area"] = f"{weights['area']:.2f}"
    assert tally.figures(decision) == expected
