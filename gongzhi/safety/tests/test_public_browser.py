"""The public map in a real browser, signed out, on a 375 px phone: the published jurisdiction drawn in its
level's colour, the legend and the list, no sideways scrolling, no CSP violation or script error."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import PHONE, browser, browser_marks, new_page
from gongzhi.safety import services

from .conftest import GREEN, MONTH, RED

pytestmark = browser_marks


@pytest.fixture
def public_browser(live_server, world, police, monkeypatch):
    services.publish_grade(services.record_figures(police[0], MONTH, actor=world.admin, values=RED),
                           actor=world.admin)
    services.record_figures(police[1], MONTH, actor=world.admin, values=GREEN)  # a draft: not drawn
    with browser(live_server, monkeypatch) as chromium:
        yield chromium
        from django.db import connections

        connections.close_all()


def test_the_public_map_on_a_phone(public_browser):
    page = new_page(public_browser, viewport=PHONE)
    page.goto(page.base + "/safety/public/")
    page.wait_for_selector("#safety-map[data-loaded='1']")
    fills = page.eval_on_selector_all("#safety-map path.safety-area", "ps => ps.map(p => p.getAttribute('fill'))")
    assert fills == ["#c62828"]
    assert page.locator("#public-legend .lvl-black").is_visible()
    assert page.locator("#public-grades li").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not public_browser.csp_errors and not public_browser.js_errors
