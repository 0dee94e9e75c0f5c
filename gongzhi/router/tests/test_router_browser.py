"""On a phone (375×740): the dispatcher opens a reported case, sees the router's suggestions with the
words behind them, accepts them with one click, and the case is filed and dispatched to the
suggested department. No page breaks the Content-Security-Policy."""

from __future__ import annotations

import os
import shutil

import pytest

from gongzhi.conftest import PASSWORD

from .conftest import report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason="chromium not installed"),
]
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def reported(world, routerdir):
    """Models and a report, made before Playwright starts (ORM work inside its loop would leave a
    connection open)."""
    from gongzhi.areas import geo
    from gongzhi.router import services

    geo.forget_index()
    services.train_all(activate=True)
    case = report(world, "巷口垃圾堆了好几天", description="垃圾袋堆在路边，味道很大")
    found = services.suggest(case, log=False)
    return {"case": case, "category": found.category[0], "department": found.department[0]}


@pytest.fixture
def browser(live_server, reported, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        chromium.base = live_server.url
        chromium.problems = []
        yield chromium
        chromium.close()


def test_the_dispatcher_accepts_a_suggestion_on_a_phone(browser, reported, world):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda m: "Content Security Policy" in m.text and browser.problems.append(m.text))
    page.on("pageerror", lambda error: browser.problems.append(str(error)))
    page.goto(browser.base + "/accounts/login/")
    page.fill("#id_username", world.dispatcher.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(browser.base + "/")

    number = reported["case"].number
    page.goto(f"{browser.base}/cases/{number}/")
    card = page.locator("#router-suggestions")
    expect(card).to_be_visible()
    category, department = reported["category"], reported["department"]
    first_category = card.locator("fieldset[data-target=category] label.suggestion").first
    assert f"{category['label']} {category['name']}" in first_category.inner_text()
    assert first_category.locator("mark").count() >= 1  # the words behind it
    assert first_category.locator("input[type=radio]").is_checked()
    first_department = card.locator("fieldset[data-target=department] label.suggestion").first
    assert department["name"] in first_department.inner_text()
    box = card.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]  # fits the phone: no sideways scrolling

    card.locator("#router-accept").click()
    page.wait_for_url(f"{browser.base}/cases/{number}/")
    assert department["name"] in page.locator(".messages li.success").inner_text()
    assert "已派遣" in page.locator(".casestate").inner_text()
    assert department["name"] in page.locator(".infocard").inner_text()
    expect(page.locator("#router-suggestions")).to_have_count(0)  # nothing left to file or dispatch
    assert browser.problems == []
    context.close()

    from gongzhi.cases.models import Case

    case = Case.objects.get(number=number)
    assert case.status == "dispatched" and case.department.code == department["label"]
    assert case.category.code == category["label"]
