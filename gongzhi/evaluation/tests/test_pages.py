"""The pages and the API: who sees what, the definitions as tooltips, bad input."""

from __future__ import annotations

import re

import pytest

from .conftest import at, make_case, worker_counts


@pytest.fixture
def cases(world):
    for grid in (world.grid_a1, world.grid_a2, world.grid_b1):
        make_case(grid, created=at("2026-10-05"), rating="satisfied", department=world.police_a)
        make_case(grid, created=at("2026-11-05"), rating="unsatisfied", department=world.police_a)
    worker_counts()  # the worker's recount pass: the pages only read


@pytest.mark.django_db
def test_the_indicators_page_shows_my_area_its_children_and_the_definitions(world, cases, login):
    page = login(world.dispatcher).get("/evaluation/?month=2026-10").content.decode()
    assert "东街道" in page and "东一社区" in page and "西街道" not in page
    # each indicator's definition is the header's tooltip, and on the page for aria-describedby
    assert re.search(r'<abbr title="响应率 = [^"]+" aria-describedby="def-response">响应率</abbr>', page)
    assert 'id="def-response"' in page
    assert "<script" not in page.split("<main", 1)[1] and "style=" not in page


@pytest.mark.django_db
def test_the_ranking_page_shows_arrows_and_only_my_areas(world, cases, login):
    page = login(world.admin).get("/evaluation/ranking/?month=2026-11&level=street").content.decode()
    assert "东街道" in page and "西街道" in page
    assert "evaldown" in page or "evalup" in page or "持平" in page
    mine = login(world.dispatcher).get("/evaluation/ranking/?month=2026-11").content.decode()
    assert "东一社区" in mine and "西" not in re.sub(r"<option.*?</option>", "", mine)  # default: communities
    assert login(world.outsider).get("/evaluation/ranking/?level=street").status_code == 200
    assert login(world.resident).get("/evaluation/ranking/").status_code == 403


@pytest.mark.django_db
def test_bad_input_gets_defaults_or_a_404_never_a_500(world, cases, login):
    client = login(world.dispatcher)
    for query in ("month=2026-13", "month=abc", "level=planet", "scheme=nope", "start=2026-10-05&end=2026-01-01",
                  "start=bad&end=bad"):
        assert client.get(f"/evaluation/ranking/?{query}").status_code == 200, query
        assert client.get(f"/evaluation/?{query}").status_code == 200, query
    assert client.get(f"/evaluation/?area={world.street_b.pk}").status_code == 404
    assert client.get("/evaluation/?area=99999999999999999999").status_code == 404
    assert client.get(f"/evaluation/?area={world.grid_a1.pk}&start=2026-10-03&end=2026-10-20").status_code == 200


@pytest.mark.django_db
def test_the_api_answers_within_the_jurisdiction(world, cases, login):
    client = login(world.dispatcher)
    body = client.get("/api/v1/evaluation/ranking?month=2026-11&level=grid").json()
    assert [r["name"] for r in body["rows"]] == ["东一网格", "东二网格"] or \
        sorted(r["name"] for r in body["rows"]) == ["东一网格", "东二网格"]
    assert body["rows"][0]["previous_rank"] is not None
    figures = client.get(f"/api/v1/evaluation/indicators?area={world.street_a.pk}&start=2026-10-01&end=2026-10-31").json()
    assert figures["figures"]["cases"] == 2 and figures["scheme"] == "hotline-three-rates"
    assert client.get(f"/api/v1/evaluation/indicators?area={world.street_b.pk}").status_code == 404
    assert client.get("/api/v1/evaluation/ranking?level=planet").status_code == 400
    assert client.get("/api/v1/evaluation/ranking?scheme=nope").status_code == 400
    assert client.get("/api/v1/evaluation/indicators?start=2026-10-05&end=2026-10-01").status_code == 400
    assert login(world.resident).get("/api/v1/evaluation/ranking").status_code == 403


@pytest.mark.django_db
def test_departments_are_shown_with_their_work_inside_my_area(world, cases, login):
    client = login(world.dispatcher)
    page = client.get("/evaluation/?month=2026-10").content.decode()
    assert "处置部门" in page and "东派出所" in page
    body = client.get(f"/api/v1/evaluation/indicators?department={world.police_a.pk}&start=2026-10-01"
                      "&end=2026-10-31").json()
    assert body["department"] == world.police_a.pk and body["figures"]["cases"] == 2  # street A's two grids only
    assert login(world.admin).get(f"/api/v1/evaluation/indicators?department={world.police_a.pk}&start=2026-10-01"
                                  "&end=2026-10-31").json()["figures"]["cases"] == 3
    assert login(world.outsider).get(f"/api/v1/evaluation/indicators?department={world.police_a.pk}").status_code == 404


