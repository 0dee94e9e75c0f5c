"""Voter rolls on phones (375×740): the dispatcher uploads a roll from the list page — a dry run shows
the counts, choosing the same file again confirms it — and lands on the new roll; the handler (who
sees 东街道 but manages nothing) reads 东一花园's roll with masked phone numbers. No CSP violation, no
page error, nothing wider than the screen. Screenshots go to $GONGZHI_SCREENSHOTS (default /tmp/shots)."""

from __future__ import annotations

import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks

from .test_rolls import GOOD, xlsx

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def browser(live_server, roll, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `roll` first
        yield chromium
        from django.db import connections

        connections.close_all()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_upload_a_roll_and_read_one_on_phones(browser, roll, world):
    from gongzhi.deliberation.models import VoterRoll

    upload = {"name": "南山苑.xlsx", "mimeType": XLSX, "buffer": xlsx(GOOD)}
    page = browser_testing.logged_in_page(browser, world.dispatcher.username)
    page.goto(browser.base + "/deliberation/rolls/")
    assert "东一花园业主名册" in page.locator("#rolls").inner_text()
    assert fits(page)
    form = page.locator("form#roll-upload")
    form.locator("#id_area").select_option(str(world.community_a.pk))
    form.locator("#id_name").fill("南山苑业主名册")
    form.locator("#id_file").set_input_files(upload)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/deliberation/rolls/new/")
    report = page.locator("#import-report").inner_text()
    assert "试运行" in report and "3 户（套）、4 人" in report and "280.75" in report
    assert not VoterRoll.objects.filter(name="南山苑业主名册").exists()
    assert fits(page)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "deliberation-roll-preview-375.png"), full_page=True)
    page.locator("#id_file").set_input_files(upload)
    page.locator("form#roll-upload button[type=submit]", has_text="确认导入").click()
    page.wait_for_url("**/deliberation/rolls/*/")
    assert "已导入" in page.locator(".messages li.success").inner_text()
    new = VoterRoll.objects.get(name="南山苑业主名册")
    assert new.members.count() == 4 and page.url.endswith(f"/deliberation/rolls/{new.pk}/")
    assert "13800000001" in page.locator("#units").inner_text()  # the manager sees the number

    handler = browser_testing.logged_in_page(browser, world.handler.username)
    handler.goto(f"{browser.base}/deliberation/rolls/{roll.roll.pk}/")
    units = handler.locator("#units").inner_text()
    assert "139****0002" in units and "13900000002" not in units and "韩三石" in units
    assert handler.locator("#roll-delete").count() == 0
    assert fits(handler)
    handler.screenshot(path=os.path.join(SHOTS, "deliberation-roll-375.png"), full_page=True)
    assert not browser.csp_errors and not browser.js_errors
