"""The public map (平安等级公示): no sign-in, published levels only, nothing but names and levels;
``queries.public_level_for`` for the portal; GET /api/v1/safety/public (the router alone: gongzhi/urls.py
registers it at /safety)."""

from __future__ import annotations

import datetime

import pytest
from ninja.testing import TestClient

from gongzhi.conftest import square
from gongzhi.safety import queries, services
from gongzhi.safety.api import router

from .conftest import GREEN, MONTH

EARLIER = datetime.date(2026, 9, 1)
# counts and a satisfaction figure that appear nowhere else on a page (then: not on the public one)
ODD = {"criminal": 4817, "public_order": 3929, "robbery_theft": 2711, "fraud": 1693, "satisfaction": "87.63"}


@pytest.fixture
def published(world, police):
    """pa-a: published black (ODD) in October; pa-b: only a draft in October; both published in September."""
    pa_a, pa_b = police
    for pa in police:
        services.publish_grade(services.record_figures(pa, EARLIER, actor=world.admin, values=GREEN), actor=world.admin)
    october = services.publish_grade(services.record_figures(pa_a, MONTH, actor=world.admin, values=ODD),
                                     actor=world.admin)
    draft = services.record_figures(pa_b, MONTH, actor=world.admin, values=GREEN)
    return october, draft


