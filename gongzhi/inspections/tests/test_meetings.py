"""Joint meetings: the agenda from escalated hazards, minutes, decisions → cases dispatched."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gongzhi.cases.choices import Status
from gongzhi.cases.models import Case, Category
from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.inspections import followup, meetings, services
from gongzhi.inspections.models import HazardEvent, Meeting, MeetingDecision, MeetingItem

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAIL = {"extinguisher": "no", "exits": "no", "licence": "no", "staff": 3}


def at(year, month, day, hour=9):
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def hazards(world, scene):
    """exits climbed to 约谈 (goes to the meeting), extinguisher to 提醒 (does not), licence open."""
    v = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises, version=scene.version,
                              answers=FAIL, finished_at=at(2026, 9, 30))
    found = {h.item_name: h for h in v.hazards.all()}
    for _ in range(3):
        found["exits"] = followup.escalate(actor=world.handler, hazard=found["exits"])
    found["extinguisher"] = followup.escalate(actor=world.handler, hazard=found["extinguisher"])
    return found


@pytest.fixture
def category():
    return Category.objects.filter(version__is_active=True, is_active=True).order_by("code").first()


def meeting(world, scene, title="第三季度联席会议"):
    return meetings.create_meeting(actor=world.dispatcher, station=scene.station, title=title,
                                   scheduled_at=at(2026, 10, 20, 14), place="工作站会议室")


def test_the_agenda_is_built_from_hazards_on_meeting_rungs(world, scene, hazards):
    m = meeting(world, scene)
    items = list(m.items.all())
    assert [i.hazard for i in items] == [hazards["exits"]]
    assert items[0].title == "凤凰便民超市 · 疏散通道畅通（约谈）"
    assert hazards["exits"].events.last().kind == HazardEvent.Kind.MEETING
    assert AuditLog.objects.filter(action="inspection.meeting.create", object_id=str(m.pk)).count() == 1
    # A planned meeting does not take the item away; once a meeting is held, the item is not repeated.
    assert [i.hazard for i in meeting(world, scene, "第二次").items.all()] == [hazards["exits"]]
    meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="街道、派出所、市场监管所", minutes="研究了约谈事项")
    assert list(meeting(world, scene, "第三次").items.all()) == []
    # A hazard transferred to enforcement goes to the next meeting.
    followup.escalate(actor=world.handler, hazard=hazards["exits"])
    transferred = followup.escalate(actor=world.handler, hazard=hazards["extinguisher"])
    assert transferred.status == "escalated"
    assert list(meeting(world, scene, "第四次").items.all()) == []  # exits was on a held agenda already


def test_transferred_hazards_are_on_the_agenda(world, scene, hazards):
    for _ in range(4):
        followup.escalate(actor=world.handler, hazard=hazards["extinguisher"])
    m = meeting(world, scene)
    assert {i.hazard.item_name for i in m.items.all()} == {"exits", "extinguisher"}
    assert "移交执法" in m.items.get(hazard__item_name="extinguisher").title


def test_minutes_once_and_items_only_before(world, scene, hazards):
    m = meeting(world, scene)
    extra = meetings.add_item(actor=world.dispatcher, meeting=m, title="门前三包")
    assert extra.sort == 2 and extra.hazard is None
    with pytest.raises(ValidationError):
        meetings.add_item(actor=world.dispatcher, meeting=m, hazard=hazards["exits"])  # already on it
    with pytest.raises(ValidationError):
        meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="", minutes="x")
    assert Meeting.objects.get(pk=m.pk).status == Meeting.Status.PLANNED
    held = meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="四部门", minutes="纪要")
    assert held.status == Meeting.Status.HELD and held.attendees == "四部门"
    with pytest.raises(Conflict):
        meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="四部门", minutes="纪要")
    with pytest.raises(Conflict):
        meetings.add_item(actor=world.dispatcher, meeting=m, title="迟到的议题")


def test_a_decision_becomes_a_case_dispatched_to_the_department(world, scene, hazards, category):
    m = meeting(world, scene)
    item = m.items.get()
    with pytest.raises(Conflict, match="尚未召开"):
        meetings.add_decision(actor=world.dispatcher, meeting=m, text="限期清理通道", department=world.police_a,
                              item=item, category=category)
    meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="四部门", minutes="纪要")
    decision = meetings.add_decision(actor=world.dispatcher, meeting=m, text="派出所牵头，三日内清理疏散通道",
                                     department=world.police_a, item=item, category=category)
    case = Case.objects.get(pk=decision.case_id)
    assert case.status == Status.DISPATCHED and case.department == world.police_a
    assert case.due_at is not None and case.area == world.grid_a1
    assert case.title.startswith("联席会议决定：") and "第三季度联席会议" in case.description
    assert list(case.events.values_list("action", flat=True)) == ["report", "file", "dispatch"]
    assert MeetingDecision.objects.get().item == item
    assert AuditLog.objects.filter(action="inspection.meeting.decision").count() == 1
    # Without an item: placed at the station's community.
    general = meetings.add_decision(actor=world.dispatcher, meeting=m, text="下月再查", department=scene.market,
                                    category=category)
    assert general.case.department == scene.market and general.case.area_path.startswith(world.community_a.path)


def test_a_decision_needs_the_right_to_run_the_meeting_and_good_input(world, scene, hazards, category):
    m = meeting(world, scene)
    meetings.record_minutes(actor=world.dispatcher, meeting=m, attendees="四部门", minutes="纪要")
    with pytest.raises(PermissionDenied):
        meetings.add_decision(actor=world.outsider, meeting=m, text="限期整改", department=world.police_a,
                              category=category)
    for kwargs, field in [({"text": ""}, "text"), ({"text": "x", "department": None}, "department"),
                          ({"text": "x", "category": None}, "category")]:
        with pytest.raises(ValidationError) as error:
            meetings.add_decision(**{"actor": world.dispatcher, "meeting": m, "department": world.police_a,
                                     "category": category, **kwargs})
        assert field in error.value.message_dict
    other = meetings.add_item(actor=world.dispatcher, meeting=meeting(world, scene, "另一次"), title="别的议题")
    with pytest.raises(ValidationError):
        meetings.add_decision(actor=world.dispatcher, meeting=m, text="x", department=world.police_a,
                              item=other, category=category)
    assert not Case.objects.exists() and not MeetingDecision.objects.exists()
    # The police officer runs the meeting (jurisdiction) without a command-center role: the task is
    # filed and dispatched on the meeting's behalf by who recorded it.
    decision = meetings.add_decision(actor=world.handler, meeting=m, text="限期整改", department=world.police_a,
                                     category=category)
    assert decision.case.reporter == world.handler and decision.case.department == world.police_a
    assert list(decision.case.events.values_list("actor", flat=True)) == [world.handler.pk] * 3


def test_who_may_run_a_meeting(world, scene, hazards):
    with pytest.raises(PermissionDenied):
        meetings.create_meeting(actor=world.outsider, station=scene.station, title="x", scheduled_at=at(2026, 10, 1))
    with pytest.raises(ValidationError):
        meetings.create_meeting(actor=world.dispatcher, station=scene.station, title=" ", scheduled_at=at(2026, 10, 1))
    with pytest.raises(ValidationError):
        meetings.create_meeting(actor=world.dispatcher, station=scene.station, title="x", scheduled_at=None)
    # A team member of the station may (the market officer's department serves street A too).
    assert meetings.create_meeting(actor=scene.market_officer, station=scene.station, title="小组会",
                                   scheduled_at=at(2026, 10, 1)).items.count() == 1
    assert Meeting.objects.count() == 1 and MeetingItem.objects.count() == 1
