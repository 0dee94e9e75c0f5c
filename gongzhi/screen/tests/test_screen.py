"""The wall screen's JSON: the figures on hand-built cases, the jurisdiction, who may see it, cost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gongzhi.cases.choices import Source

URL = "/screen/data.json"


def figures(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_the_dispatcher_sees_the_figures_of_their_street(login, world, today_cases):
    t = today_cases
    data = figures(login(world.dispatcher))
    counts = data["counts"]
    assert counts["reports_today"] == 3     # a_new, a_late, a_not_filed
    assert counts["open"] == 3              # a_new, a_late, a_past_due
    assert counts["overdue"] == 2           # marked, or past its due time
    assert counts["closed_today"] == 2
    assert counts["closed_on_time_today"] == 1
    assert counts["on_time_rate"] == 50.0
    by_source = {row["code"]: row["count"] for row in counts["by_source"]}
    assert by_source == {Source.PATROL: 1, Source.HOTLINE: 1, Source.RESIDENT: 1, Source.DEVICE: 0, Source.API: 0,
                         Source.IMPORT: 0}
    assert {row["code"]: row["name"] for row in counts["by_source"]}[Source.HOTLINE] == "12345 热线"
    assert len(counts["by_hour"]) == 24 and sum(counts["by_hour"]) == 3
    assert [row["number"] for row in data["overdue"]] == [t.a_late.number, t.a_past_due.number]
    assert data["overdue"][0]["late_hours"] == pytest.approx(2, abs=0.05)
    assert data["overdue"][0]["category"] == "店外经营" and data["overdue"][0]["area"] == "东二网格"
    markers = data["map"]["markers"]
    assert len(markers) == 3 and sorted(m[2] for m in markers) == [0, 1, 1]
    assert len(data["map"]["heat"]) == 6    # the last 7 days: not the case of 40 days ago
    assert data["scope"] == "东街道"
    assert data["ranking"]["level"] == "community"  # a street ranks its communities


def test_a_street_sees_only_its_own_cases(login, world, today_cases, dispatcher_b):
    data = figures(login(dispatcher_b))
    counts = data["counts"]
    assert (counts["reports_today"], counts["open"], counts["overdue"], counts["closed_today"]) == (1, 1, 1, 0)
    assert counts["on_time_rate"] is None
    assert [row["number"] for row in data["overdue"]] == [today_cases.b_late.number]
    assert len(data["map"]["markers"]) == 1
    assert "东" not in data["scope"]


def test_the_city_sees_every_street_and_the_unlocated(login, world, today_cases):
    counts = figures(login(world.admin))["counts"]
    assert (counts["reports_today"], counts["open"], counts["overdue"]) == (5, 5, 3)


def test_one_area_of_the_jurisdiction(login, world, today_cases):
    client = login(world.dispatcher)
    response = client.get(URL, {"area": world.grid_a2.pk})
    counts = response.json()["counts"]
    assert (counts["reports_today"], counts["open"], counts["closed_today"]) == (1, 1, 1)
    # outside the jurisdiction, or nonsense: the same 404
    assert client.get(URL, {"area": world.street_b.pk}).status_code == 404
    assert client.get(URL, {"area": "x"}).status_code == 404
    assert client.get(URL, {"area": 10**30}).status_code == 404


@pytest.mark.parametrize("who", ["worker", "handler", "outsider", "resident"])
def test_only_the_command_center_and_leaders_see_it(login, world, today_cases, who):
    client = login(getattr(world, who))
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert today_cases.a_late.number not in response.content.decode()
    assert client.get("/screen/").status_code == 403


def test_a_leader_sees_the_screen(login, world, today_cases, leader):
    assert figures(login(leader))["counts"]["open"] == 3


def test_the_page_carries_no_figures_and_no_inline_script(login, world, today_cases):
    response = login(world.dispatcher).get(reverse("screen:wall"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-url="/screen/data.json"' in html
    assert "<script>" not in html and " style=" not in html
    assert today_cases.a_late.number not in html


def test_the_endpoint_is_cheap(login, world, today_cases, settings, django_assert_max_num_queries):
    from django.core.cache import cache

    from gongzhi.evaluation import services

    client = login(world.dispatcher)
    services.count_missing()  # the worker counts the ranking's months (the screen never does)
    cache.clear()
    with django_assert_max_num_queries(20):  # everything, the ranking and the grades included
        figures(client)
    # the ranking and the grades are kept a minute: session, user, jurisdiction, scope, 4 for the figures
    with django_assert_max_num_queries(8):
        figures(client)
    settings.SCREEN_CACHE_SECONDS = 5
    figures(client)
    with django_assert_max_num_queries(4):  # session, user, jurisdiction, scope: the figures from the cache
        figures(client)


def test_the_outlines_for_the_map(login, world):
    data = login(world.dispatcher).get("/screen/areas.geojson").json()
    names = {f["properties"]["name"]: f["properties"]["role"] for f in data["features"]}
    assert names == {"东街道": "top", "东一社区": "child"}


def test_the_safety_grades_of_the_street(login, world, today_cases, grades):
    safety = figures(login(world.dispatcher))["safety"]
    assert {row["code"]: row["count"] for row in safety["levels"]} == {
        "green": 1, "blue": 0, "yellow": 0, "red": 1, "black": 0}
    assert [row["name"] for row in safety["alerts"]] == ["东港警务区"]
    city = figures(login(world.admin))["safety"]
    assert sum(row["count"] for row in city["levels"]) == 3


def test_the_ranking_of_a_month_never_counted_is_pending_until_the_worker_counts_it(login, world, today_cases):
    from django.core.cache import cache

    from gongzhi.evaluation import services
    from gongzhi.evaluation.models import AreaMonth, MonthlyFact, RecountLog

    client = login(world.dispatcher)
    ranking = figures(client)["ranking"]
    assert ranking["pending"] is True and "尚未统计" in ranking["note"] and ranking["rows"] == []
    assert (MonthlyFact.objects.count(), AreaMonth.objects.count(), RecountLog.objects.count()) == (0, 0, 0)
    services.count_missing()
    cache.clear()
    ranking = figures(client)["ranking"]
    assert ranking["pending"] is False and ranking["note"] == "" and ranking["rows"]
