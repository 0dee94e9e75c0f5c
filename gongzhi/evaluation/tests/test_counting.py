"""Indicators on hand-built cases with known answers (docs/indicators.md)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gongzhi.evaluation import counting, queries, services
from gongzhi.evaluation.models import MonthlyFact

from .conftest import at, make_case, worker_counts

OCT = datetime.date(2026, 10, 1)
NOV = datetime.date(2026, 11, 1)
OCT_END = datetime.date(2026, 10, 31)


def counts(area, start=OCT, end=OCT_END):
    worker_counts()  # a month never counted is counted by the worker, not by the read
    return queries.indicators(area, start, end).counts


def rates(area, start=OCT, end=OCT_END, scheme=None):
    worker_counts()
    return {code: r.percent for code, r in queries.indicators(area, start, end, scheme=scheme).rates.items()}


@pytest.mark.django_db
def test_a_case_counts_in_the_month_it_was_reported_in_local_time(world, category):
    # 23:50 on 31 October in Beijing, closed on 1 November: October's.
    make_case(world.grid_a1, created=at("2026-10-31", 23, 50), closed=at("2026-11-01", 9))
    # 00:10 on 1 November in Beijing is still 31 October in UTC: November's.
    make_case(world.grid_a1, created=at("2026-11-01", 0, 10))
    assert counts(world.street_a)["cases"] == 1
    assert counts(world.street_a, NOV, datetime.date(2026, 11, 30))["cases"] == 1
    # A range that is not a whole month is counted live, with the same rule.
    assert counts(world.street_a, datetime.date(2026, 10, 31), datetime.date(2026, 10, 31))["cases"] == 1
    assert counts(world.street_a, datetime.date(2026, 11, 1), datetime.date(2026, 11, 1))["cases"] == 1


@pytest.mark.django_db
def test_merged_and_withdrawn_count_nowhere_but_in_cases_and_not_filed_is_an_invalid_report(world):
    g = world.grid_a1
    make_case(g, created=at("2026-10-05"))                                        # closed normally
    make_case(g, created=at("2026-10-05"), status="merged", dispatched=False, handled=False)
    make_case(g, created=at("2026-10-05"), status="withdrawn", filed=False, dispatched=False, handled=False)
    make_case(g, created=at("2026-10-05"), status="not_filed", filed=False, dispatched=False, handled=False)
    make_case(g, created=at("2026-10-05"), status="reported", filed=False, dispatched=False, handled=False)
    c = counts(world.street_a)
    assert c["cases"] == 5
    assert (c["reports"], c["valid"]) == (2, 1)  # closed + not filed; the waiting report is not decided yet
    assert (c["filed"], c["dispatched"], c["handled"], c["closed"]) == (1, 1, 1, 1)
    assert rates(world.street_a)["valid_report"] == Decimal("50.00")


@pytest.mark.django_db
def test_returned_and_redispatched_is_not_an_accurate_dispatch(world):
    g = world.grid_a1
    make_case(g, created=at("2026-10-05"), returns=1)  # returned once, dispatched again, closed
    make_case(g, created=at("2026-10-06"))
    make_case(g, created=at("2026-10-07"))
    make_case(g, created=at("2026-10-08"), status="returned", handled=False, returns=1)  # waiting to be re-dispatched
    c = counts(world.street_a)
    assert (c["dispatched"], c["dispatched_right"]) == (4, 2)
    assert rates(world.street_a)["right_dispatch"] == Decimal("50.00")


@pytest.mark.django_db
def test_rework_counts_once_per_case_against_the_cases_handled(world):
    g = world.grid_a1
    make_case(g, created=at("2026-10-05"), rework=2)                                   # reworked twice, closed
    make_case(g, created=at("2026-10-05"), status="in_progress", handled=False, rework=1)  # back at the department
    make_case(g, created=at("2026-10-05"))
    make_case(g, created=at("2026-10-05"), status="in_progress", handled=False)        # not handled yet
    c = counts(world.street_a)
    assert (c["handled"], c["reworked"], c["verified"]) == (3, 2, 3)
    assert rates(world.street_a)["rework"] == Decimal("66.67")


@pytest.mark.django_db
def test_overdue_marks_and_extensions_decide_on_time(world):
    g = world.grid_a1
    d = at("2026-10-05")
    hour = datetime.timedelta(hours=1)
    # 1: on time everywhere
    make_case(g, created=d)
    # 2: overdue at the department, never extended: handled late, closed late
    make_case(g, created=d, events=[("overdue", "in_progress", d + 30 * hour, {})])
    # 3: overdue, then an extension approved: the new deadline counts, on time
    make_case(g, created=d, events=[("overdue", "dispatched", d + 30 * hour, {}),
                                     ("decide_extension", "in_progress", d + 31 * hour, {"approved": True})])
    # 4: extension approved, then overdue again past the new deadline: late
    make_case(g, created=d, events=[("overdue", "in_progress", d + 30 * hour, {}),
                                     ("decide_extension", "in_progress", d + 31 * hour, {"approved": True}),
                                     ("overdue", "in_progress", d + 90 * hour, {})])
    # 5: overdue, extension refused: late
    make_case(g, created=d, events=[("overdue", "in_progress", d + 30 * hour, {}),
                                     ("decide_extension", "in_progress", d + 31 * hour, {"approved": False})])
    # 6: late only while waiting for verification: handled on time, verified late, closed late
    make_case(g, created=d, events=[("overdue", "handled", d + 30 * hour, {})])
    # 7: late while waiting for dispatch: not responded in time, closed late
    make_case(g, created=d, events=[("overdue", "filed", d + 2 * hour, {})])
    c = counts(world.street_a)
    assert (c["handled"], c["handled_on_time"]) == (7, 4)       # 2, 4, 5 late
    assert (c["verified"], c["verified_on_time"]) == (7, 6)     # 6 late
    assert (c["closed"], c["closed_on_time"]) == (7, 2)         # 1 and 3
    assert (c["filed"], c["responded"]) == (7, 6)               # 7 late
    r = rates(world.street_a)
    assert r["timely_handle"] == Decimal("57.14")
    assert r["timely_close"] == Decimal("28.57")


@pytest.mark.django_db
def test_due_to_close_is_closed_plus_open_overdue_or_every_filed_case(world):
    from gongzhi.evaluation.models import Scheme

    g = world.grid_a1
    make_case(g, created=at("2026-10-05"))
    make_case(g, created=at("2026-10-05"))
    make_case(g, created=at("2026-10-05"), status="in_progress", handled=False, overdue=True)
    make_case(g, created=at("2026-10-05"), status="in_progress", handled=False)  # still within its time
    c = counts(world.street_a)
    assert (c["closed"], c["due_close"]) == (2, 3)
    assert rates(world.street_a)["close"] == Decimal("66.67")
    scheme = Scheme.objects.get(code="city-management")
    scheme.due_to_close = Scheme.DueToClose.FILED
    scheme.save()
    assert rates(world.street_a, scheme="city-management")["close"] == Decimal("50.00")


@pytest.mark.django_db
def test_the_three_rates_and_the_default_scheme_weights(world):
    g = world.grid_a1
    d = at("2026-10-05")
    make_case(g, created=d, rating="satisfied")
    make_case(g, created=d, rating="basic")
    make_case(g, created=d, rating="unsatisfied")
    make_case(g, created=d, events=[("overdue", "dispatched", d + datetime.timedelta(hours=30), {})])  # no rating
    worker_counts()
    fig = queries.indicators(world.street_a, OCT, OCT_END)  # the default scheme: 接诉即办三率 30/35/35
    assert [i.indicator for i in fig.spec.items] == ["response", "resolve", "satisfy"]
    r = {k: v.percent for k, v in fig.rates.items() if k in ("response", "resolve", "satisfy")}
    assert r == {"response": Decimal("75.00"), "resolve": Decimal("66.67"), "satisfy": Decimal("66.67")}
    # score = (30 × 3/4 + 35 × 2/3 + 35 × 2/3) / 100
    assert fig.score == Decimal("69.17")


@pytest.mark.django_db
def test_an_indicator_may_count_only_some_sources(world):
    from gongzhi.evaluation.models import Scheme, SchemeItem

    g = world.grid_a1
    make_case(g, created=at("2026-10-05"), source="hotline", rating="satisfied")
    make_case(g, created=at("2026-10-05"), source="patrol", rating="unsatisfied")
    scheme = Scheme.objects.create(name="热线满意率", code="hotline-satisfaction")
    SchemeItem.objects.create(scheme=scheme, indicator="satisfy", weight=1, sources=["hotline"])
    worker_counts()
    fig = queries.indicators(world.street_a, OCT, OCT_END, scheme="hotline-satisfaction")
    assert fig.rates["satisfy"].percent == Decimal("100.00")
    assert fig.score == Decimal("100.00")


@pytest.mark.django_db
def test_the_aggregate_equals_a_full_recount_from_the_cases(world):
    import random

    rng = random.Random(5)
    grids = [world.grid_a1, world.grid_a2, world.grid_b1, None]
    d = at("2026-10-01", 0, 5)
    for i in range(120):
        status = rng.choice(["closed", "closed", "closed", "in_progress", "not_filed", "merged", "withdrawn",
                             "returned", "handled", "reported"])
        events = [("overdue", rng.choice(["filed", "in_progress", "handled"]), d, {})] if i % 4 == 0 else []
        if i % 8 == 0:
            events.append(("decide_extension", "in_progress", d + datetime.timedelta(hours=1), {"approved": True}))
        make_case(rng.choice(grids), created=d + datetime.timedelta(hours=6 * i), status=status,
                  department=world.police_a if i % 3 else None, source=rng.choice(["patrol", "hotline", "resident"]),
                  rework=rng.choice([0, 0, 1]), returns=rng.choice([0, 0, 1]), overdue=i % 5 == 0,
                  rating=rng.choice(["", "satisfied", "basic", "unsatisfied"]) if status == "closed" else "",
                  events=events)
    services.recount_month(OCT)
    services.recount_month(OCT)  # idempotent
    from django.db.models import Sum

    from gongzhi.evaluation.definitions import COUNTS
    from gongzhi.evaluation.models import AreaMonth

    raw = counting.count_cases(counting.cohort(OCT, OCT_END))[0]
    facts = MonthlyFact.objects.filter(month=OCT).aggregate(**{n: Sum(n) for n in COUNTS})
    assert {n: facts[n] for n in COUNTS} == {n: raw[n] for n in COUNTS}
    for area in (world.city, world.street_a, world.street_b, world.community_a, world.grid_a2):
        live = counting.count_cases(counting.cohort(OCT, OCT_END).filter(area_path__startswith=area.path))[0]
        rolled = AreaMonth.objects.filter(month=OCT, area=area).aggregate(**{n: Sum(n) for n in COUNTS})
        assert {n: rolled[n] or 0 for n in COUNTS} == {n: live[n] for n in COUNTS}, area.name
    # whole months read the facts, other ranges count the cases: the same figures either way
    via_facts = queries.indicators(world.street_a, OCT, OCT_END)
    live = queries.indicators(world.street_a, datetime.date(2026, 9, 30), OCT_END)  # not whole months
    assert via_facts.counts == live.counts
    assert via_facts.score == live.score
    by_dept = queries.indicators(world.police_a, OCT, OCT_END)
    assert by_dept.counts["cases"] == sum(1 for _ in counting.cohort(OCT, OCT_END).filter(department=world.police_a))


def test_every_indicator_and_count_is_defined_in_the_docs():
    from pathlib import Path

    from gongzhi.evaluation.definitions import COUNTS, DEFINITIONS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "indicators.md").read_text(encoding="utf-8")
    for code in DEFINITIONS:
        assert f"`{code}`" in doc, code
    for name in COUNTS:
        assert f"`{name}`" in doc or f"`{name.split('_')[0]}_*`" in doc, name