def test_anonymous_sees_the_latest_published_month_and_never_a_draft(client, published):
    response = client.get("/safety/public/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<small class="tag">2026-10</small>' in page
    assert "东派出所辖区" in page and "黑色·严重" in page
    assert "西派出所辖区" not in page  # its October grade is a draft
    assert 'data-geojson="/safety/public/map.json?month=2026-10"' in page
    assert '<option value="2026-09">' in page  # the picker lists published months
    assert "<script>" not in page and "style=" not in page
    assert response["Cache-Control"].replace(" ", "") in ("max-age=300,private", "private,max-age=300")

    response = client.get("/safety/public/map.json")
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert not response.cookies  # nothing personal: any cache may keep it
    data = response.json()
    assert data["month"] == "2026-10"
    assert [f["properties"] for f in data["features"]] == [
        {"name": "东派出所辖区", "level": "black", "level_label": "黑色·严重", "colour": "#212121"}]
    september = client.get("/safety/public/?month=2026-09").content.decode()
    assert "东派出所辖区" in september and "西派出所辖区" in september


def test_no_counts_satisfaction_or_people_on_the_public_page(client, published, world):
    page = client.get("/safety/public/?month=2026-10").content.decode()
    raw = client.get("/safety/public/map.json?month=2026-10").content.decode()
    for text in (page, raw):
        for value in ("4817", "3929", "2711", "1693", "87.63", "10000", "10,000", "pa-a", world.admin.username):
            assert value not in text


def test_a_month_with_nothing_published_says_so(client, published, db):
    response = client.get("/safety/public/?month=2026-08")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="public-empty"' in page and "2026-08 没有公布的平安等级" in page and "东派出所辖区" not in page
    assert client.get("/safety/public/map.json?month=2026-08").json()["features"] == []


def test_nothing_published_at_all(client, world, police):
    services.record_figures(police[0], MONTH, actor=world.admin, values=GREEN)  # a draft only
    page = client.get("/safety/public/").content.decode()
    assert "目前还没有公布的平安等级" in page and "东派出所辖区" not in page
    assert client.get("/safety/public/map.json").json() == {"type": "FeatureCollection", "month": None,
                                                             "features": []}


@pytest.mark.parametrize("month", ["abc", "2026-13", "1999-01", "2026-10-01x", "%00", "9" * 300])
def test_a_bad_month_is_a_clear_400(client, published, month):
    response = client.get("/safety/public/", {"month": month})
    assert response.status_code == 400
    assert "月份格式应为 2026-11" in response.content.decode()
    response = client.get("/safety/public/map.json", {"month": month})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_month"


def test_a_jurisdiction_below_community_level_is_not_published(client, world, scheme):
    small = services.create_police_area(actor=None, name="东一网格警务区", code="pa-small", population=300,
                                        geometry=square(100.0, 30.0, 0.1), covers=[world.grid_a1])
    services.publish_grade(services.record_figures(small, MONTH, actor=world.admin, values=GREEN), actor=world.admin)
    assert "东一网格警务区" not in client.get("/safety/public/").content.decode()
    assert queries.public_level_for(world.grid_a1) is None


def test_public_level_for_picks_the_nearest_graded_ancestor(world, police, scheme):
    pa_a, pa_b = police
    community = services.create_police_area(actor=None, name="东一社区警务室", code="pa-c", population=10000,
                                            geometry=square(100.0, 30.0, 0.2), covers=[world.community_a])
    assert queries.public_level_for(world.grid_a1) is None  # nothing published
    for pa, values in ((pa_a, ODD), (community, GREEN), (pa_b, GREEN)):
        services.publish_grade(services.record_figures(pa, MONTH, actor=world.admin, values=values),
                               actor=world.admin)
    found = queries.public_level_for(world.grid_a1)  # grid → 东一社区 (graded itself) before 东街道
    assert (found.month, found.area, found.level, found.jurisdictions) == (
        MONTH, world.community_a, "green", (("东一社区警务室", "green"),))
    assert found.level_label == "绿色·良好" and found.colour == "#2e7d32"
    found = queries.public_level_for(world.street_a)  # the street itself: its own jurisdiction
    assert (found.area, found.level) == (world.street_a, "black")
    found = queries.public_level_for(world.grid_b1)  # 西一网格 → 西一社区 (not covered) → 西街道
    assert (found.area, found.jurisdictions) == (world.street_b, (("西派出所辖区", "green"),))
    assert queries.public_level_for(world.district) is None  # nothing covers the district or above
    assert queries.public_level_for(None) is None
    # a later draft does not move the month: the level stays October's
    services.record_figures(community, datetime.date(2026, 11, 1), actor=world.admin, values=ODD)
    assert queries.public_level_for(world.grid_a1).month == MONTH


def test_public_level_for_a_station_that_has_not_published_the_latest_month(world, published):
    # October is the latest published month; 西派出所辖区's October is still a draft: no level (not September's)
    assert queries.public_level_for(world.community_b) is None
    assert queries.public_level_for(world.community_b, month="2026-09").level == "green"
    assert queries.public_level_for(world.community_a).level == "black"


def test_two_jurisdictions_over_one_area_give_the_worse_level(world, police):
    pa_a, _pa_b = police
    strip = services.create_police_area(actor=None, name="南片警务区", code="pa-strip", population=10000,
                                        covers=[world.street_a])
    services.publish_grade(services.record_figures(pa_a, MONTH, actor=world.admin, values=GREEN), actor=world.admin)
    services.publish_grade(services.record_figures(strip, MONTH, actor=world.admin, values=ODD), actor=world.admin)
    found = queries.public_level_for(world.community_a)
    assert found.level == "black"
    assert found.jurisdictions == (("东派出所辖区", "green"), ("南片警务区", "black"))


# ------------------------------------------------------------------- the API

@pytest.fixture
def api():
    return TestClient(router)


def test_the_public_api_gives_names_levels_and_boundaries_only(api, published):
    response = api.get("/public")
    assert response.status_code == 200
    data = response.json()
    assert data["month"] == "2026-10" and data["months"] == ["2026-10", "2026-09"]
    assert [(a["name"], a["level"], a["level_label"], a["colour"]) for a in data["areas"]] == [
        ("东派出所辖区", "black", "黑色·严重", "#212121")]
    assert data["areas"][0]["geometry"]["type"] == "Polygon"
    lon, lat = data["areas"][0]["label_point"]
    assert 100.0 < lon < 100.5 and 30.0 < lat < 30.5
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    text = response.content.decode()
    for value in ODD.values():
        assert str(value) not in text
    assert {a["name"] for a in api.get("/public?month=2026-09").json()["areas"]} == {"东派出所辖区", "西派出所辖区"}
    assert api.get("/public?month=2026-08").json()["areas"] == []


@pytest.mark.parametrize("month", ["abc", "2026-13", "2026-1-1"])
def test_a_bad_month_is_400(api, published, month):
    response = api.get(f"/public?month={month}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_month"


def test_a_residents_portal_shows_the_published_level_over_their_home(login, world, published):
    """The portal's home page carries the public map's level of the home's street (pa-a covers 东街道),
    and nothing else of it; a resident without a verified home gets no card."""
    from gongzhi.portal.tests.test_residency import verified_home

    assert "safety-level" not in login(world.resident).get("/portal/").content.decode()
    verified_home(world.resident, world.grid_a1)
    page = login(world.resident).get("/portal/").content.decode()
    card = page.split('id="safety-level"', 1)[1].split("</section>", 1)[0]
    assert "东街道" in card and "2026-10" in card and 'href="/safety/public/"' in card
    assert "4817" not in page and "87.63" not in page
