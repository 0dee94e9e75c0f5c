"""Hand-built cases for the wall screen and the monthly report (gongzhi/conftest.py's small city).

Street A (东街道), grids A1 and A2; street B (西街道), grid B1. "Today" is the city's day
(``TIME_ZONE``); every case of today is reported between midnight and now, so the figures never
depend on the hour the tests run at.
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone

from gongzhi.cases.choices import Source, Status
from gongzhi.cases.models import Case, CaseEvent, Category, DirectoryVersion
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.screen.queries import today_start

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_screen_cache(settings):
    """Every test computes its own figures (the live cache is shared per jurisdiction)."""
    from django.core.cache import cache

    settings.SCREEN_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


def make_case(area, *, created_at, source=Source.RESIDENT, status=Status.FILED, category=None, overdue=False,
              due_at=None, closed_at=None, lonlat=None, title="测试案件") -> Case:
    number = f"990101-{created_at:%Y%m%d}-{next(_numbers):04d}"
    if lonlat is None and area is not None:
        ring = area.geometry["coordinates"][0]
        lonlat = ((ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2)
    return Case.objects.create(
        number=number, title=title, source=source, status=status, category=category, area=area,
        area_path=area.path if area else "", lon=lonlat[0] if lonlat else None, lat=lonlat[1] if lonlat else None,
        created_at=created_at, filed_at=created_at if status != Status.REPORTED else None, overdue=overdue,
        due_at=due_at, closed_at=closed_at)


def event(case: Case, action: str, at, *, from_status="", to_status="") -> CaseEvent:
    return CaseEvent.objects.create(case=case, action=action, at=at, from_status=from_status, to_status=to_status)


@dataclass
class Today:
    now: datetime.datetime
    start: datetime.datetime
    a_new: Case          # filed today, due later
    a_late: Case         # in progress, reported today, marked overdue
    a_past_due: Case     # dispatched yesterday, past its due time (not yet marked)
    a_closed: Case       # closed today, never overdue
    a_closed_late: Case  # closed today, was overdue once
    a_old: Case          # closed a month ago
    a_not_filed: Case    # reported today, not filed
    b_late: Case         # street B: filed today, overdue
    unlocated: Case      # reported today, no grid yet


@pytest.fixture
def categories(db):
    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)
    version = DirectoryVersion.objects.create(name="大屏测试目录", is_active=True)
    return {
        "garbage": Category.objects.create(version=version, code="06010", name="暴露垃圾", kind=Category.Kind.MATTER,
                                           major_code="06", major_name="市容环境"),
        "stall": Category.objects.create(version=version, code="09005", name="店外经营", kind=Category.Kind.MATTER,
                                         major_code="09", major_name="街面秩序"),
    }


@pytest.fixture
def today_cases(world, categories) -> Today:
    now = timezone.now()
    start = today_start(now)
    today = start + (now - start) / 2           # between midnight and now
    hour = datetime.timedelta(hours=1)
    yesterday = start - 10 * hour
    a1, a2, b1 = world.grid_a1, world.grid_a2, world.grid_b1
    a_new = make_case(a1, created_at=today, source=Source.PATROL, status=Status.FILED, due_at=now + hour,
                      category=categories["garbage"], title="垃圾堆积")
    a_late = make_case(a2, created_at=today, source=Source.HOTLINE, status=Status.IN_PROGRESS, overdue=True,
                       due_at=now - 2 * hour, category=categories["stall"], title="占道经营")
    a_past_due = make_case(a1, created_at=yesterday, source=Source.RESIDENT, status=Status.DISPATCHED,
                           due_at=now - hour, title="井盖缺失")
    a_closed = make_case(a1, created_at=yesterday, status=Status.CLOSED, closed_at=today)
    event(a_closed, "verify", today, from_status=Status.HANDLED, to_status=Status.CLOSED)
    a_closed_late = make_case(a2, created_at=start - 72 * hour, status=Status.CLOSED, closed_at=today)
    event(a_closed_late, "overdue", start - 48 * hour, from_status=Status.IN_PROGRESS, to_status=Status.IN_PROGRESS)
    event(a_closed_late, "verify", today, from_status=Status.HANDLED, to_status=Status.CLOSED)
    a_old = make_case(a1, created_at=start - 40 * 24 * hour, status=Status.CLOSED, closed_at=start - 30 * 24 * hour)
    event(a_old, "verify", start - 30 * 24 * hour, from_status=Status.HANDLED, to_status=Status.CLOSED)
    a_not_filed = make_case(a1, created_at=today, source=Source.RESIDENT, status=Status.NOT_FILED, closed_at=today)
    b_late = make_case(b1, created_at=today, source=Source.HOTLINE, status=Status.FILED, overdue=True,
                       due_at=now - 3 * hour, title="西街道超期")
    unlocated = make_case(None, created_at=today, source=Source.API, status=Status.REPORTED)
    return Today(now, start, a_new, a_late, a_past_due, a_closed, a_closed_late, a_old, a_not_filed, b_late, unlocated)


@pytest.fixture
def dispatcher_b(world):
    """派遣员 of 西街道 (street B)."""
    user = org_services.create_user(actor=None, username="dispatcher_b", password="correct-horse-battery",
                                    display_name="调度乙")
    org_services.assign_role(actor=None, user=user, area=world.street_b, role=Role.objects.get(code="dispatcher"))
    return user


@pytest.fixture
def leader(world):
    """领导 of 东街道: sees the screen, holds no command role."""
    user = org_services.create_user(actor=None, username="leader", password="correct-horse-battery",
                                    display_name="领导甲")
    org_services.assign_role(actor=None, user=user, area=world.street_a, role=Role.objects.get(code="leader"))
    return user


@pytest.fixture
def grades(world):
    """Published safety grades, this month and October 2026: 东城派出所辖区 (street A) green, 东港警务区
    (street A) red, 西城派出所辖区 (street B) yellow."""
    from decimal import Decimal

    from gongzhi.safety.models import Grade, GradingScheme, PoliceArea

    scheme = GradingScheme.objects.create(version=990, name="测试方案", rules={})
    areas = []
    for code, name, street in (("pa-1", "东城派出所辖区", world.street_a), ("pa-2", "东港警务区", world.street_a),
                               ("pa-3", "西城派出所辖区", world.street_b)):
        pa = PoliceArea.objects.create(code=code, name=name, population=50000)
        pa.covers.add(street)
        areas.append(pa)
    months = {timezone.localdate().replace(day=1), datetime.date(2026, 10, 1)}
    for month in months:
        for pa, level, criminal in zip(areas, ("green", "red", "yellow"), (2, 17, 6), strict=True):
            Grade.objects.create(police_area=pa, month=month, criminal=criminal, public_order=5, robbery_theft=1,
                                 fraud=3, satisfaction=Decimal("91.50"), population=50000, level=level,
                                 scheme=scheme, status=Grade.Status.PUBLISHED)
    return areas
