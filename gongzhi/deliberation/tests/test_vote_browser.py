"""共商共决 on phones (375×740), the acceptance test of issue 10: the dispatcher starts a two-round
renovation vote (两个2/3, one ballot per household) on 东一花园's six units and opens it; the resident
(林一凡, unit 1-101) votes online; the dispatcher and the grid worker type in four paper ballots (double
entry: one disagrees, is flagged, voided and typed again); the dispatcher closes the vote, reads
the results (4 / 6 households = 2/3: passes under 以上), and publishes them; the resident sees the
published result and the 公示 with its hash. Pages and database are both checked; no CSP violation,
no page error, nothing wider than the screen. Screenshots go to $GONGZHI_SCREENSHOTS (/tmp/shots)."""

from __future__ import annotations

import hashlib
import os

import pytest

from gongzhi import browser_testing
from gongzhi.browser_testing import PHONE, browser_marks

pytestmark = browser_marks
SHOTS = os.environ.get("GONGZHI_SCREENSHOTS", "/tmp/shots")
TITLE = "东一花园老旧小区改造"


@pytest.fixture
def browser(live_server, roll, monkeypatch):
    with browser_testing.browser(live_server, monkeypatch) as chromium:  # `roll` (and `world`) first
        yield chromium
        from django.db import connections

        connections.close_all()


def success(page) -> str:
    return page.locator(".messages li.success").inner_text()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def enter(page, base: str, decision_pk: int, unit: str, q1: str, q2: str) -> str:
    """Type one paper ballot on the decision page (the elector found by unit code); the message."""
    page.goto(f"{base}/deliberation/decisions/{decision_pk}/")
    page.fill("input.elector-filter", unit)
    assert unit in page.locator("#id_paper-elector option:checked").inner_text()
    page.check(f"input[name='paper-q1'][value='{q1}']")
    page.check(f"input[name='paper-q2'][value='{q2}']")
    page.click("#paper-form button[type=submit]")
    page.wait_for_url(f"{base}/deliberation/decisions/{decision_pk}/")
    return success(page)


