"""Monthly rankings: ranks, ties, the change from the month before, and who sees which rows."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gongzhi.areas import services as area_services
from gongzhi.areas.models import AreaLevel
from gongzhi.evaluation import queries

from .conftest import at, make_case, worker_counts

SEP = datetime.date(2026, 9, 1)
OCT = datetime.date(2026, 10, 1)


def _month(world, street_grid, month: str, satisfied: int, unsatisfied: int):
    for _i in range(satisfied):
        make_case(street_grid, created=at(f"{month}-10"), rating="satisfied", department=world.police_a)
    for _i in range(unsatisfied):
        make_case(street_grid, created=at(f"{month}-10"), rating="unsatisfied", department=world.police_a)


@pytest.fixture
def street_c(world):
    level = AreaLevel.objects.get(slug="street")
    street = area_services.create_area(actor=None, level=level, parent=world.district, name="南街道",
                                       code="990101003")
    community = area_services.create_area(actor=None, level=AreaLevel.objects.get(slug="community"), parent=street,
                                          name="南一社区", code="990101003001")
    grid = area_services.create_area(actor=None, level=AreaLevel.objects.get(slug="grid"), parent=community,
                                     name="南一网格", code="990101003001001")
    return street, grid


@pytest.mark.django_db
def test_streets_are_ranked_with_the_change_from_the_previous_month(world, street_c):
    street_c, grid_c = street_c
    # September: A 4/4 satisfied, B 2/4, C 3/4 → A 1st, C 2nd, B 3rd
    _month(world, world.grid_a1, "2026-09", 4, 0)
    _month(world, world.grid_b1, "2026-09", 2, 2)
    _month(world, grid_c, "2026-09", 3, 1)
    # October: B 4/4, A 3/4, C 3/4 → B 1st, A and C share 2nd
    _month(world, world.grid_b1, "2026-10", 4, 0)
    _month(world, world.grid_a1, "2026-10", 3, 1)
    _month(world, grid_c, "2026-10", 3, 1)
    # The default scheme, 30 响应率 (all 100 % here) + 35 解决率 + 35 满意率 (both = the satisfied share):
    # September A 100, C 82.5, B 65; October B 100, A 82.5, C 82.5.
    worker_counts()
    rows = queries.monthly_ranking(OCT, "street")
    got = [(r.area.name, r.rank, r.previous_rank, r.change, r.score, r.score_change) for r in rows]
    assert got == [
        ("西街道", 1, 3, 2, Decimal("100.00"), Decimal("35.00")),
        ("东街道", 2, 1, -1, Decimal("82.50"), Decimal("-17.50")),
        ("南街道", 2, 2, 0, Decimal("82.50"), Decimal("0.00")),
    ]
    assert rows[0].as_dict()["figures"]["rates"]["satisfy"]["percent"] == "100.00"


@pytest.mark.django_db
def test_an_area_without_cases_is_listed_last_and_unranked_and_new_areas_have_no_change(world, street_c):
    _month(world, world.grid_a1, "2026-10", 2, 0)
    _month(world, world.grid_b1, "2026-09", 1, 0)
    _month(world, world.grid_b1, "2026-10", 1, 1)
    worker_counts()
    rows = queries.monthly_ranking(OCT, "street")
    assert [(r.area.name, r.rank, r.previous_rank, r.change) for r in rows] == [
        ("东街道", 1, None, None), ("西街道", 2, 1, -1), ("南街道", None, None, None)]


@pytest.mark.django_db
def test_a_street_dispatcher_ranks_only_inside_the_street(world):
    _month(world, world.grid_a1, "2026-10", 2, 0)
    _month(world, world.grid_a2, "2026-10", 1, 1)
    _month(world, world.grid_b1, "2026-10", 2, 0)
    worker_counts()
    assert [r.area.name for r in queries.monthly_ranking(OCT, "street", viewer=world.dispatcher)] == ["东街道"]
    grids = queries.monthly_ranking(OCT, "grid", viewer=world.dispatcher)
    assert [(r.area.name, r.rank) for r in grids] == [("东一网格", 1), ("东二网格", 2)]
    assert [r.area.name for r in queries.monthly_ranking(OCT, "grid", viewer=world.outsider)] == ["西一网格"]
    assert [r.area.name for r in queries.monthly_ranking(OCT, "grid", within=world.street_b)] == ["西一网格"]
    # departments: the street sees its department's work inside the street only
    depts = queries.department_ranking(OCT, viewer=world.dispatcher)
    assert [(r.department.name, r.figures.cases) for r in depts] == [("东派出所", 4)]
    assert queries.department_ranking(OCT)[0].figures.cases == 6


@pytest.mark.django_db
def test_a_person_is_measured_on_the_steps_they_did(world):
    from gongzhi.cases.models import CaseEvent

    a = make_case(world.grid_a1, created=at("2026-10-05"), reporter=world.worker, returns=1)
    make_case(world.grid_a1, created=at("2026-10-06"), reporter=world.worker)
    make_case(world.grid_a1, created=at("2026-10-07"), reporter=world.worker, status="not_filed", filed=False,
              dispatched=False, handled=False)
    CaseEvent.objects.create(case=a, action="dispatch", actor=world.dispatcher, at=at("2026-10-05", 11))
    mine = queries.indicators(world.worker, OCT, datetime.date(2026, 10, 31))
    assert (mine.counts["reports"], mine.counts["valid"], mine.counts["dispatched"]) == (3, 2, 0)
    theirs = queries.indicators(world.dispatcher, OCT, datetime.date(2026, 10, 31))
    assert (theirs.counts["dispatched"], theirs.counts["dispatched_right"], theirs.counts["reports"]) == (1, 0, 0)
