"""On a phone (375×740): the monthly ranking with its arrows and the tooltips; the table scrolls
inside its box, not the page; no CSP or script errors. A screenshot is kept in var/screenshots."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import PHONE, browser_marks, phone_page
from gongzhi.conftest import PASSWORD

from .conftest import at, make_case, worker_counts

pytestmark = browser_marks


@pytest.fixture
def months(world):
    for grid, good in ((world.grid_a1, 3), (world.grid_a2, 1)):
        for i in range(4):
            make_case(grid, created=at("2026-10-05"), rating="satisfied" if i < good else "unsatisfied")
            make_case(grid, created=at("2026-11-05"), rating="satisfied" if i >= good else "unsatisfied")
    worker_counts()  # the worker counts both months before Playwright starts (a page never counts)


def test_the_ranking_reads_on_a_phone(live_server, months, world, monkeypatch):
    from pathlib import Path

    from playwright.sync_api import expect

    with phone_page(live_server, monkeypatch) as page:
        page.goto(page.base + "/accounts/login/")
        page.fill("#id_username", world.dispatcher.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(page.base + "/")
        page.goto(page.base + "/evaluation/ranking/?month=2026-11&level=grid")
        rows = page.locator("table.evaltable tbody tr")
        expect(rows).to_have_count(2)
        assert "东二网格" in rows.first.inner_text() and "↑1" in rows.first.inner_text()
        assert "↓1" in rows.nth(1).inner_text()
        header = page.locator("th abbr", has_text="满意率")
        assert header.get_attribute("title").startswith("满意率 =")
        assert page.locator("#" + header.get_attribute("aria-describedby")).is_visible() is not None
        # the wide table scrolls inside .tablewrap; the page itself does not scroll sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shots = Path(__file__).resolve().parents[3] / "var" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "evaluation-ranking-phone.png"), full_page=True)
        page.goto(page.base + "/evaluation/?month=2026-11")
        expect(page.locator("table.evaltable")).to_be_visible()
        assert page.csp_errors == [] and page.js_errors == []
