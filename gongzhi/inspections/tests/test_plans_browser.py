"""本周检查 on a phone (375×740): a team member opens 联合检查 from the menu, sees today's targets
(built on first view), and 开始检查 opens the visit page for that target. No CSP violation, no page
error, nothing wider than the screen. A screenshot goes to $GONGZHI_SCREENSHOTS (default /tmp/shots)."""

from __future__ import annotations

import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")


@pytest.fixture
def planned(world, scene):
    """Today's plan of the scene's team (nothing built yet), set up before Playwright starts."""
    from django.utils import timezone

    from gongzhi.areas import geo
    from gongzhi.inspections import plans

    geo.forget_index()
    scene.premises.address = "东一路 8 号"
    scene.premises.save(update_fields=["address"])
    scene.plan = plans.create_plan(actor=None, team=scene.team, name="每日联合检查",
                                   checklist=scene.version.checklist, weekday=timezone.localdate().isoweekday())
    return scene


@pytest.fixture
def browser(live_server, planned, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `planned` first
        yield chromium
        from django.db import connections

        connections.close_all()


def test_a_member_finds_todays_targets_and_starts_a_visit(browser, planned, world):
    page = browser_testing.new_page(browser, viewport=PHONE)
    page.goto(browser.base + "/accounts/login/")
    page.fill("#id_username", world.handler.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(browser.base + "/")
    page.click("[data-toggle=mainnav]")
    page.click("#mainnav >> text=联合检查")
    page.wait_for_url(browser.base + "/inspections/")
    assert page.locator("h1").inner_text() == "本周检查"
    item = page.locator(".targets li").first
    assert "凤凰便民超市" in item.inner_text() and "从未检查" in item.inner_text()
    assert "东一路 8 号" in item.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "inspections-week-375.png"), full_page=True)
    href = item.locator("a.go").get_attribute("href")
    assert href.startswith("/inspections/visit/new/?target=")
    page.click(".targets li a.go")
    page.wait_for_url("**/inspections/visit/new/?target=*")
    assert not browser.csp_errors and not browser.js_errors
