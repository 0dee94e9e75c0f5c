"""Privacy on a phone (375 px), the acceptance test of issue 11's privacy part: the grid worker opens a
person and sees the masked identity number only; an authorised officer (a group with
registries.reveal_sensitive, 网格长 of 东一社区) opens the reveal page, is stopped without a purpose,
states one and sees the full number; the access log then shows the row with the purpose. No CSP
violation, no page error, nothing wider than the screen."""

from __future__ import annotations

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks
from gongzhi.conftest import PASSWORD, build_world

pytestmark = browser_marks
ID = "150302198001017777"
MASK = "1503**********7777"


@pytest.fixture
def scene(transactional_db):
    from django.contrib.auth.models import Group, Permission

    from gongzhi.areas import geo
    from gongzhi.orgs import services as org_services
    from gongzhi.orgs.models import Role
    from gongzhi.registries.models import Person

    geo.forget_index()
    world = build_world()
    person = Person.objects.create(name="金丝雀甲", area=world.grid_a1, id_number=ID, phone="13877770000",
                                   address="东一路 9 号 3 单元 501")
    officer = org_services.create_user(actor=None, username="officer", password=PASSWORD, display_name="核查员")
    group = Group.objects.create(name="台账敏感信息查看")
    group.permissions.add(Permission.objects.get(content_type__app_label="registries", codename="reveal_sensitive"))
    officer.groups.add(group)
    org_services.assign_role(actor=None, user=officer, area=world.community_a, role=Role.objects.get(code="grid_head"))
    return world, person, officer


@pytest.fixture
def browser(live_server, scene, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `scene` first (see browser_testing)
        yield chromium
        from django.db import connections

        connections.close_all()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_worker_sees_the_mask_officer_reveals_with_a_purpose_and_the_log_shows_it(browser, scene):
    from django.urls import reverse

    world, person, officer = scene
    base = browser.base

    worker = browser_testing.logged_in_page(browser, world.worker.username)
    worker.goto(base + reverse("registries:person", args=[person.pk]))
    body = worker.locator("main").inner_text()
    assert "金丝雀甲" in body and MASK in body and ID not in worker.content()
    assert fits(worker)

    page = browser_testing.logged_in_page(browser, officer.username)
    page.goto(base + reverse("registries:reveal", args=["person", person.pk]))
    assert MASK in page.locator(".masked").inner_text() and ID not in page.content()
    page.click("#reveal-form button[type=submit]")  # no purpose, no reason
    page.wait_for_load_state()
    assert page.locator("#reveal-form .errorlist").count() >= 1 and ID not in page.content()
    page.select_option("#id_purpose", "visit")
    page.fill("#id_reason", "入户走访前核对身份")
    page.click("#reveal-form button[type=submit]")
    page.wait_for_selector("#revealed")
    assert ID in page.locator("#revealed").inner_text()
    assert "东一路 9 号 3 单元 501" in page.locator("#revealed").inner_text()
    assert fits(page)

    page.goto(base + reverse("registries:access_log"))
    row = page.locator("#access-log tbody tr").first
    assert "入户走访前核对身份" in row.inner_text() and "走访核实" in row.inner_text()
    assert "金丝雀甲" in row.inner_text() and "officer" in row.inner_text()
    assert fits(page)
    assert not browser.csp_errors and not browser.js_errors
