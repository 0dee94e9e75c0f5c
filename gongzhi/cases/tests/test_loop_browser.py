"""The whole closed loop in a real browser on a phone (375×740), one browser context per person:
a resident's report with a photo → the dispatcher files and dispatches → the police station accepts
and handles with a photo → the supervisor verifies → the resident rates; the timeline shows every
step with who and when, and no page breaks the Content-Security-Policy.

The resident reports on the phone report page /report/ (GPS granted to the browser context).

Set ``GONGZHI_SCREENSHOTS=/tmp`` to also save the queue, the detail and the inbox at 375 and 1280 px.
"""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from gongzhi import browser_testing
from gongzhi.browser_testing import DESKTOP, PHONE, browser_marks

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "")
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def small_jpeg(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def reported(world, directory, supervisor, settings, tmp_path):
    """Everything the loop needs in the database, set up before Playwright starts: ORM work after its
    event loop starts would open a connection that is never closed (see core/tests/test_browser.py)."""
    from gongzhi.areas import geo

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "m")}}}
    geo.forget_index()
    return world


@pytest.fixture
def browser(live_server, reported, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `reported` first
        yield chromium


def open_as(browser, username: str, *, viewport: dict = PHONE, geolocation: dict | None = None):
    """A fresh browser context (its own cookies) for one person, logged in."""
    return browser_testing.logged_in_page(browser, username, viewport=viewport, geolocation=geolocation)


def shot(browser, page, name: str, username: str) -> None:
    """With GONGZHI_SCREENSHOTS set: this page at 375 px, and the same URL at 1280 px."""
    if not SHOTS:
        return
    page.screenshot(path=os.path.join(SHOTS, f"cases-{name}-375.png"), full_page=True)
    wide = open_as(browser, username, viewport=DESKTOP)
    wide.goto(page.url)
    wide.wait_for_load_state("networkidle")
    wide.screenshot(path=os.path.join(SHOTS, f"cases-{name}-1280.png"), full_page=True)
    wide.context.close()


def success(page) -> str:
    return page.locator(".messages li.success").inner_text()


def report_from_the_phone(browser, photo) -> str:
    """The resident reports with GPS and a photo on /report/; returns the case number."""
    from playwright.sync_api import expect

    resident = open_as(browser, "resident", geolocation={"latitude": 30.05, "longitude": 100.05})
    resident.goto(browser.base + "/report/")
    resident.wait_for_selector("#report-map[data-ready]")
    resident.fill("#id_title", "小区门口垃圾堆积")
    resident.fill("#id_description", "垃圾桶满了，堆在路边")
    resident.click("#locate-me")
    expect(resident.locator("#id_lon")).not_to_have_value("", timeout=5000)
    resident.set_input_files("#id_photos", str(photo))
    resident.wait_for_selector("#photo-previews img")
    resident.click("#report-submit")
    resident.wait_for_url("**/report/done/**")
    number = resident.inner_text("#case-number")
    resident.context.close()
    return number


def test_the_whole_loop_on_a_phone(browser, reported, world, tmp_path):
    report_photo = tmp_path / "report.jpg"
    report_photo.write_bytes(small_jpeg("orange"))
    number = report_from_the_phone(browser, report_photo)
    detail = f"{browser.base}/cases/{number}/"
    handled_photo = tmp_path / "handled.jpg"
    handled_photo.write_bytes(small_jpeg("green"))

    # The dispatcher finds the report in the queue, files it under a category and dispatches it.
    dispatcher = open_as(browser, world.dispatcher.username)
    dispatcher.click(".menu-toggle")
    dispatcher.click("#mainnav >> text=案件")
    dispatcher.wait_for_url(browser.base + "/cases/")
    row = dispatcher.locator("tr.case", has_text=number)
    assert "待受理" in row.inner_text()
    shot(browser, dispatcher, "queue", world.dispatcher.username)
    row.locator("td.title a").click()
    dispatcher.wait_for_url(detail)
    assert dispatcher.locator("h1").inner_text() == "小区门口垃圾堆积"
    dispatcher.wait_for_selector("#casemap[data-loaded]")
    dispatcher.locator(".photocard img").scroll_into_view_if_needed()  # loading="lazy"
    dispatcher.wait_for_function(
        "() => { const i = document.querySelector('.photocard img'); return i && i.complete && i.naturalWidth > 0 }",
        timeout=5000)
    shot(browser, dispatcher, "detail", world.dispatcher.username)
    dispatcher.select_option("#file-category", label="06010 暴露垃圾")
    dispatcher.click("#act-file button[type=submit]")
    dispatcher.wait_for_url(detail)
    assert success(dispatcher) == "已立案，请派遣"
    assert dispatcher.locator("#dispatch-department").input_value() == str(world.police_a.pk)  # suggested
    dispatcher.select_option("#dispatch-department", label="东派出所")
    dispatcher.fill("#dispatch-note", "请尽快清理")
    dispatcher.click("#act-dispatch button[type=submit]")
    dispatcher.wait_for_url(detail)
    assert success(dispatcher) == "已派遣至 东派出所"

    # The police station accepts it from its inbox and reports back with a photo.
    handler = open_as(browser, world.handler.username)
    handler.goto(browser.base + "/cases/inbox/")
    shot(browser, handler, "inbox", world.handler.username)
    handler.locator("tr.case", has_text=number).locator("td.title a").click()
    handler.wait_for_url(detail)
    handler.click("#act-accept button[type=submit]")
    handler.wait_for_url(detail)
    assert success(handler) == "已签收，请尽快处置"
    handler.fill("#handle-note", "已清理完毕，垃圾桶已加派")
    handler.set_input_files("#handle-photos", str(handled_photo))
    handler.click("#act-handle button[type=submit]")
    handler.wait_for_url(detail)
    assert success(handler) == "已提交处置结果，等待核查"

    # The supervisor of the street checks the result on site.
    field = open_as(browser, "supervisor")
    field.goto(browser.base + "/cases/start/")
    field.wait_for_url(browser.base + "/cases/")
    field.locator("tr.case", has_text=number).locator("td.title a").click()
    field.wait_for_url(detail)
    field.check("#act-verify input[value=passed]")
    field.fill("#verify-note", "现场已清理干净")
    field.click("#act-verify button[type=submit]")
    field.wait_for_url(detail)
    assert success(field) == "核查通过，案件已结案"

    # The resident finds the case under "my cases" and rates it.
    resident = open_as(browser, world.resident.username)
    resident.goto(browser.base + "/cases/mine/")
    row = resident.locator("tr.case", has_text=number)
    assert "待评价" in row.inner_text()
    row.locator("td.title a").click()
    resident.wait_for_url(detail)
    assert resident.locator("[data-reopen]").is_hidden()
    resident.check("#act-rate input[value=satisfied]")
    resident.fill("#rate-comment", "处理很及时")
    resident.click("#act-rate button[type=submit]")
    resident.wait_for_url(detail)
    assert success(resident) == "感谢你的评价"

    # The timeline shows every step, with who did it and when.
    events = resident.locator("#timeline .ev")
    steps = [(events.nth(i).locator(".ev-label").inner_text(), events.nth(i).locator(".ev-actor").inner_text(),
              events.nth(i).locator("time").inner_text()) for i in range(events.count())]
    assert [(label, actor) for label, actor, _at in steps] == [
        ("上报", "居民甲"), ("立案", "调度甲"), ("派遣", "调度甲"), ("签收", "民警甲"), ("处置完成", "民警甲"),
        ("核查", "监督员甲"), ("评价", "居民甲")]
    assert all(TIME.fullmatch(at) for _label, _actor, at in steps)
    handled = resident.locator("#timeline .ev-handle img")
    assert handled.count() == 1 and handled.evaluate("img => img.complete && img.naturalWidth > 0")
    assert resident.locator(".ev-verify .ev-detail").inner_text() == "通过，结案"
    assert resident.locator(".ev-rate .ev-detail").inner_text() == "满意"
    assert resident.locator("#actions").count() == 0  # nothing left to do
    assert resident.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert browser.csp_errors == []
    assert browser.js_errors == []
