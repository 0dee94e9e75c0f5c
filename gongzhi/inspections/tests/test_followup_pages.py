"""The follow-up pages per actor: members see and act, the outsider gets 404, bad input gives a Chinese
form error and stores nothing."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from gongzhi.cases.models import Case, Category
from gongzhi.inspections import followup, services
from gongzhi.inspections.models import (
    Hazard,
    HazardEvent,
    Meeting,
    MeetingDecision,
    Reinspection,
    VisitFinding,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAIL = {"extinguisher": "no", "exits": "no", "licence": "no", "staff": 3}


@pytest.fixture
def visit(world, scene):
    return services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                                 version=scene.version, answers=FAIL,
                                 finished_at=datetime.datetime(2026, 9, 30, 9, tzinfo=SHANGHAI))


@pytest.fixture
def police_round(visit, scene):
    return Reinspection.objects.get(notice__visit=visit, notice__department=scene.police, round=1)


def text(response) -> str:
    return response.content.decode()


def test_the_reinspection_form_contract_and_its_outcome(login, world, scene, visit, police_round):
    client = login(world.handler)
    url = f"/inspections/reinspections/{police_round.pk}/"
    page = text(client.get(url))
    hazards = {h.item_name: h for h in visit.hazards.filter(department=scene.police)}
    for h in hazards.values():
        assert re.search(rf'<label><input type="checkbox" name="fixed" value="{h.pk}"> {h.item_label}</label>', page)
    assert '<textarea name="note"' in page and "提交复查结果" in page
    assert str(visit.hazards.get(item_name="licence").pk) not in re.findall(r'name="fixed" value="(\d+)"', page)
    response = client.post(url, {"fixed": [hazards["exits"].pk], "note": "通道已清理"})
    assert response.status_code == 302 and response["Location"] == url
    page = text(client.get(url))
    assert "已整改" in page and "已升级：提醒" in page and "提交复查结果" not in page
    assert "第 2 轮复查" in page  # the next round is linked
    again = client.post(url, {"fixed": [hazards["extinguisher"].pk]})
    assert again.status_code == 409 and "不能重复提交" in text(again)
    assert Hazard.objects.get(pk=hazards["extinguisher"].pk).status == "escalated"


@pytest.mark.parametrize("fixed, message", [("abc", "所选隐患无效"), ("999999", "所选隐患不属于该整改通知书")])
def test_bad_reinspection_input_stores_nothing(login, world, visit, police_round, fixed, message):
    response = login(world.handler).post(f"/inspections/reinspections/{police_round.pk}/",
                                         {"fixed": fixed, "note": "x"})
    assert response.status_code == 200 and message in text(response)
    assert Reinspection.objects.get(pk=police_round.pk).status == "due"
    assert not HazardEvent.objects.exclude(kind="found").exists()


def test_reinspection_pages_per_actor(login, world, scene, visit, police_round):
    url = f"/inspections/reinspections/{police_round.pk}/"
    for user in (world.handler, world.dispatcher, world.worker, scene.market_officer):
        assert login(user).get(url).status_code == 200
        assert police_round.notice.number in text(login(user).get("/inspections/reinspections/"))
    for user in (world.outsider, world.resident):
        client = login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"fixed": []}).status_code == 404
        assert police_round.notice.number not in text(client.get("/inspections/reinspections/"))
    assert login(world.handler).get("/inspections/reinspections/0/").status_code == 404
    assert Reinspection.objects.get(pk=police_round.pk).status == "due"


def test_hazard_pages_and_the_escalate_button(login, world, scene, visit):
    hazard = visit.hazards.get(item_name="exits")
    client = login(world.handler)
    listing = text(client.get("/inspections/hazards/"))
    assert "疏散通道畅通" in listing and "东派出所" in listing and "东市场监管所" in listing
    only_market = text(client.get(f"/inspections/hazards/?department={scene.market.pk}&severity=minor"))
    assert "营业执照亮照经营" in only_market and "疏散通道畅通" not in only_market
    assert text(client.get("/inspections/hazards/?status=bogus&department=x")).count("hazard-list") == 1
    detail = text(client.get(f"/inspections/hazards/{hazard.pk}/"))
    assert "升级为“提醒”" in detail and "发现" in detail and "东派出所〔2026〕第0001号" in detail
    response = client.post(f"/inspections/hazards/{hazard.pk}/escalate/", {"note": "电话提醒无果"})
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert (hazard.status, hazard.escalation_level) == ("escalated", 1)
    assert "已升级：提醒" in text(client.get(f"/inspections/hazards/{hazard.pk}/"))
    outsider = login(world.outsider)
    assert "疏散通道畅通" not in text(outsider.get("/inspections/hazards/"))
    assert outsider.get(f"/inspections/hazards/{hazard.pk}/").status_code == 404
    assert outsider.post(f"/inspections/hazards/{hazard.pk}/escalate/").status_code == 404
    assert Hazard.objects.get(pk=hazard.pk).escalation_level == 1


def test_a_transferred_hazard_has_no_escalate_button(login, world, visit):
    hazard = visit.hazards.get(item_name="exits")
    for _ in range(5):
        hazard = followup.escalate(actor=world.handler, hazard=hazard)
    page = text(login(world.handler).get(f"/inspections/hazards/{hazard.pk}/"))
    assert "已移交执法" in page and 'id="escalate"' not in page
    response = login(world.handler).post(f"/inspections/hazards/{hazard.pk}/escalate/", follow=True)
    assert "不能再升级" in text(response)


def test_overdue_and_repeat_pages(login, world, scene, visit):
    client = login(world.dispatcher)
    overdue = text(client.get("/inspections/overdue/"))
    assert "疏散通道畅通" in overdue and "东派出所〔2026〕第0001号" in overdue  # both long past (September)
    assert "疏散通道畅通" not in text(login(world.outsider).get("/inspections/overdue/"))
    for day in (10, 11):
        services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises, version=scene.version,
                              answers=FAIL, finished_at=datetime.datetime(2026, 11, day, 9, tzinfo=SHANGHAI))
    repeat = text(login(world.dispatcher).get("/inspections/repeat/"))  # one client: log in again
    assert "凤凰便民超市" in repeat and "疏散通道畅通" in repeat and "3 次" in repeat
    assert "凤凰便民超市" not in text(login(world.outsider).get("/inspections/repeat/"))


def test_the_finding_page(login, world, scene, visit):
    url = f"/inspections/visits/{visit.pk}/finding/"
    client = login(world.handler)
    assert client.get(url).status_code == 200
    bad = client.post(url, {"title": "", "lon": "abc"})
    assert bad.status_code == 200 and "请填写问题" in text(bad) and "经纬度必须是数字" in text(bad)
    half = client.post(url, {"title": "废弃车辆", "lon": "100.1"})
    assert "经度和纬度需同时提供" in text(half)
    outside = client.post(url, {"title": "废弃车辆", "lon": "120", "lat": "10"})
    assert "不在本市网格范围内" in text(outside)
    assert not Case.objects.exists()
    response = client.post(url, {"title": "门外废弃车辆", "description": "占用消防通道"})
    assert response.status_code == 302
    case = VisitFinding.objects.get(visit=visit).case
    assert case.title == "门外废弃车辆" and case.area == world.grid_a1
    assert case.number in text(client.get(url))
    for user in (world.outsider, world.resident):
        assert login(user).get(url).status_code == 404
        assert login(user).post(url, {"title": "x"}).status_code == 404
    assert Case.objects.count() == 1


def test_meeting_pages(login, world, scene, visit):
    hazard = visit.hazards.get(item_name="exits")
    for _ in range(3):
        hazard = followup.escalate(actor=world.handler, hazard=hazard)
    client = login(world.dispatcher)
    assert client.get("/inspections/meetings/new/").status_code == 200
    bad = client.post("/inspections/meetings/new/", {"station": scene.station.pk, "title": "", "scheduled_at": "明天"})
    assert "请填写会议名称" in text(bad) and "会议时间格式不正确" in text(bad)
    assert not Meeting.objects.exists()
    response = client.post("/inspections/meetings/new/", {"station": scene.station.pk, "title": "十月联席会议",
                                                          "scheduled_at": "2026-10-20T14:00", "place": "会议室"})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/inspections/meetings/{meeting.pk}/"
    page = text(client.get(f"/inspections/meetings/{meeting.pk}/"))
    assert "凤凰便民超市 · 疏散通道畅通（约谈）" in page
    assert "十月联席会议" in text(client.get("/inspections/meetings/"))
    assert client.post(f"/inspections/meetings/{meeting.pk}/items/", {"title": "门前三包"}).status_code == 302
    assert client.post(f"/inspections/meetings/{meeting.pk}/minutes/", {"attendees": "", "minutes": ""}).status_code == 200
    assert client.post(f"/inspections/meetings/{meeting.pk}/minutes/",
                       {"attendees": "四部门", "minutes": "研究约谈事项"}).status_code == 302
    again = client.post(f"/inspections/meetings/{meeting.pk}/minutes/", {"attendees": "四部门", "minutes": "再来"})
    assert again.status_code == 409 and "不能重复提交" in text(again)
    category = Category.objects.filter(version__is_active=True, is_active=True).order_by("code").first()
    item = meeting.items.get(hazard=hazard)
    bad = client.post(f"/inspections/meetings/{meeting.pk}/decisions/", {"text": "", "department": "x"})
    assert "请填写决定事项" in text(bad) and not MeetingDecision.objects.exists()
    done = client.post(f"/inspections/meetings/{meeting.pk}/decisions/", {
        "text": "三日内清理通道", "department": world.police_a.pk, "item": item.pk, "category": category.pk})
    assert done.status_code == 302
    decision = MeetingDecision.objects.get()
    assert decision.case.status == "dispatched" and decision.case.number in text(client.get(done["Location"]))
    # The police officer runs the meeting too (jurisdiction): the decision is dispatched on its behalf.
    second = login(world.handler).post(f"/inspections/meetings/{meeting.pk}/decisions/", {
        "text": "再查一次", "department": world.police_a.pk, "category": category.pk})
    assert second.status_code == 302 and MeetingDecision.objects.count() == 2
    for user in (world.outsider, world.resident):
        other = login(user)
        assert other.get(f"/inspections/meetings/{meeting.pk}/").status_code == 404
        assert other.post(f"/inspections/meetings/{meeting.pk}/items/", {"title": "x"}).status_code == 404
        assert "十月联席会议" not in text(other.get("/inspections/meetings/"))
    assert login(world.outsider).get("/inspections/meetings/new/").status_code == 403
    assert login(world.resident).get("/inspections/meetings/new/").status_code == 403
