"""Safety fixtures on top of the fixed actors (gongzhi/conftest.py): one police jurisdiction per
street, 10,000 residents each (so a count is its own rate per 10,000)."""

from __future__ import annotations

import datetime

import pytest

from gongzhi.conftest import square
from gongzhi.orgs.models import Department
from gongzhi.safety import services
from gongzhi.safety.models import GradingScheme

MONTH = datetime.date(2026, 10, 1)
GREEN = {"criminal": 0, "public_order": 0, "robbery_theft": 0, "fraud": 0, "satisfaction": "99"}
RED = {"criminal": 5, "public_order": 8, "robbery_theft": 3, "fraud": 1, "satisfaction": "82"}


@pytest.fixture
def scheme(db):
    """The default scheme, active (re-created if a transactional test flushed it)."""
    from gongzhi.safety.grading import DEFAULT_RULES

    active = GradingScheme.objects.filter(is_active=True).first()
    return active or services.create_scheme(actor=None, name="默认", rules=DEFAULT_RULES, activate=True)


@pytest.fixture
def police(world, scheme):
    pa_a = services.create_police_area(actor=None, name="东派出所辖区", code="pa-a", department=world.police_a,
                                       population=10000, geometry=square(100.0, 30.0, 0.5), covers=[world.street_a])
    pa_b = services.create_police_area(actor=None, name="西派出所辖区", code="pa-b",
                                       department=Department.objects.get(code="police-b"), population=10000,
                                       geometry=square(100.5, 30.0, 0.5), covers=[world.street_b])
    return pa_a, pa_b
