"""A real browser (Playwright driving Debian's Chromium) on a phone-sized screen: log in, switch the
language, browse the area tree; and no page breaks the Content-Security-Policy."""

from __future__ import annotations

import os

import pytest

from gongzhi.browser_testing import PHONE, browser_marks, phone_page
from gongzhi.conftest import PASSWORD, build_world

pytestmark = browser_marks


@pytest.fixture
def browser_world(transactional_db):
    from gongzhi.areas import geo

    geo.forget_index()
    return build_world()


@pytest.fixture
def page(live_server, browser_world, monkeypatch):
    with phone_page(live_server, monkeypatch) as page:  # browser_world first (see browser_testing)
        yield page


def test_phone_login_switch_language_and_browse_the_tree(page, browser_world):
    w = browser_world
    page.goto(page.base + "/")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#id_username", "13800000001")  # the dispatcher, by phone number
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/")
    assert "你好" in page.locator("h1").inner_text()

    # Switch to English and back: the choice sticks across pages.
    page.click(".langswitch button")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Hello" in page.locator("h1").inner_text()

    # Phone menu: the navigation is behind the menu button.
    assert not page.locator("#mainnav").is_visible()
    page.click(".menu-toggle")
    page.click("#mainnav >> text=Areas")
    page.wait_for_url(f"**/areas/{w.street_a.pk}/")  # a single root: straight to the dispatcher's street
    assert w.street_a.name in page.locator("h1").inner_text()
    page.wait_for_selector("#map[data-loaded]")
    assert page.locator("#map").get_attribute("data-loaded") == "2"  # the street and its community

    page.click(f"#children >> text={w.community_a.name}")
    page.wait_for_url(f"**/areas/{w.community_a.pk}/")
    page.click(f"#children >> text={w.grid_a1.name}")
    page.wait_for_url(f"**/areas/{w.grid_a1.pk}/")
    assert page.locator(".crumbs").inner_text().startswith(w.street_a.name)
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.click(".langswitch button")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.screenshot(path=os.environ.get("GONGZHI_SCREENSHOT", "/tmp/gongzhi-phone.png"), full_page=True)
    assert page.csp_errors == []


def test_search_as_you_type_stays_inside_the_jurisdiction(page, browser_world):
    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", "outsider")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/")
    page.goto(page.base + "/areas/search/?q=网格")
    assert "西一网格" in page.content()
    assert "东一网格" not in page.content()
    assert page.csp_errors == []