def test_two_round_renovation_vote_on_phones(browser, roll, world):
    from gongzhi.deliberation.models import Decision, PaperEntry, Participation, Publication, Result, Vote

    base = browser.base

    # The dispatcher starts the vote from the co-decision page: 两个2/3, one ballot per household.
    manager = browser_testing.logged_in_page(browser, world.dispatcher.username)
    manager.goto(base + "/deliberation/")
    manager.click("text=发起表决")
    manager.wait_for_url(base + "/deliberation/decisions/new/")
    manager.select_option("#id_area", str(world.community_a.pk))
    manager.select_option("#id_roll", str(roll.roll.pk))
    manager.fill("#id_title", TITLE)
    manager.select_option("#id_preset", "renovation_two_rounds")
    assert "同意的户数占全体户数的比例 ≥ 2/3" in manager.locator("#preset-help .chosen").inner_text()
    assert not manager.locator(".field-building").is_visible()
    assert fits(manager)
    manager.click("#decision-form button[type=submit]")
    manager.wait_for_url(base + "/deliberation/decisions/*/")
    decision = Decision.objects.get(title=TITLE)
    assert decision.status == "draft" and decision.ballot_unit == "household"
    assert "表决已创建" in success(manager)
    manager.click("#open-decision")
    manager.wait_for_url(f"{base}/deliberation/decisions/{decision.pk}/")
    assert success(manager) == "表决已开始，选民名单已按名册固定"
    assert manager.locator("#decision-status").inner_text() == "表决中"
    assert "应参与：8 人 · 6 户 · 525.50 ㎡" in manager.locator("#electorates").inner_text()
    assert decision.electors.count() == 6
    assert fits(manager)

    # The resident finds it on their co-decision page and votes on the phone.
    resident = browser_testing.logged_in_page(browser, world.resident.username)
    resident.goto(base + "/deliberation/")
    resident.click(f"#my-decisions >> text={TITLE}")
    resident.wait_for_url(f"{base}/deliberation/decisions/{decision.pk}/")
    assert "以 林一凡（1-101）的名义投票" in resident.locator("#my-ballot").inner_text()
    assert resident.locator("#paper-form").count() == 0
    resident.click("#ballot-form label.choice-for >> nth=0")
    resident.click("#ballot-form label.choice-for >> nth=1")
    assert fits(resident)
    os.makedirs(SHOTS, exist_ok=True)
    resident.screenshot(path=os.path.join(SHOTS, "deliberation-ballot-375.png"), full_page=True)
    resident.click("#ballot-form button[type=submit]")
    resident.wait_for_url(f"{base}/deliberation/decisions/{decision.pk}/")
    assert success(resident) == "您已投票，感谢参与"
    assert "您已投票" in resident.locator("#voted").inner_text()
    assert resident.locator("#ballot-form").count() == 0
    assert Participation.objects.get(decision=decision, elector__user=world.resident).channel == "online"

    # Paper ballots, each typed by the dispatcher and again by the grid worker.
    clerk = browser_testing.logged_in_page(browser, world.worker.username)  # goes door to door in grid A1
    ballots = [("1-102", "for", "for"), ("1-201", "for", "for"), ("2-101", "for", "for"),
               ("2-102", "against", "against")]
    for unit, q1, q2 in ballots:
        assert enter(manager, base, decision.pk, unit, q1, q2) == "已录入，等待另一位工作人员复核录入"
    assert "待另一人复核" in manager.locator("#pending").inner_text()
    assert fits(manager)
    manager.screenshot(path=os.path.join(SHOTS, "deliberation-paper-375.png"), full_page=True)
    for unit, q1, q2 in ballots[:3]:
        assert enter(clerk, base, decision.pk, unit, q1, q2) == "两次录入一致，选票已计入"
    # the worker reads 2-102's second answer wrongly: both entries are flagged
    assert enter(clerk, base, decision.pk, "2-102", "against", "for").startswith("两次录入不一致")
    manager.goto(f"{base}/deliberation/decisions/{decision.pk}/")
    mismatch = manager.locator("#mismatches .mismatch")
    assert "2-102" in mismatch.inner_text() and "网格员甲" in mismatch.inner_text()
    manager.click("#close-decision")  # refused while a ballot is unsettled
    assert "两次录入不一致" in manager.locator("#errors").inner_text()
    manager.goto(f"{base}/deliberation/decisions/{decision.pk}/")
    mismatch.locator("input[name='void-reason']").fill("核对原票：第二项为反对")
    mismatch.locator("button", has_text="作废").click()
    manager.wait_for_url(f"{base}/deliberation/decisions/{decision.pk}/")
    assert success(manager) == "已作废 2 份录入，请重新录入这张选票"
    assert enter(manager, base, decision.pk, "2-102", "against", "against").startswith("已录入")
    assert enter(clerk, base, decision.pk, "2-102", "against", "against") == "两次录入一致，选票已计入"
    assert Participation.objects.filter(decision=decision, channel="paper").count() == 4
    assert PaperEntry.objects.filter(decision=decision, status="matched").count() == 8
    assert PaperEntry.objects.filter(decision=decision, status="void").count() == 2

    # The dispatcher closes the vote: 4 of 6 households agree to both — exactly 2/3, which passes (以上).
    manager.goto(f"{base}/deliberation/decisions/{decision.pk}/")
    assert "线上 1" in manager.locator("#participation").inner_text()
    manager.click("#close-decision")
    manager.wait_for_url(f"{base}/deliberation/decisions/{decision.pk}/")
    assert success(manager) == "表决已结束，计票结果见下方"
    assert manager.locator("#decision-status").inner_text() == "已计票"
    first = manager.locator("#result-1").inner_text()
    assert "通过" in first and "4 / 6" in first and "达到" in first
    assert "前提事项" in manager.locator("#result-2").inner_text()
    assert fits(manager)
    manager.screenshot(path=os.path.join(SHOTS, "deliberation-results-375.png"), full_page=True)
    results = {r.question.position: r for r in Result.objects.filter(question__decision=decision)}
    assert results[1].passed and results[2].passed
    assert results[1].figures["all"]["for"]["households"] == 4
    assert results[1].figures["all"]["electorate"]["households"] == 6
    assert Vote.objects.filter(question__decision=decision).count() == 10

    # … and publishes the result for 7 days.
    manager.fill("#id_publish-channel", "小区公告栏、平台公告")
    manager.fill("#id_publish-days", "7")
    manager.click("#publish-form button[type=submit]")
    manager.wait_for_url(base + "/deliberation/publications/*/")
    assert success(manager) == "表决结果已公示"
    publication = Publication.objects.get(decision=decision)
    assert publication.kind == "result" and (publication.ends_on - publication.starts_on).days == 6
    assert publication.content_hash == hashlib.sha256(publication.content.encode("utf-8")).hexdigest()
    assert manager.locator("#content-hash").inner_text() == publication.content_hash
    assert manager.locator("#hash-ok").count() == 1
    assert TITLE in manager.locator("#publication-content").inner_text()
    assert fits(manager)
    decision.refresh_from_db()
    assert decision.status == "published"

    # The resident sees the published result, then the 公示 itself, and could object while it runs.
    resident.goto(f"{base}/deliberation/decisions/{decision.pk}/")
    assert resident.locator("#decision-status").inner_text() == "已公示"
    assert "通过" in resident.locator("#result-1").inner_text()
    assert resident.locator("#paper-form").count() == 0 and resident.locator("#electorates").count() == 0
    resident.click(f"#publications >> text={TITLE}")
    resident.wait_for_url(f"{base}/deliberation/publications/{publication.pk}/")
    assert resident.locator("#content-hash").inner_text() == publication.content_hash
    assert resident.locator("#objection-form").count() == 1
    assert fits(resident)
    resident.screenshot(path=os.path.join(SHOTS, "deliberation-publication-375.png"), full_page=True)
    assert not browser.csp_errors and not browser.js_errors
