"""On a phone (375×740): the dispatcher opens a reported case, sees the router's suggestions with the
words behind them, accepts them with one click, and the case is filed and dispatched to the
suggested department. No page breaks the Content-Security-Policy."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import PHONE, browser_marks, phone_page
from gongzhi.conftest import PASSWORD

from .conftest import report

pytestmark = browser_marks


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


def test_the_dispatcher_accepts_a_suggestion_on_a_phone(live_server, reported, world, monkeypatch):
    with phone_page(live_server, monkeypatch) as page:  # `reported` first (see gongzhi/browser_testing.py)
        accept_the_suggestion(page, world, reported)
        assert page.csp_errors == [] and page.js_errors == []

    from gongzhi.cases.models import Case

    case = Case.objects.get(number=reported["case"].number)
    assert case.status == "dispatched" and case.department.code == reported["department"]["label"]
    assert case.category.code == reported["category"]["label"]


def accept_the_suggestion(page, world, reported) -> None:
    from playwright.sync_api import expect

    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", world.dispatcher.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/")

    number = reported["case"].number
    page.goto(f"{page.base}/cases/{number}/")
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
    page.wait_for_url(f"{page.base}/cases/{number}/")
    assert department["name"] in page.locator(".messages li.success").inner_text()
    assert "已派遣" in page.locator(".casestate").inner_text()
    assert department["name"] in page.locator(".infocard").inner_text()
    expect(page.locator("#router-suggestions")).to_have_count(0)  # nothing left to file or dispatch
