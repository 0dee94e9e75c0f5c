"""Following instead of reporting again, in a real browser on a phone: a resident starts a report
where a similar case is open, sees it (with its photo, no reporter data), follows it, and finds it
under 我的案件."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gongzhi.browser_testing import PHONE, browser, browser_marks, new_page
from gongzhi.cases import intake
from gongzhi.cases.models import CaseFollower
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks
IN_A1 = {"latitude": 30.05, "longitude": 100.05}


def log_in(page, username: str) -> None:
    page.goto(page.base + "/accounts/login/?next=/report/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/report/")
    page.wait_for_selector("#report-map[data-ready]")


@pytest.fixture
def open_case(world, directory):
    """A grid worker's report 30 m north of where the resident stands, with a photo (dispatched
    at once: still open)."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 90, 60)).save(buffer, "JPEG")
    upload = SimpleUploadedFile("scene.jpg", buffer.getvalue(), content_type="image/jpeg")
    case, _created = intake.report_case(intake.Report(
        title="小区门口垃圾堆积没人清理", description="垃圾桶满了", category=directory["garbage"],
        lon=100.05, lat=30.05 + 30 / 111_195, photos=[upload], reporter_phone="13800000002"), reporter=world.worker)
    assert case.is_open
    return case


@pytest.fixture
def nearby_page(live_server, world, directory, open_case, monkeypatch):
    # The database first (see gongzhi/browser_testing.py).
    with browser(live_server, monkeypatch) as chromium:
        yield new_page(chromium, geolocation=IN_A1)
        from django.db import connections

        connections.close_all()


def test_a_resident_follows_a_similar_open_case_instead(nearby_page, open_case, world):
    from playwright.sync_api import expect

    page = nearby_page
    log_in(page, "resident")
    page.fill("#id_title", "门口垃圾堆积")
    page.click("#locate-me")
    expect(page.locator("#id_lon")).not_to_have_value("", timeout=5000)
    panel = page.locator("#nearby")
    expect(panel).to_be_visible(timeout=8000)
    item = panel.locator(f'.nearby-case[data-number="{open_case.number}"]')
    expect(item).to_contain_text("小区门口垃圾堆积没人清理")
    expect(item).to_contain_text("约 30 米")
    expect(item.locator("mark").first).to_have_text("垃圾")
    expect(item.locator(".nearby-photos img")).to_have_count(1)
    photo = item.locator(".nearby-photos img")
    photo.scroll_into_view_if_needed()  # the photo loads on its own time: wait for it, don't race it
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=10000)
    text = panel.inner_text()
    assert "网格员甲" not in text and "13800000002" not in text  # nothing about who reported it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # "not the same problem": the panel goes, the report can go on
    page.click("#nearby-dismiss")
    expect(panel).to_be_hidden()
    # a change to the words asks again; the same cases stay dismissed
    page.fill("#id_description", "垃圾")
    page.wait_for_timeout(1200)
    expect(panel).to_be_hidden()
    # changed their mind: a different wording shows them again only if other cases match — here
    # the resident reloads and follows
    page.reload()
    page.wait_for_selector("#report-map[data-ready]")
    expect(panel).to_be_visible(timeout=8000)
    panel.locator(f'[data-follow="{open_case.number}"]').click()
    page.wait_for_url(page.base + "/cases/mine/")
    expect(page.locator("body")).to_contain_text("已关注案件")
    row = page.locator("table.cases tr", has_text=open_case.number)
    expect(row).to_contain_text("已关注")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row.locator("a").first.click()
    page.wait_for_url(f"**/cases/{open_case.number}/")
    expect(page.locator("#follow")).to_contain_text("取消关注")
    assert "网格员甲" not in page.inner_text("body")
    assert CaseFollower.objects.filter(case=open_case, user=world.resident).exists()
    assert page.csp_errors == []
    # the draft was dropped: nothing left to send
    page.goto(page.base + "/report/")
    page.wait_for_selector("#report-map[data-ready]")
    assert page.input_value("#id_title") == ""
