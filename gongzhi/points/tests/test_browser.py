"""喜邻积分 on phones (375×740), the acceptance test of issue 9: a resident joins an activity from the
calendar, the organiser checks them in and confirms (确认并发放积分, twice: credited once), the resident
sees the points and buys a voucher (a double tap buys once), and the merchant's cashier redeems it by
typing its code — a second try is told when it was used. Balances and voucher status are checked in
the database and on the pages; no CSP violation, no page error, nothing wider than the screen. A
screenshot of the resident's /points/ page goes to $GONGZHI_SCREENSHOTS (default /tmp/shots)."""

from __future__ import annotations

import datetime
import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")


@pytest.fixture
def scene(world):
    """An activity of 东一社区 starting in an hour, a partner barber with a cashier and an offer; set up
    before Playwright starts."""
    from django.utils import timezone

    from gongzhi.orgs import services as org_services
    from gongzhi.points import services

    start = timezone.now() + datetime.timedelta(hours=1)
    world.activity = services.create_activity(
        actor=world.dispatcher, area=world.community_a, title="社区义诊志愿服务", place="东一社区广场",
        starts_at=start, ends_at=start + datetime.timedelta(hours=3), slots=5, points_per_hour=10,
        difficulty="1.5", cap_minutes=120, cap_points=100)
    world.cashier = org_services.create_user(actor=None, username="cashier", password=PASSWORD, display_name="收银甲")
    merchant = services.create_merchant(actor=world.dispatcher, area=world.community_a, name="喜邻理发店",
                                        address="东一路 12 号")
    services.add_merchant_staff(merchant, actor=world.dispatcher, user=world.cashier)
    world.offer = services.create_offer(merchant, actor=world.dispatcher, title="理发八折", gives="理发一次八折",
                                        price=20, stock=10, per_person_limit=2)
    return world


