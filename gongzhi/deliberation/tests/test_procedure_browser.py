"""四议三公开 on a phone (375×740): the street's dispatcher opens a village matter, records the party
organisation's proposal with its numbers, minutes and an attendance list (one row added with
“添加一行”, one person marked absent, one signature photo), sees the stage done in the stepper with its
rule's explanation, the next stage current, and publishes the topic. No CSP violation, no page error,
nothing wider than the screen. A screenshot goes to $GONGZHI_SCREENSHOTS (default /tmp/shots)."""

from __future__ import annotations

import io
import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")


@pytest.fixture
def scene(world, tmp_path):
    """A procedure of 东一社区 and a signature photo, set up before Playwright starts."""
    from PIL import Image

    from gongzhi.deliberation import procedures

    world.procedure = procedures.start_procedure(actor=world.dispatcher, area=world.community_a,
                                                 title="村道硬化工程", description="3 组村道约 800 米硬化")
    out = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(out, "PNG")
    world.signature = tmp_path / "signature.png"
    world.signature.write_bytes(out.getvalue())
    return world


@pytest.fixture
def browser(live_server, scene, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `scene` first
        yield chromium
        from django.db import connections

        connections.close_all()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_recording_the_proposal_stage_on_a_phone(browser, scene):
    from django.utils import timezone

    from gongzhi.deliberation.models import Attendee, Publication

    world, proc = scene, scene.procedure
    page = browser_testing.logged_in_page(browser, world.dispatcher.username)
    page.goto(f"{browser.base}/deliberation/procedures/{proc.pk}/")
    assert page.locator("h1").inner_text() == "村道硬化工程"
    assert page.locator("#stage-1").get_attribute("class") == "step step-current"
    assert page.locator(".step-waiting").count() == 3
    assert fits(page)

    form = page.locator("#stage-form")
    form.locator("#id_held_on").fill(timezone.localdate().isoformat())
    form.locator("#id_eligible").fill("5")
    form.locator("#id_votes_for").fill("3")
    form.locator("#id_votes_against").fill("0")
    form.locator("#id_minutes").fill("支部委员会议一致提议村道硬化")
    form.locator(".attendance-rows summary").click()
    for i, name in enumerate(["赵一", "钱二", "孙三"]):
        form.locator(f"input[name=att-{i}-name]").fill(name)
    form.locator("[data-add-attendee]").click()
    form.locator("input[name=att-3-name]").fill("李四")
    form.locator("input[name=att-3-present]").uncheck()
    form.locator("input[name=att-0-signature]").set_input_files(str(scene.signature))
    assert fits(page)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{browser.base}/deliberation/procedures/{proc.pk}/")

    assert "已记录：通过" in page.locator(".messages").inner_text()
    assert page.locator("#stage-1").get_attribute("class") == "step step-done"
    assert page.locator("#stage-2").get_attribute("class") == "step step-current"
    assert page.locator("#stage-1 .explanation li.met").count() == 2
    assert "实到 3 人" in page.locator("#stage-1 .figures").inner_text()
    assert fits(page)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "deliberation-procedure-375.png"), full_page=True)

    publish = page.locator("#publish-form")
    assert "议题公开" in publish.locator("h3").inner_text()
    publish.locator("button[type=submit]").click()
    page.wait_for_url(f"{browser.base}/deliberation/procedures/{proc.pk}/")
    assert "已公开" in page.locator("#publication-topic").inner_text()

    stage = proc.stages.get(position=1)
    assert stage.passed is True and stage.present == 3 and stage.eligible == 5
    names = list(Attendee.objects.filter(stage=stage).order_by("pk").values_list("name", "present"))
    assert names == [("赵一", True), ("钱二", True), ("孙三", True), ("李四", False)]
    assert Attendee.objects.filter(stage=stage).exclude(signature="").count() == 1
    assert Publication.objects.filter(procedure=proc, kind="topic").count() == 1
    assert not browser.csp_errors and not browser.js_errors
