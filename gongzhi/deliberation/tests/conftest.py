"""Fixtures of the co-decision tests: a small voter roll of 东一社区 (东一花园, owners) built with the ORM.

Six units in two buildings (``world`` from gongzhi/conftest.py must exist first):

====================  ========  =======  ==================================================================
unit                  building  area ㎡   members
====================  ========  =======  ==================================================================
1-101                 1         80.00    林一凡 (head, account = ``world.resident``)
1-102                 1         90.00    陈二木 (head, phone 13900000002) and 何二妹 (co-owner, adult)
1-201                 1         100.00   韩三石 (head, owner_key "han-3", phone 13900000003)
2-101                 2         120.00   韩三石 (head, owner_key "han-3") — the same owner: one owner, two units
2-102                 2         60.00    孟四川 (head, representative, phone 13900000004) and 孟小四 (minor)
2-201                 2         75.50    钱五岳 (head, no phone) and 钱五月 (adult)
====================  ========  =======  ==================================================================

So: 6 households, 5 owners (韩三石 counts once), 8 adults, 1 representative, 525.50 ㎡ in all.
Keep it small and stable — other test modules of the app count on these figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from gongzhi.deliberation.models import Member, Unit, VoterRoll

UNITS = [
    # code, building, area, [(name, phone, owner_key, is_head, is_adult, is_representative)]
    ("1-101", "1", "80.00", [("林一凡", "13900000001", "", True, True, False)]),
    ("1-102", "1", "90.00", [("陈二木", "13900000002", "", True, True, False),
                             ("何二妹", "", "", False, True, False)]),
    ("1-201", "1", "100.00", [("韩三石", "13900000003", "han-3", True, True, False)]),
    ("2-101", "2", "120.00", [("韩三石", "13900000003", "han-3", True, True, False)]),
    ("2-102", "2", "60.00", [("孟四川", "13900000004", "", True, True, True),
                             ("孟小四", "", "", False, False, False)]),
    ("2-201", "2", "75.50", [("钱五岳", "", "", True, True, False),
                             ("钱五月", "", "", False, True, False)]),
]
TOTAL_AREA = Decimal("525.50")


@dataclass
class Roll:
    roll: VoterRoll
    units: dict[str, Unit] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)  # by name (韩三石: his unit 1-201)


def make_roll(area, *, name: str = "东一花园业主名册", resident=None) -> Roll:
    """The roll above in ``area``; ``resident`` (a user) is 林一凡's account."""
    roll = VoterRoll.objects.create(area=area, name=name, kind=VoterRoll.Kind.OWNERS)
    made = Roll(roll)
    for code, building, area_m2, people in UNITS:
        unit = Unit.objects.create(roll=roll, code=code, building=building, floor_area=Decimal(area_m2))
        made.units[code] = unit
        for person, phone, key, head, adult, representative in people:
            member = Member.objects.create(
                roll=roll, unit=unit, name=person, phone=phone, owner_key=key, is_head=head, is_adult=adult,
                is_representative=representative, user=resident if person == "林一凡" else None)
            made.members.setdefault(person, member)
    return made


@pytest.fixture
def roll(world) -> Roll:
    """东一花园's owners' roll in 东一社区; 林一凡 is ``world.resident``."""
    return make_roll(world.community_a, resident=world.resident)
