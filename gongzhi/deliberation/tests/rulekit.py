"""Builders for the tally and results tests: a decision with electors, participations and votes made
directly with the ORM (the ballot services are tested elsewhere)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from gongzhi.deliberation import rules
from gongzhi.deliberation.models import (
    Decision,
    Elector,
    Electorate,
    Participation,
    Question,
    Vote,
    VoterRoll,
)

T0 = datetime.datetime(2026, 5, 4, 9, 0, tzinfo=datetime.UTC)


def make_decision(area, *, questions, electorates=(), secret=False, ballot_unit="owner",
                  status=Decision.Status.OPEN, title="加装电梯与外墙修缮") -> Decision:
    """``questions``: (text, rule, requires position or None); ``electorates``: (key, name, buildings)."""
    roll = VoterRoll.objects.create(area=area, name="东一小区业主名册")
    decision = Decision.objects.create(area=area, roll=roll, title=title, ballot_unit=ballot_unit, secret=secret,
                                       status=status, opened_at=T0, closes_at=T0 + datetime.timedelta(days=14))
    for key, name, buildings in electorates:
        Electorate.objects.create(decision=decision, key=key, name=name, buildings=list(buildings))
    made = {}
    for position, (text, rule, requires) in enumerate(questions, 1):
        made[position] = Question.objects.create(decision=decision, position=position, text=text,
                                                 rule=rules.validate(rule),
                                                 requires=made[requires] if requires else None)
    return decision


def elector(decision, key, *, building="1", persons=1, households=1, area="100.00", representatives=0) -> Elector:
    return Elector.objects.create(decision=decision, key=key, label=f"业主{key}", building=building, persons=persons,
                                  households=households, floor_area=Decimal(area), representatives=representatives)


def take_part(decision, who: Elector, *, voted=True, attended=False) -> Participation:
    return Participation.objects.create(decision=decision, elector=who, voted=voted, attended=attended,
                                        channel=Participation.Channel.MEETING if attended else
                                        Participation.Channel.ONLINE)


def vote(question, who: Elector, choice: str, *, secret=False) -> Vote:
    return Vote.objects.create(question=question, elector=None if secret else who, choice=choice,
                               building=who.building, persons=who.persons, households=who.households,
                               floor_area=who.floor_area, representatives=who.representatives)


def ballot(decision, who: Elector, choices: dict[int, str], *, secret=None) -> None:
    """One elector takes part and answers questions by position: {1: "for", 2: "against"}."""
    take_part(decision, who)
    secret = decision.secret if secret is None else secret
    for position, choice in choices.items():
        vote(decision.questions.get(position=position), who, choice, secret=secret)
