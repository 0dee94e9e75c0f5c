"""The safety map in a real browser: the jurisdictions are drawn filled with their level's colour, with a
legend, on a 375 px phone and on a 1280 px screen, without CSP violations or script errors."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import DESKTOP, PHONE, browser, browser_marks, new_page
from gongzhi.conftest import PASSWORD
from gongzhi.safety import services

from .conftest import GREEN, MONTH, RED

pytestmark = browser_marks


@pytest.fixture
def map_browser(live_server, world, police, monkeypatch):
    # The database first (see gongzhi/browser_testing.py).
    services.publish_grade(services.record_figures(police[0], MONTH, actor=world.admin, values=RED),
                           actor=world.admin)
    services.publish_grade(services.record_figures(police[1], MONTH, actor=world.admin, values=GREEN),
                           actor=world.admin)
    with browser(live_server, monkeypatch) as chromium:
        yield chromium
        from django.db import connections

        connections.close_all()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone-375", "screen-1280"])
def test_the_safety_map_shows_coloured_areas(map_browser, viewport):
    page = new_page(map_browser, viewport=viewport)
    page.goto(page.base + "/accounts/login/?next=/safety/%3Fmonth%3D2026-10")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#safety-map[data-loaded='2']")
    fills = page.eval_on_selector_all("#safety-map path.safety-area", "ps => ps.map(p => p.getAttribute('fill'))")
    assert sorted(fills) == ["#2e7d32", "#c62828"]
    box = page.locator("#safety-map").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert box["width"] >= (300 if viewport == PHONE else 600) and box["height"] >= 250
    assert page.locator(".legend .lvl-red").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
    assert not map_browser.csp_errors and not map_browser.js_errors
