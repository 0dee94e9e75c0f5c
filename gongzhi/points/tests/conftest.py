"""Fixtures of the points tests: a merchant of 东一社区 with a cashier, an offer, an activity."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from gongzhi.orgs import services as org_services
from gongzhi.points import services
from gongzhi.points.models import Activity, Merchant, Offer

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)


@dataclass
class Scheme:
    merchant: Merchant
    other_merchant: Merchant
    offer: Offer
    activity: Activity
    cashier: object
    other_cashier: object


def make_activity(world, **extra) -> Activity:
    values = dict(actor=world.dispatcher, area=world.community_a, title="清理楼道小广告", place="东一社区 3 号楼",
                  starts_at=T0, ends_at=T0 + datetime.timedelta(hours=3), slots=5, points_per_hour=10,
                  difficulty="1.5", cap_minutes=120, cap_points=100)
    values.update(extra)
    return services.create_activity(**values)


@pytest.fixture
def scheme(world) -> Scheme:
    cashier = org_services.create_user(actor=None, username="cashier", password="x-correct-horse", display_name="收银甲")
    other = org_services.create_user(actor=None, username="cashier2", password="x-correct-horse", display_name="收银乙")
    merchant = services.create_merchant(actor=world.dispatcher, area=world.community_a, name="喜邻理发店")
    other_merchant = services.create_merchant(actor=world.admin, area=world.community_b, name="西边超市")
    services.add_merchant_staff(merchant, actor=world.dispatcher, user=cashier)
    services.add_merchant_staff(other_merchant, actor=world.admin, user=other)
    offer = services.create_offer(merchant, actor=world.dispatcher, title="理发八折", gives="理发一次八折", price=30,
                                  valid_from=T0 - datetime.timedelta(days=1))
    return Scheme(merchant, other_merchant, offer, make_activity(world), cashier, other)


def award(world, user, points: int, now=None):
    """Give ``user`` points through an approved good deed (the shortest way to a balance)."""
    from gongzhi.points.models import GoodDeed

    deed = GoodDeed.objects.create(area=world.community_a, resident=user, reported_by=world.worker,
                                   description="帮邻居搬家", occurred_on=timezone.localdate())
    return services.approve_good_deed(deed, actor=world.dispatcher, points=points, now=now or T0)
