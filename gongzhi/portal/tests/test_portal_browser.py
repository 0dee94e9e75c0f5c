"""Issue 12's acceptance test on a 375-px phone: a resident sees today's garbage-collection times for
their building — today is a holiday with an exception (春节：仅 09:00 清运一次) —, the estate's latest
finance statement and its history (a second version correcting a line), and the services within a
15-minute walk (a point across the city is not among them). No CSP violation, no page error, nothing
wider than the screen."""

from __future__ import annotations

import datetime

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks
from gongzhi.conftest import build_world

pytestmark = browser_marks


@pytest.fixture
def scene(transactional_db):
    from django.utils import timezone

    from gongzhi.areas import geo
    from gongzhi.core.models import CalendarDay
    from gongzhi.portal import disclosures, residency, schedules, servicemap
    from gongzhi.portal.models import Disclosure, ServicePointType

    geo.forget_index()
    world = build_world()
    today = timezone.localdate()
    CalendarDay.objects.update_or_create(date=today, defaults={"is_workday": False, "name": "春节"})
    home = residency.request_residency(world.resident, area=world.grid_a1, unit="3-101")
    residency.verify(world.worker, home, approve=True)

    garbage = schedules.create_schedule(None, area=world.community_a, kind="garbage", title="东一社区垃圾清运",
                                        weekdays=[], times=["07:30", "12:30", "19:30"], calendar_rule="every_day",
                                        valid_from=today - datetime.timedelta(days=30))
    schedules.set_exception(None, garbage, date=today, times=["09:00"], note="春节：仅 09:00 清运一次")

    start = today - datetime.timedelta(days=40)
    finance = disclosures.create_disclosure(None, area=world.community_a, kind=Disclosure.Kind.FINANCE,
                                            title="东一社区自治金收支公示", period_start=start,
                                            period_end=start + datetime.timedelta(days=29))
    lines = [{"date": start.isoformat(), "item": "上月结余", "income": "1000.00", "expense": "0", "note": ""},
             {"date": start.isoformat(), "item": "路灯维修", "income": "0", "expense": "300.00", "note": ""}]
    disclosures.publish_version(None, finance, lines=lines)
    lines[1] = {**lines[1], "expense": "280.00"}
    disclosures.publish_version(None, finance, lines=lines, change_note="更正路灯维修金额")

    # (a transactional test starts from flushed tables: the seeded types may be gone)
    types = {code: ServicePointType.objects.get_or_create(code=code, defaults={"name": name})[0]
             for code, name in (("clinic", "卫生服务站"), ("market", "便民市场"))}
    near = servicemap.create_point(None, type=types["clinic"], name="东一卫生服务站", area=world.grid_a1,
                                   lon=world.grid_a1.label_lon, lat=world.grid_a1.label_lat, hours="8:00—17:00")
    far = servicemap.create_point(None, type=types["market"], name="西街菜市场", area=world.grid_b1,
                                  lon=world.grid_b1.label_lon, lat=world.grid_b1.label_lat)
    return world, finance, near, far


@pytest.fixture
def browser(live_server, scene, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `scene` first (see browser_testing)
        yield chromium
        from django.db import connections

        connections.close_all()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_resident_sees_today_at_home_the_finance_history_and_the_services_nearby(browser, scene):
    from django.urls import reverse

    world, finance, near, far = scene
    page = browser_testing.logged_in_page(browser, world.resident.username)
    page.goto(browser.base + reverse("portal:home"))

    garbage = page.locator("#today-garbage").inner_text()
    assert "09:00" in garbage and "春节：仅 09:00 清运一次" in garbage and "07:30" not in garbage

    money = page.locator("#latest-finance").inner_text()
    assert "东一社区自治金收支公示" in money and "第 2 版" in money and "280.00" in money
    nearby = page.locator("#nearby-services").inner_text()
    assert "东一卫生服务站" in nearby and "西街菜市场" not in nearby
    assert fits(page)

    page.click("#latest-finance a >> nth=0")
    page.wait_for_selector("#history")
    history = page.locator("#history").inner_text()
    assert "更正路灯维修金额" in history and "第 1 版" in history and "第 2 版" in history
    assert "280.00" in page.locator("#current").inner_text()
    page.click("#version-1 a")
    page.wait_for_load_state()
    assert "300.00" in page.locator("main").inner_text()  # the old version is still there, unchanged
    assert fits(page)

    page.goto(browser.base + reverse("portal:map"))
    page.wait_for_selector(f"#point-{near.pk}")
    assert page.locator(f"#point-{far.pk}").count() == 0
    # the three walking rings, drawn once the map's JSON has arrived
    page.locator("#services-map .leaflet-interactive").nth(2).wait_for(state="attached")
    assert fits(page)
    assert not browser.csp_errors and not browser.js_errors
