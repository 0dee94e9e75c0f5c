"""A project on a phone (375 px): the dispatcher creates it (the sum of the three shares shown while
typing), computes the statements over a roll, reports progress with a camera photo up to 100 %, and
publishes the statements and the implementation result. No CSP violation, no page error, nothing
wider than the screen."""

from __future__ import annotations

import io
import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")


@pytest.fixture
def scene(world, tmp_path, settings):
    from .test_projects import make_roll

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    world.roll = make_roll(world.community_a, [("1-101", "1栋", "80.00"), ("1-102", "1栋", "80.00"),
                                               ("2-101", "2栋", "0.00")])
    from PIL import Image

    photo = tmp_path / "site.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 140, 60)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    world.photo = photo
    return world


@pytest.fixture
def browser(live_server, scene, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:
        yield chromium
        from django.db import connections

        connections.close_all()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_project_from_creation_to_its_publications(browser, scene):
    from gongzhi.deliberation.models import Project, Publication

    page = browser_testing.logged_in_page(browser, scene.dispatcher.username)
    page.goto(browser.base + "/deliberation/projects/new/")
    page.select_option("#id_area", str(scene.community_a.pk))
    page.fill("#id_title", "东一花园屋面防水")
    page.fill("#id_total_cost", "1000.00")
    page.fill("#id_policy_funds", "300")
    page.fill("#id_committee_funds", "200")
    page.fill("#id_owners_share", "400")
    assert "不一致" in page.locator("#share-sum").inner_text()
    page.fill("#id_owners_share", "500")
    summed = page.locator("#share-sum").inner_text()
    assert "1000.00" in summed and "与总费用一致" in summed and "不一致" not in summed
    page.check("input[name=split][value=area]")
    assert fits(page)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/deliberation/projects/*/")
    project = Project.objects.get()
    assert project.owners_share == 500

    page.select_option("#id_roll", str(scene.roll.pk))
    page.click("#compute-form button[type=submit]")
    page.wait_for_url("**/deliberation/projects/*/#statements")
    assert page.locator("#statements-total").inner_text() == "500.00"
    assert page.locator("#zero-area").is_visible()
    assert fits(page)

    page.click("#statement-publish-form button[type=submit]")
    page.wait_for_url("**#publications")
    page.fill("#id_progress", "100")
    page.fill("#id_note", "竣工验收合格")
    assert page.get_attribute("#id_photos", "accept") == "image/*"
    page.set_input_files("#id_photos", str(scene.photo))
    page.click("#update-form button[type=submit]")
    page.wait_for_url("**#progress")
    assert page.locator("#project-status").inner_text() == "已完成"
    assert page.locator("#timeline img").count() == 1
    page.locator("#timeline img").scroll_into_view_if_needed()  # loading="lazy"
    page.wait_for_function("document.querySelector('#timeline img').naturalWidth > 0")
    assert page.evaluate("document.querySelector('#timeline img').naturalWidth") == 64
    page.click("#implementation-publish-form button[type=submit]")
    page.wait_for_url("**#publications")
    assert set(Publication.objects.values_list("kind", flat=True)) == {"statement", "implementation"}
    assert fits(page)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "deliberation-project.png"), full_page=True)
    assert browser.csp_errors == [] and browser.js_errors == []
