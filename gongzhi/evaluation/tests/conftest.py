"""Hand-built cases for the indicator tests (fields and timeline rows written directly, so every
answer is known), on top of the fixed actors of gongzhi/conftest.py."""

from __future__ import annotations

import datetime
import itertools
import zoneinfo

import pytest

from gongzhi.cases.models import Case, CaseEvent, Category, DirectoryVersion

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def at(day: str, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """A local moment: ``at("2026-10-31", 23, 50)``."""
    d = datetime.date.fromisoformat(day)
    return datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ)


def worker_counts() -> list:
    """What the worker's recount pass does for the months never counted (a page only shows 尚未统计
    for them): ``services.count_missing``, here without the rest of the pass (return-visit samples)."""
    from gongzhi.evaluation import services

    return services.count_missing()


@pytest.fixture
def category(world):
    version = DirectoryVersion.objects.filter(is_active=True).first() or DirectoryVersion.objects.create(
        name="测试目录", is_active=True)
    return Category.objects.create(version=version, code="T0001", name="测试分类", kind=Category.Kind.MATTER)


def make_case(area, *, created: datetime.datetime, status: str = "closed", department=None, category=None,
              source: str = "patrol", reporter=None, filed=True, dispatched=True, handled=True, closed=None,
              rework: int = 0, returns: int = 0, reopen: int = 0, overdue: bool = False, rating: str = "",
              events: tuple = ()) -> Case:
    """A case with the given history. ``events``: (action, from_status, moment, data) timeline rows."""
    n = next(_numbers)
    hour = datetime.timedelta(hours=1)
    case = Case.objects.create(
        number=f"990101-T-{n:05d}", title=f"测试案件{n}", source=source, status=status,
        area=area, area_path=area.path if area else "", department=department, category=category,
        reporter=reporter, created_at=created,
        filed_at=created + hour if filed else None,
        dispatched_at=created + 2 * hour if dispatched else None,
        handled_at=created + 5 * hour if handled and status in ("handled", "closed") else None,
        closed_at=closed or ((created + 6 * hour) if status in ("closed", "not_filed", "withdrawn", "merged") else None),
        rework_count=rework, return_count=returns, reopen_count=reopen, overdue=overdue,
        rating=rating, rated_at=(created + 7 * hour) if rating else None)
    for action, from_status, moment, data in events:
        CaseEvent.objects.create(case=case, action=action, from_status=from_status, at=moment, data=data or {})
    return case
