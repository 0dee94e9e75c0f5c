"""The portal's home page: what applies to the user's own address, nothing of another estate's."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from gongzhi.portal import disclosures, notices, residency, schedules
from gongzhi.portal.models import Disclosure


@pytest.fixture
def board(world):
    today = timezone.localdate()
    schedules.create_schedule(None, area=world.community_a, kind="garbage", title="东一垃圾清运", weekdays=[],
                              times=["07:30"], calendar_rule="every_day", valid_from=today - datetime.timedelta(days=1))
    notices.publish_notice(None, area=world.community_a, title="东一停水通知", body="周六停水", valid_from=today)
    item = disclosures.create_disclosure(None, area=world.community_a, kind=Disclosure.Kind.FINANCE, title="东一收支",
                                         period_start=today - datetime.timedelta(days=30), period_end=today)
    disclosures.publish_version(None, item, lines=[{"date": today.isoformat(), "item": "结余", "income": "10.00",
                                                    "expense": "0", "note": ""}])
    return world


def _home(user, world, area):
    home = residency.request_residency(user, area=area, unit="1")
    residency.verify(world.admin, home, approve=True)


def test_a_resident_at_home_sees_the_estates_day(board, login):
    _home(board.resident, board, board.grid_a1)
    text = login(board.resident).get(reverse("portal:home")).content.decode()
    assert "东一垃圾清运" in text and "07:30" in text and "东一停水通知" in text and "东一收支" in text


def test_a_resident_of_another_estate_sees_none_of_it(board, login):
    _home(board.resident, board, board.grid_b1)
    text = login(board.resident).get(reverse("portal:home")).content.decode()
    assert "东一垃圾清运" not in text and "东一停水通知" not in text and "东一收支" not in text


def test_without_a_verified_home_the_page_asks_for_one(board, login):
    residency.request_residency(board.resident, area=board.grid_a1, unit="1")  # pending: not yet a home
    text = login(board.resident).get(reverse("portal:home")).content.decode()
    assert 'id="no-home"' in text and "东一垃圾清运" not in text and "东一收支" not in text
