"""Notification fixtures: the case fixtures, plus the people above street A."""

from __future__ import annotations

import pytest

from gongzhi.cases.tests.conftest import directory, supervisor  # noqa: F401  (fixtures, re-used)
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role


@pytest.fixture
def chain(world):
    """A head of 东派出所 (with an email address), a district center and a city center."""
    roles = {r.code: r for r in Role.objects.all()}

    def user(username, name, **extra):
        return org_services.create_user(actor=None, username=username, password=None, display_name=name, **extra)

    head = user("head", "所长甲", email="head@example.org")
    org_services.add_staff(actor=None, department=world.police_a, user=head, title="所长", is_head=True)
    district = user("district", "区中心甲")
    org_services.assign_role(actor=None, user=district, area=world.district, role=roles["dispatcher"])
    city = user("city", "市中心甲")
    org_services.assign_role(actor=None, user=city, area=world.city, role=roles["shift_lead"])
    return {"head": head, "district": district, "city": city}
