"""What every browser test shares: Debian's Chromium driven by Playwright, a phone-sized screen,
Content-Security-Policy violations and page errors collected for the test to assert on.

Database fixtures must be set up *before* ``browser`` or ``phone_page`` start Playwright: ORM calls
made inside Playwright's event loop open a second connection that is never closed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

#: ``pytestmark = browser_marks`` in a browser test module: skipped where Chromium is missing (never in CI).
browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason="chromium not installed"),
]


@contextmanager
def browser(live_server, monkeypatch) -> Iterator:
    """A Chromium for one test; ``browser.base`` is the live server's URL, ``browser.csp_errors`` and
    ``browser.js_errors`` collect what every page opened with ``new_page`` reports."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs beside the ORM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        chromium.base = live_server.url
        chromium.csp_errors = []
        chromium.js_errors = []
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(chromium, *, viewport: dict = PHONE, geolocation: dict | None = None):
    """A page in a fresh context (its own cookies), on a phone unless ``viewport`` says otherwise."""
    phone = viewport == PHONE
    context = chromium.new_context(viewport=viewport, device_scale_factor=2 if phone else 1, is_mobile=phone,
                                   has_touch=phone, locale="zh-CN")
    if geolocation:
        context.grant_permissions(["geolocation"])
        context.set_geolocation(geolocation)
    page = context.new_page()
    page.base = chromium.base
    page.csp_errors = chromium.csp_errors
    page.js_errors = chromium.js_errors
    page.on("console", lambda m: "Content Security Policy" in m.text and chromium.csp_errors.append(m.text))
    page.on("pageerror", lambda error: chromium.js_errors.append(str(error)))
    return page


def logged_in_page(chromium, username: str, *, viewport: dict = PHONE, geolocation: dict | None = None):
    """``new_page`` for one person, logged in through the login page (the test password)."""
    from gongzhi.conftest import PASSWORD

    page = new_page(chromium, viewport=viewport, geolocation=geolocation)
    page.goto(chromium.base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(chromium.base + "/")
    return page


@contextmanager
def phone_page(live_server, monkeypatch) -> Iterator:
    """One page on a phone-sized screen, for tests that need a single person."""
    with browser(live_server, monkeypatch) as chromium:
        yield new_page(chromium)
