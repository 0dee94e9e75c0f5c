"""Two-factor login in a real browser on a phone-sized screen: a dispatcher sets up an authenticator
(reading the secret off the page, as a phone app would scan it), keeps the recovery codes, logs out,
and logs in again with a code."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from gongzhi.browser_testing import PHONE, browser_marks, phone_page
from gongzhi.conftest import PASSWORD, build_world

pytestmark = browser_marks


def code_for(secret: str, offset: int = 0) -> str:
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


@pytest.fixture
def browser_world(transactional_db, settings):
    from gongzhi.areas import geo

    settings.GONGZHI_REQUIRE_2FA = True
    geo.forget_index()
    return build_world()


@pytest.fixture
def page(live_server, browser_world, monkeypatch):
    with phone_page(live_server, monkeypatch) as page:  # browser_world first (see browser_testing)
        yield page


def log_in(page, username: str) -> None:
    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")


def test_phone_two_factor_enrol_and_login(page, browser_world):
    log_in(page, "13800000001")  # the dispatcher: a command-center role must use 2FA
    page.wait_for_url("**/accounts/2fa/setup/**")
    assert page.locator("h1").inner_text() == "设置两步验证"
    qr = page.locator("img.qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the QR renders under the CSP
    secret = page.locator("#totp-secret").inner_text()
    # Nothing else opens before the authenticator is set up.
    page.goto(page.base + "/cases/")
    page.wait_for_url("**/accounts/2fa/setup/**")
    secret = page.locator("#totp-secret").inner_text()  # the same pending authenticator
    enrolled_at = time.time()
    page.fill("#id_code", code_for(secret))
    page.click("button[type=submit].primary")
    page.wait_for_url("**/accounts/2fa/recovery-codes/**")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.click("text=我已保存，继续")
    page.wait_for_url("**/cases/**")

    # Log out, log in again: the code is asked for, on a screen that fits the phone.
    page.click("button.menu-toggle")
    page.click("#mainnav button.link")
    page.wait_for_url("**/accounts/login/**")
    log_in(page, "dispatcher")
    page.wait_for_url("**/accounts/2fa/verify/**")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The current window's code, once it is past the enrolment's (a code is used once). Not the next
    # window's: if the enrolment's code was accepted a window late, django-otp keeps a drift of -1
    # (OTP_TOTP_SYNC) and would refuse a code from the future.
    while int(time.time() // 30) <= int(enrolled_at // 30):
        time.sleep(0.5)
    page.fill("#id_code", code_for(secret))
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/")
    assert "你好" in page.locator("h1").inner_text()
    assert page.csp_errors == []