@pytest.mark.django_db
def test_the_indicators_page_shows_the_posts_of_an_area(world, login):
    """A community's page lists its grid workers (posts) with the figures of what each did: here the
    reports the grid worker made (one of them not filed: 有效上报率 50 %)."""
    make_case(world.grid_a1, created=at("2026-10-05"), reporter=world.worker)
    make_case(world.grid_a1, created=at("2026-10-06"), reporter=world.worker, status="not_filed", filed=False,
              dispatched=False, handled=False)
    page = login(world.dispatcher).get(f"/evaluation/?area={world.community_a.pk}&month=2026-10&scheme=city-management")
    page = page.content.decode()
    posts = page.split('id="posts"', 1)[1]
    assert "网格员甲" in posts and "网格员乙" not in posts  # the other street's grid worker is not here
    assert "50.00%" in posts


def _fact_rows() -> tuple[int, int, int]:
    from gongzhi.evaluation.models import AreaMonth, MonthlyFact, RecountLog

    return MonthlyFact.objects.count(), AreaMonth.objects.count(), RecountLog.objects.count()


@pytest.mark.django_db
def test_a_month_never_counted_shows_pending_and_the_worker_counts_it(world, login):
    """A GET never counts: a month never counted shows 尚未统计 (page and API) and writes nothing; the
    worker's recount pass counts it (claimed early, since a month is missing); then the figures."""
    import datetime

    from django.utils import timezone

    from gongzhi.evaluation import services

    for grid in (world.grid_a1, world.grid_b1):
        make_case(grid, created=at("2026-10-05"), rating="satisfied", department=world.police_a)
        make_case(grid, created=at("2026-11-05"), rating="unsatisfied", department=world.police_a)
    client = login(world.admin)
    assert _fact_rows() == (0, 0, 0)
    page = client.get("/evaluation/ranking/?month=2026-11&level=street")
    assert page.status_code == 200
    html = page.content.decode()
    assert "尚未统计" in html and "2026-10、2026-11" in html and "evaltable" not in html.split("<main", 1)[1]
    html = client.get(f"/evaluation/?area={world.city.pk}&month=2026-10").content.decode()
    assert "尚未统计" in html and "综合得分" not in html
    body = client.get("/api/v1/evaluation/ranking?month=2026-11&level=street").json()
    assert body["rows"] == [] and body["pending"] == ["2026-10", "2026-11"] and "尚未统计" in body["message"]
    body = client.get(f"/api/v1/evaluation/indicators?area={world.street_a.pk}&start=2026-10-01&end=2026-10-31").json()
    assert body["figures"] is None and body["pending"] == ["2026-10"]
    # a range that is not whole months is counted live from the cases, as before
    body = client.get(f"/api/v1/evaluation/indicators?area={world.street_a.pk}&start=2026-10-02&end=2026-10-31").json()
    assert body["figures"]["cases"] == 1 and body["pending"] == []
    assert _fact_rows() == (0, 0, 0)  # the reads wrote nothing

    # The worker: its schedule was claimed a minute ago (not due for 15), but a month was never
    # counted and the last pass has finished, so it claims early and counts the missing months.
    from gongzhi.evaluation.models import EvaluationSettings, RecountLog

    now = timezone.now()
    EvaluationSettings.load()
    EvaluationSettings.objects.filter(pk=1).update(next_recount_at=now + datetime.timedelta(minutes=14),
                                                   last_recount_at=now - datetime.timedelta(minutes=1))
    assert services.recount_job(now) == "evaluation: recount queued"  # the test backend runs it at once
    assert services.recount_job(now) is None  # nothing missing any more: the schedule again
    months = set(RecountLog.objects.values_list("month", flat=True))
    assert {datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)} <= months
    html = client.get("/evaluation/ranking/?month=2026-11&level=street").content.decode()
    assert "尚未统计" not in html and "东街道" in html and "evaltable" in html
    body = client.get("/api/v1/evaluation/ranking?month=2026-11&level=street").json()
    assert body["pending"] == [] and body["message"] is None and {r["name"] for r in body["rows"]} >= {"东街道"}
    body = client.get(f"/api/v1/evaluation/indicators?area={world.street_a.pk}&start=2026-10-01&end=2026-10-31").json()
    assert body["figures"]["cases"] == 1 and body["pending"] == []


@pytest.mark.django_db
def test_a_month_without_cases_needs_no_count(world, login):
    """Before the first case (or with no cases at all) a month has nothing to count: empty figures,
    not 尚未统计, and still nothing written."""
    make_case(world.grid_a1, created=at("2026-10-05"))
    client = login(world.admin)
    html = client.get("/evaluation/ranking/?month=2026-08&level=street").content.decode()
    assert "尚未统计" not in html and "东街道" in html
    assert _fact_rows() == (0, 0, 0)