@pytest.fixture
def browser(live_server, scene, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `scene` first
        yield chromium
        from django.db import connections

        connections.close_all()


def open_as(browser, username: str):
    return browser_testing.logged_in_page(browser, username)


def success(page) -> str:
    return page.locator(".messages li.success").inner_text()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_join_earn_buy_and_redeem_on_phones(browser, scene):
    from gongzhi.points import queries
    from gongzhi.points.models import Signup, Transaction, Voucher

    world, activity = scene, scene.activity

    # The resident opens 喜邻积分 from the menu and signs up in the calendar.
    resident = open_as(browser, world.resident.username)
    resident.click("[data-toggle=mainnav]")
    resident.click("#mainnav >> text=喜邻积分")
    resident.wait_for_url(browser.base + "/points/")
    assert resident.locator("#my-points").inner_text() == "0"
    resident.click(".points-tabs >> text=志愿活动")
    resident.wait_for_url(browser.base + "/points/activities/")
    card = resident.locator(f"#activity-{activity.pk}")
    assert "社区义诊志愿服务" in card.inner_text() and "剩余名额 5 / 5" in card.inner_text()
    assert fits(resident)
    card.locator("button", has_text="我要报名").click()
    resident.wait_for_url(f"**/points/activities/#activity-{activity.pk}")
    assert success(resident) == "已报名“社区义诊志愿服务”"
    assert "剩余名额 4 / 5" in card.inner_text() and "已报名" in card.locator(".tag").inner_text()
    signup = Signup.objects.get(activity=activity, resident=world.resident)
    assert signup.status == Signup.Status.SIGNED_UP

    # The organiser checks them in on the sign-up list and confirms two hours: 2 × 10 × 1.5 = 30 points.
    organiser = open_as(browser, world.dispatcher.username)
    organiser.goto(f"{browser.base}/points/activities/{activity.pk}/")
    row = organiser.locator(f"#signup-{signup.pk}")
    assert "居民甲" in row.inner_text()
    row.locator("button.check-in").click()
    organiser.wait_for_url(f"**/points/activities/{activity.pk}/#signup-{signup.pk}")
    assert success(organiser) == "居民甲 已签到"
    assert "已签到" in row.locator(".tag").inner_text()
    assert fits(organiser)
    row.locator("input[name=minutes]").fill("120")
    row.locator("button", has_text="确认并发放积分").click()
    organiser.wait_for_url(f"**/points/activities/{activity.pk}/#signup-{signup.pk}")
    assert success(organiser) == "已确认 居民甲：30 积分，服务时长 2 小时"
    assert "30 积分 · 2 小时" in row.inner_text() and row.locator("button").count() == 0
    # the same form sent again (a second tap, a retried request): nothing more is credited
    again = organiser.request.post(f"{browser.base}/points/signups/{signup.pk}/confirm/",
                                   form={"minutes": "120", "csrfmiddlewaretoken": csrf(organiser)})
    assert again.ok and "未重复发放" in again.text()
    assert Transaction.objects.filter(kind="award", signup=signup).count() == 1
    assert queries.points_of(world.resident) == 30 and queries.minutes_of(world.resident) == 120

    # The resident sees the points and buys a voucher; the form sent twice buys once.
    resident.goto(browser.base + "/points/offers/")
    assert resident.locator("#offers-points").inner_text() == "30"
    offer = resident.locator(f"#offer-{world.offer.pk}")
    key = offer.locator("input[name=key]").input_value()
    offer.locator("button", has_text="20 积分兑换").click()
    resident.wait_for_url("**/points/#voucher-*")
    voucher = Voucher.objects.get(resident=world.resident)
    assert success(resident) == f"兑换成功：理发八折，券码 {voucher.code}"
    again = resident.request.post(f"{browser.base}/points/offers/{world.offer.pk}/buy/",
                                  form={"key": key, "csrfmiddlewaretoken": csrf(resident)})
    assert again.ok  # the retried request lands on the same voucher
    assert Voucher.objects.filter(resident=world.resident).count() == 1
    assert queries.points_of(world.resident) == 10
    resident.goto(browser.base + "/points/")
    assert resident.locator("#my-points").inner_text() == "10"
    assert resident.locator("#my-hours").inner_text() == "2 小时"
    card = resident.locator(f"#voucher-{voucher.pk}")
    assert card.locator(".voucher-code").inner_text() == voucher.code
    assert card.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")
    history = resident.locator(".history").inner_text()
    assert "参加活动：社区义诊志愿服务" in history and "+30 积分" in history and "−20 积分" in history
    assert fits(resident)
    os.makedirs(SHOTS, exist_ok=True)
    resident.screenshot(path=os.path.join(SHOTS, "points-resident-375.png"), full_page=True)

    # The cashier types the code on the phone: redeemed once; a second try says when it was used.
    cashier = open_as(browser, world.cashier.username)
    cashier.goto(browser.base + "/points/redeem/")
    assert "喜邻理发店" in cashier.locator("main").inner_text()
    cashier.fill("input[name=code]", voucher.code.lower())
    cashier.click(".redeem-form button[type=submit]")
    cashier.wait_for_selector(".redeemed")
    assert "核销成功" in cashier.locator(".redeemed").inner_text()
    assert "理发一次八折" in cashier.locator(".redeemed").inner_text()
    assert fits(cashier)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.REDEEMED and voucher.redeemed_by_id == world.cashier.pk
    cashier.screenshot(path=os.path.join(SHOTS, "points-redeem-375.png"), full_page=True)
    cashier.fill("input[name=code]", voucher.code)
    cashier.click(".redeem-form button[type=submit]")
    cashier.wait_for_selector(".redeem-error")
    assert cashier.locator(".redeem-error").inner_text().startswith("该券已于 ")
    assert cashier.locator(".redeemed").count() == 0
    assert Transaction.objects.filter(kind="use", voucher=voucher).count() == 1

    # The resident's page shows the voucher as used; the ledger is sound.
    resident.goto(browser.base + "/points/")
    assert "已使用" in resident.locator(f"#voucher-{voucher.pk}").inner_text()
    assert resident.locator("#my-points").inner_text() == "10"
    assert queries.points_of(world.resident) == 10
    assert queries.invariant_violations() == []
    assert not browser.csp_errors and not browser.js_errors


def csrf(page) -> str:
    return page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
