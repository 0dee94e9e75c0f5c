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


def test_a_long_list_gets_a_search_box_that_narrows_it(page, browser_world):
    """A street's dispatcher publishing a notice chooses among dozens of areas: typing narrows the list,
    the choice is kept, and the form submits it."""
    from gongzhi.areas import services as area_services
    from gongzhi.areas.models import AreaLevel

    w = browser_world
    grid = AreaLevel.objects.get(slug="grid")
    for i in range(1, 36):
        area_services.create_area(actor=None, level=grid, parent=w.community_a, name=f"测试{i:02d}网格",
                                  code=f"9901010010019{i:02d}")
    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/")
    page.goto(page.base + "/portal/notices/new/")
    select = page.locator("select[name=area]")
    before = select.locator("option").count()
    assert before > 35
    page.locator("input.select-search").fill("测试 17")
    shown = select.locator("option").all_inner_texts()
    assert [t for t in shown if "测试" in t] == [t for t in shown if "测试17网格" in t] and len(shown) <= 3, shown
    select.select_option(label=next(t for t in shown if "测试17网格" in t))
    page.locator("input.select-search").fill("")
    assert select.locator("option").count() == before
    assert "测试17网格" in select.locator("option:checked").inner_text()  # the choice survives widening
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The filing form's category list (hundreds, grouped by major class): groups without a match go away.
    from gongzhi.cases import intake
    from gongzhi.cases.models import Category, DirectoryVersion

    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)  # a transactional test flushed the seed
    version = DirectoryVersion.objects.create(name="测试目录", is_active=True)
    for i, name in enumerate(["供水井盖异常", "污水井盖异常", *[f"测试事项{n}" for n in range(40)]]):
        Category.objects.create(version=version, code=f"{1 + i // 20:02d}{i:03d}", name=name,
                                major_name="部件" if i < 20 else "事项", kind=Category.Kind.MATTER)

    case, _ = intake.report_case(intake.Report(title="路灯不亮", lon=100.05, lat=30.05), reporter=w.resident)
    page.goto(page.base + f"/cases/{case.number}/")
    page.locator("details:has(#file-category)").evaluate("d => { d.open = true; }")
    categories = page.locator("#file-category")
    assert categories.locator("option").count() >= 30
    categories.locator("xpath=preceding-sibling::input[1]").fill("井盖")
    shown = categories.locator("option:not([value=''])").all_inner_texts()
    assert shown and all("井盖" in t for t in shown), shown
    assert categories.locator("optgroup").count() == 1  # the 事项 group had no match
    assert page.csp_errors == []
