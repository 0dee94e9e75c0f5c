"""The report page in a real browser (Playwright driving Debian's Chromium) on a phone: GPS, a
photo from the "camera", a category from the suggestions, the case number at the end; and offline:
the report waits in IndexedDB and is sent exactly once when the network returns."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from gongzhi.browser_testing import CHROMIUM, DESKTOP, PHONE, browser, browser_marks, new_page  # noqa: F401 (CHROMIUM: other tests import it from here)
from gongzhi.cases.models import Case
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks
IN_A1 = {"latitude": 30.05, "longitude": 100.05}
# Resolves once the service worker controls the page (it claims the page when it activates).
SW_CONTROLS = """async () => {
  const reg = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve,
                                                                             { once: true }));
  }
  return reg.scope;
}"""
SCREENSHOTS = Path(os.environ.get("GONGZHI_SCREENSHOT_DIR", "/tmp"))


@pytest.fixture
def page(live_server, world, directory, monkeypatch):
    # The world and the directory first (see gongzhi/browser_testing.py).
    with browser(live_server, monkeypatch) as chromium:
        yield new_page(chromium, geolocation=IN_A1)
        from django.db import connections

        connections.close_all()  # the test's own ORM polls ran in Playwright's context: close them there


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "scene.jpg"
    Image.new("RGB", (320, 240), (90, 140, 60)).save(path, "JPEG")
    return path


def log_in(page, username: str) -> None:
    page.goto(page.base + "/accounts/login/?next=/report/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/report/")
    page.wait_for_selector("#report-map[data-ready]")


def fill_report(page, title: str, photo: Path) -> None:
    from playwright.sync_api import expect

    page.fill("#id_title", title)
    page.fill("#id_description", "垃圾桶旁边堆满了袋子")
    page.click("#locate-me")
    expect(page.locator("#id_lon")).not_to_have_value("", timeout=5000)
    assert abs(float(page.input_value("#id_lon")) - 100.05) < 1e-6
    assert abs(float(page.input_value("#id_lat")) - 30.05) < 1e-6
    page.set_input_files("#id_photos", str(photo))
    page.wait_for_selector("#photo-previews img")


def wait_for_cases(title: str, count: int, seconds: float = 10) -> list[Case]:
    deadline = time.monotonic() + seconds
    while True:
        cases = list(Case.objects.filter(title=title))
        if len(cases) >= count or time.monotonic() > deadline:
            return cases
        time.sleep(0.2)


def test_a_resident_reports_from_a_phone(page, world, directory, photo):
    log_in(page, "resident")
    fill_report(page, "小区门口垃圾堆积", photo)
    page.fill("#id_category_q", "垃圾")
    page.click('.suggest-item[data-code="06010"]')
    assert page.inner_text("#category-chosen-label") == "06010 暴露垃圾"
    assert page.input_value("#id_category") == "06010"
    # The draft survives a reload (photos excepted), pin included.
    page.wait_for_timeout(400)
    page.reload()
    page.wait_for_selector("#report-map[data-ready]")
    assert page.input_value("#id_title") == "小区门口垃圾堆积"
    assert page.input_value("#id_category") == "06010" and page.input_value("#id_lon") != ""
    assert page.locator(".report-pin").count() == 1
    page.set_input_files("#id_photos", str(photo))
    page.wait_for_selector("#photo-previews img")
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "gongzhi-report-375.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "gongzhi-report-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)

    page.click("#report-submit")
    page.wait_for_url("**/report/done/**")
    number = page.inner_text("#case-number")
    page.screenshot(path=str(SCREENSHOTS / "gongzhi-report-done-375.png"), full_page=True)
    case = Case.objects.get(number=number)
    assert case.reporter == world.resident and case.area == world.grid_a1
    assert case.category == directory["garbage"] and case.photos.count() == 1
    assert page.inner_text("#case-status") == case.get_status_display()
    # The draft is gone: a new report starts empty.
    page.click("text=再报一件")
    page.wait_for_selector("#report-map[data-ready]")
    assert page.input_value("#id_title") == ""
    assert page.csp_errors == []


def test_offline_reports_wait_and_are_sent_once(page, world, directory, photo):
    log_in(page, "resident")
    assert page.evaluate(SW_CONTROLS) == page.base + "/report/"
    fill_report(page, "离线时上报的井盖", photo)
    page.context.set_offline(True)
    page.click("#report-submit")
    page.wait_for_selector("#report-queue-list li")
    assert "已保存，联网后自动发送" in page.inner_text("#report-status")
    assert page.input_value("#id_title") == ""  # the form is free for the next report
    assert page.locator("#category-chosen").is_hidden()
    page.screenshot(path=str(SCREENSHOTS / "gongzhi-report-offline-375.png"), full_page=True)
    assert not Case.objects.filter(title="离线时上报的井盖").exists()

    # Still offline, the page opens again from the service worker's cache, queue and all.
    response = page.reload()
    assert response is not None and response.from_service_worker and response.ok
    page.wait_for_selector('#report-queue-list li[data-status="queued"]')

    page.context.set_offline(False)
    page.wait_for_selector('#report-queue-list li[data-status="sent"]', timeout=10_000)
    cases = wait_for_cases("离线时上报的井盖", 1)
    assert len(cases) == 1
    case = cases[0]
    assert case.number in page.inner_text("#report-queue-list")
    assert case.photos.count() == 1 and case.idempotency_key
    # Reloading retries nothing that was sent; the list still shows the number.
    page.reload()
    page.wait_for_selector('#report-queue-list li[data-status="sent"]')
    page.wait_for_timeout(500)
    assert Case.objects.filter(title="离线时上报的井盖").count() == 1
    assert page.csp_errors == []


@pytest.fixture
def parking(directory):
    """09005 店外经营 asks for a plate (required) and a period (a choice). Before Playwright starts."""
    category = directory["street"]
    category.extra_fields = [
        {"name": "plate", "label": "车牌号", "label_en": "Plate number", "required": True, "max_length": 10},
        {"name": "period", "label": "时段", "type": "choice", "choices": ["白天", "夜间"]},
    ]
    category.save()
    return category


def test_a_category_asks_for_its_extra_fields(parking, page, world):
    from playwright.sync_api import expect

    log_in(page, "resident")
    assert page.locator('[name="extra.plate"]').count() == 0
    page.fill("#id_title", "店门口车辆违停")
    page.click("#locate-me")
    expect(page.locator("#id_lon")).not_to_have_value("", timeout=5000)
    page.fill("#id_category_q", "店外")
    page.click('.suggest-item[data-code="09005"]')
    # The category's fields appear, drawn by the server.
    page.wait_for_selector('#extra-fields input[name="extra.plate"]')
    assert page.inner_text('label[for="id_extra_plate"]').startswith("车牌号")
    assert page.locator('select[name="extra.period"] option').count() == 3
    # Without the required plate: the error shows next to the field, nothing is sent.
    page.select_option('select[name="extra.period"]', "夜间")
    page.click("#report-submit")
    expect(page.locator("#err-extra-plate")).to_have_text("请填写车牌号")
    assert page.get_attribute('[name="extra.plate"]', "aria-invalid") == "true"
    assert not Case.objects.filter(title="店门口车辆违停").exists()
    # The draft keeps the fields: after a reload they come back filled in.
    page.fill('[name="extra.plate"]', "蒙C12345")
    page.wait_for_timeout(400)
    page.reload()
    page.wait_for_selector('#extra-fields input[name="extra.plate"]')
    expect(page.locator('[name="extra.plate"]')).to_have_value("蒙C12345", timeout=5000)
    assert page.input_value('select[name="extra.period"]') == "夜间"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "gongzhi-report-extra-375.png"), full_page=True)
    page.click("#report-submit")
    page.wait_for_url("**/report/done/**")
    case = Case.objects.get(number=page.inner_text("#case-number"))
    assert case.category == parking and case.extra == {"plate": "蒙C12345", "period": "夜间"}
    assert page.csp_errors == []


def test_extra_fields_travel_in_the_offline_queue(parking, page, world):
    from playwright.sync_api import expect

    log_in(page, "resident")
    assert page.evaluate(SW_CONTROLS) == page.base + "/report/"
    page.fill("#id_title", "离线时上报的违停")
    page.click("#locate-me")
    expect(page.locator("#id_lon")).not_to_have_value("", timeout=5000)
    page.fill("#id_category_q", "店外")
    page.click('.suggest-item[data-code="09005"]')
    page.fill('[name="extra.plate"]', "蒙C54321")
    page.context.set_offline(True)
    page.click("#report-submit")
    page.wait_for_selector('#report-queue-list li[data-status="queued"]')
    assert page.locator('[name="extra.plate"]').count() == 0  # the form is free for the next report
    assert not Case.objects.filter(title="离线时上报的违停").exists()
    page.context.set_offline(False)
    page.wait_for_selector('#report-queue-list li[data-status="sent"]', timeout=10_000)
    cases = wait_for_cases("离线时上报的违停", 1)
    assert len(cases) == 1 and cases[0].extra == {"plate": "蒙C54321"}
    assert page.csp_errors == []
