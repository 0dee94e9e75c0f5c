"""The checklist on a 375 px phone (Playwright driving Debian's Chromium): a question appears and
disappears with its `relevant`, a constraint error shows as the inspector types, the phone refuses
to submit while something is wrong, and the server's answer lists the failing items."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import PHONE, browser, browser_marks, new_page
from gongzhi.checklists.sample import load_sample
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks


@pytest.fixture
def version(world):
    return load_sample(actor=world.admin)


@pytest.fixture
def page(live_server, world, version, monkeypatch):
    # The world and the checklist first (see gongzhi/browser_testing.py).
    with browser(live_server, monkeypatch) as chromium:
        yield new_page(chromium, viewport=PHONE)
        from django.db import connections

        connections.close_all()


def test_an_inspector_fills_the_checklist_on_a_phone(page, version):
    from playwright.sync_api import expect

    url = f"/checklists/versions/{version.pk}/try/"
    page.goto(page.base + "/accounts/login/?next=" + url)
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + url)
    page.wait_for_selector("form[data-checklist][data-ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling

    licence = page.locator("#q-food_licence")
    expect(licence).to_be_hidden()  # relevant only when the shop sells food
    page.check("#q-sells_food-0")  # yes
    expect(licence).to_be_visible()
    expect(page.locator("#q-food_hygiene")).to_be_visible()
    page.check("#q-sells_food-1")  # no
    expect(licence).to_be_hidden()
    expect(page.locator("#q-food_hygiene")).to_be_hidden()

    staff = page.locator("#q-staff_count")
    expect(staff).to_be_hidden()
    page.check("#q-open_now-0")
    expect(staff).to_be_visible()
    page.fill("#q-staff_count-input", "600")
    expect(page.locator("#q-staff_count-error")).to_have_text("人数应在 0 到 500 之间")
    page.fill("#q-staff_count-input", "12")
    expect(page.locator("#q-staff_count-error")).to_have_text("")

    # submitting with required questions unanswered is stopped on the phone
    page.click("form[data-checklist] button[type=submit]")
    expect(page.locator("#q-business_licence-error")).to_have_text("此项必填")
    assert "/try/" in page.url and not page.locator("#check-result").count()

    for name in ("business_licence", "no_three_in_one", "residents_registered", "signboard_ok", "frontage_clean",
                 "no_flying_wire"):
        page.check(f"#q-{name}-0")
    page.check("#q-fire_exit-1")  # blocked: fails (police)
    page.check("#q-no_outside_business-1")  # goods on the pavement: fails (law enforcement)
    page.fill("#q-extinguishers-input", "0")
    expect(page.locator("#q-extinguishers_valid")).to_be_hidden()  # no extinguisher, nothing to date
    page.fill("#q-remarks-input", "门口堆放货物")
    page.click("form[data-checklist] button[type=submit]")
    page.wait_for_selector("#check-result")
    failed = page.locator(".failed-items li")
    expect(failed).to_have_count(2)
    assert [failed.nth(i).get_attribute("data-item") for i in range(2)] == ["fire_exit", "no_outside_business"]
    assert page.csp_errors == [] and page.js_errors == []
