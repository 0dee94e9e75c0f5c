"""Case fixtures on top of the fixed actors of gongzhi/conftest.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gongzhi.cases.choices import LimitUnit, Step
from gongzhi.cases.models import Category, DirectoryVersion, RoutingRule, TimeLimit
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role


@pytest.fixture
def directory(world):
    """A small active directory: 06010 暴露垃圾 (4 working hours to handle, routed to 东派出所 in street A
    — odd but simple), 09005 店外经营 (no rule: a dispatcher decides).

    The migrated default directory is active in the test database; only one version may be, so it
    is switched off first (the test's transaction rolls that back)."""
    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)
    version = DirectoryVersion.objects.create(name="测试目录", is_active=True)
    garbage = Category.objects.create(version=version, code="06010", name="暴露垃圾", kind=Category.Kind.MATTER)
    street = Category.objects.create(version=version, code="09005", name="店外经营", kind=Category.Kind.MATTER)
    TimeLimit.objects.create(category=garbage, step=Step.HANDLE, amount=Decimal(4), unit=LimitUnit.WORKING_HOURS)
    RoutingRule.objects.create(category=garbage, area=world.street_a, department=world.police_a)
    return {"version": version, "garbage": garbage, "street": street}


@pytest.fixture
def supervisor(world):
    """A 监督员 of street A, who checks reports and verifies results."""
    user = org_services.create_user(actor=None, username="supervisor", password="correct-horse-battery",
                                    display_name="监督员甲")
    org_services.assign_role(actor=None, user=user, area=world.street_a, role=Role.objects.get(code="supervisor"))
    return user
