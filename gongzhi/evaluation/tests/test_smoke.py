import datetime

from gongzhi.evaluation import queries, services

from .conftest import at, make_case


def test_a_ranking_of_streets_has_a_row_per_street(world, category):
    make_case(world.grid_a1, created=at("2026-10-05"), department=world.police_a, category=category)
    services.recount_month(datetime.date(2026, 10, 1))
    rows = queries.monthly_ranking(datetime.date(2026, 10, 1), "street")
    assert [r.area for r in rows][:1] == [world.street_a]
    fig = queries.indicators(world.street_a, datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    assert fig.counts["closed"] == 1
