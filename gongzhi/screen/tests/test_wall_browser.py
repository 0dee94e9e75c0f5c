"""The wall screen in a real Chromium at 1920×1080 and 3840×2160: the charts and the map are drawn
(canvas pixels, not blank), the figures arrive, nothing breaks the Content-Security-Policy.
Screenshots go to pytest's tmp path (``--basetemp`` to keep them)."""

from __future__ import annotations

import pytest

from gongzhi.browser_testing import browser, browser_marks, new_page
from gongzhi.conftest import PASSWORD

pytestmark = browser_marks

#: How many pixels of a canvas are not transparent (ECharts and leaflet.heat draw on canvases).
PAINTED = """el => {
  const canvases = el.tagName === 'CANVAS' ? [el] : Array.from(el.querySelectorAll('canvas'));
  let painted = 0;
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
  }
  return painted;
}"""


@pytest.fixture
def wall(live_server, world, today_cases, grades, monkeypatch, settings):
    settings.SCREEN_REFRESH_SECONDS = 3
    # The database first (see gongzhi/browser_testing.py).
    with browser(live_server, monkeypatch) as chromium:
        yield chromium
        from django.db import connections

        connections.close_all()


def open_wall(chromium, viewport: dict):
    page = new_page(chromium, viewport=viewport)
    page.goto(page.base + "/accounts/login/?next=/screen/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base + "/screen/")
    page.wait_for_selector("#wall[data-loaded]", timeout=15000)
    page.wait_for_selector("#wall-map[data-areas]", timeout=10000)
    page.wait_for_timeout(800)  # ECharts' entry animation
    return page


def assert_drawn(page) -> None:
    for chart in ("#chart-source", "#chart-hour", "#chart-rank", "#chart-safety"):
        assert page.locator(f"{chart} canvas").count() == 1, chart
        assert page.locator(chart).evaluate(PAINTED) > 500, f"{chart} is blank"
    assert page.locator("[data-count=reports_today]").inner_text() == "3"
    assert page.locator("[data-count=overdue]").inner_text() == "2"
    assert page.locator("[data-count=on_time_rate]").inner_text() == "50%"
    assert page.locator("#overdue-list li").count() == 2
    assert "占道经营" in page.locator("#overdue-list").inner_text()
    wall_map = page.locator("#wall-map")
    assert wall_map.get_attribute("data-markers") == "3"
    assert wall_map.get_attribute("data-heat") == "6"
    assert wall_map.get_attribute("data-areas") == "2"  # the street and its community
    # Leaflet's canvas renderer (outlines and markers) and the heat layer's canvas, both painted
    assert page.locator("#wall-map .leaflet-overlay-pane canvas").count() >= 2
    assert page.locator("#wall-map canvas.leaflet-heatmap-layer").evaluate(PAINTED) > 200
    assert page.locator("#wall-map .leaflet-overlay-pane canvas:not(.leaflet-heatmap-layer)").first.evaluate(
        PAINTED) > 200
    # the whole screen, no scrolling
    size = page.viewport_size
    assert page.evaluate("document.documentElement.scrollHeight") <= size["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    box = wall_map.bounding_box()
    assert box["width"] > size["width"] * 0.4 and box["height"] > size["height"] * 0.5


def test_the_wall_screen_draws_at_1920_by_1080(wall, tmp_path):
    page = open_wall(wall, {"width": 1920, "height": 1080})
    assert_drawn(page)
    page.screenshot(path=str(tmp_path / "wall-1920x1080.png"))
    # it refreshes in place (every 3 s here): the figures come again, the page is not reloaded
    loaded = int(page.locator("#wall").get_attribute("data-loaded"))
    for _i in range(40):  # wait_for_function would need 'unsafe-eval'
        if int(page.locator("#wall").get_attribute("data-loaded")) > loaded:
            break
        page.wait_for_timeout(250)
    assert int(page.locator("#wall").get_attribute("data-loaded")) > loaded
    assert page.evaluate("window.performance.getEntriesByType('navigation').length") == 1
    assert page.locator("[data-count=reports_today]").inner_text() == "3"
    assert wall.csp_errors == [] and wall.js_errors == []


def test_the_wall_screen_scales_to_3840_by_2160(wall, tmp_path):
    page = open_wall(wall, {"width": 3840, "height": 2160})
    assert_drawn(page)
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == pytest.approx(32)
    canvas_width = page.locator("#chart-source canvas").evaluate("c => c.width")
    assert canvas_width > 700  # the chart grew with the screen
    page.screenshot(path=str(tmp_path / "wall-3840x2160.png"))
    assert wall.csp_errors == [] and wall.js_errors == []
