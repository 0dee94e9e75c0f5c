"""Stations, teams, visits → hazards and numbered notices, deadlines in working days, re-inspection."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.inspections import services
from gongzhi.inspections.models import (
    Hazard,
    HazardEvent,
    Notice,
    NoticeSequence,
    Reinspection,
    Station,
    TeamMember,
    Visit,
    VisitPhoto,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_PASS = {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": 3}
TWO_DEPARTMENTS_FAIL = {"extinguisher": "no", "exits": "no", "licence": "no", "staff": 3}


def at(year, month, day, hour=0, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def visit(scene, world, answers, *, actor=None, when=None):
    return services.record_visit(actor=actor or world.handler, team=scene.team, premises=scene.premises,
                                 version=scene.version, answers=answers, finished_at=when or at(2026, 9, 30, 9),
                                 acknowledged_by="王老板")


def test_two_departments_fail_two_notices_with_deadlines_across_national_day(world, scene):
    v = visit(scene, world, TWO_DEPARTMENTS_FAIL)
    hazards = {h.item_name: h for h in v.hazards.all()}
    assert set(hazards) == {"extinguisher", "exits", "licence"}
    assert {h.department for h in hazards.values()} == {scene.police, scene.market}
    assert hazards["exits"].department == scene.police and hazards["licence"].department == scene.market
    assert hazards["exits"].severity == "critical" and hazards["exits"].status == Hazard.Status.OPEN
    assert hazards["extinguisher"].legal_basis == "《中华人民共和国消防法》第十六条"
    # Wednesday 30 September 2026 09:00; 1–7 October are holidays; Saturday 10 October is a 调休 workday.
    assert hazards["exits"].deadline == at(2026, 10, 8, 9)
    assert hazards["licence"].deadline == at(2026, 10, 8, 9)
    assert hazards["extinguisher"].deadline == at(2026, 10, 10, 9)

    notices = {n.department: n for n in v.notices.all()}
    assert set(notices) == {scene.police, scene.market}
    assert notices[scene.police].number == "东派出所〔2026〕第0001号"
    assert notices[scene.market].number == "东市场监管所〔2026〕第0001号"
    assert notices[scene.police].deadline == at(2026, 10, 10, 9)  # the latest of its items
    assert set(notices[scene.police].hazards.values_list("item_name", flat=True)) == {"extinguisher", "exits"}
    assert list(notices[scene.market].hazards.values_list("item_name", flat=True)) == ["licence"]
    assert v.acknowledged_by == "王老板" and v.answers["staff"] == 3
    assert AuditLog.objects.filter(action="inspection.visit.record", object_id=str(v.pk)).count() == 1
    assert AuditLog.objects.filter(action="inspection.notice.issue").count() == 2


def test_numbers_are_consecutive_per_department_and_never_double(world, scene):
    first = visit(scene, world, TWO_DEPARTMENTS_FAIL)
    second = visit(scene, world, {**ALL_PASS, "exits": "no"}, actor=scene.market_officer)
    third = visit(scene, world, TWO_DEPARTMENTS_FAIL)
    police = list(Notice.objects.filter(department=scene.police).order_by("serial").values_list("number", flat=True))
    market = list(Notice.objects.filter(department=scene.market).order_by("serial").values_list("number", flat=True))
    assert police == [f"东派出所〔2026〕第000{i}号" for i in (1, 2, 3)]
    assert market == ["东市场监管所〔2026〕第0001号", "东市场监管所〔2026〕第0002号"]
    assert second.notices.count() == 1 and first.notices.count() == third.notices.count() == 2
    assert Notice.objects.values("number").distinct().count() == Notice.objects.count() == 5
    # A new year starts again at 0001.
    visit(scene, world, TWO_DEPARTMENTS_FAIL, when=at(2027, 1, 5, 10))
    assert Notice.objects.filter(year=2027).order_by("department__name").values_list("number", flat=True)[0] in {
        "东派出所〔2027〕第0001号", "东市场监管所〔2027〕第0001号"}
    assert set(NoticeSequence.objects.filter(year=2027).values_list("last", flat=True)) == {1}


def test_a_clean_visit_stores_no_hazard_and_no_notice(world, scene):
    v = visit(scene, world, ALL_PASS)
    assert v.hazards.count() == 0 and v.notices.count() == 0
    assert not NoticeSequence.objects.exists()


@pytest.mark.parametrize(("answers", "errors"), [
    ({"extinguisher": "no", "exits": "no"}, {"licence": ["此项必填"]}),
    ({**TWO_DEPARTMENTS_FAIL, "staff": 900}, {"staff": ["人数应在 0 到 500 之间"]}),
    ({**TWO_DEPARTMENTS_FAIL, "licence": "maybe"}, {"licence": ["没有这个选项：maybe"]}),
])
def test_invalid_answers_are_refused_with_nothing_stored(world, scene, answers, errors):
    audit_rows = AuditLog.objects.count()
    with pytest.raises(ValidationError) as caught:
        visit(scene, world, answers)
    assert caught.value.message_dict == errors
    assert not Visit.objects.exists() and not Hazard.objects.exists() and not Notice.objects.exists()
    assert not NoticeSequence.objects.exists()
    assert AuditLog.objects.count() == audit_rows


def test_who_may_record_a_visit(world, scene):
    with pytest.raises(PermissionDenied):
        visit(scene, world, TWO_DEPARTMENTS_FAIL, actor=world.outsider)
    visit(scene, world, ALL_PASS, actor=world.dispatcher)  # street A's dispatcher covers the shop
    assert Visit.objects.count() == 1


def test_premises_outside_the_station_community_is_refused(world, scene):
    from gongzhi.premises import services as premises_services

    far = premises_services.create_premises(actor=world.admin, name="西街小店", type=scene.premises.type,
                                            lon=100.55, lat=30.05)
    with pytest.raises(ValidationError) as caught:
        services.record_visit(actor=world.admin, team=scene.team, premises=far, version=scene.version,
                              answers=ALL_PASS)
    assert "premises" in caught.value.message_dict
    assert not Visit.objects.exists()


def test_a_team_refuses_two_members_of_one_department(world, scene):
    with pytest.raises(ValidationError) as caught:
        services.add_member(actor=world.admin, team=scene.team, user=scene.second_officer, department=scene.police)
    assert "department" in caught.value.message_dict
    # Someone who is not the department's staff cannot join for it.
    with pytest.raises(ValidationError):
        services.add_member(actor=world.admin, team=scene.team, user=world.worker, department=scene.police)
    assert TeamMember.objects.filter(team=scene.team).count() == 2
    # A team created with two members of one department is refused as a whole.
    with pytest.raises(ValidationError):
        services.create_team(actor=world.admin, station=scene.station, name="第二小组",
                             members=[(world.handler, scene.police), (scene.second_officer, scene.police)])
    assert scene.station.teams.count() == 1


def test_stations_one_per_community_and_inside_the_jurisdiction(world, scene):
    with pytest.raises(ValidationError):
        services.create_station(actor=world.admin, area=world.community_a)
    with pytest.raises(ValidationError):
        services.create_station(actor=world.admin, area=world.grid_b1)  # not a community
    with pytest.raises(PermissionDenied):
        services.create_station(actor=world.dispatcher, area=world.community_b)
    station = services.create_station(actor=world.admin, area=world.community_b)
    assert station.name == "西一社区星火工作站"
    assert Station.objects.count() == 2
    assert AuditLog.objects.filter(action="inspection.station.create").count() == 2


def test_mark_fixed_at_re_inspection(world, scene):
    v = visit(scene, world, TWO_DEPARTMENTS_FAIL)
    exits = v.hazards.get(item_name="exits")
    with pytest.raises(PermissionDenied):
        services.mark_fixed(actor=world.outsider, hazard=exits)
    fixed = services.mark_fixed(actor=world.handler, hazard=exits, note="通道已清理")
    assert fixed.status == Hazard.Status.FIXED and fixed.fixed_by == world.handler and fixed.fixed_at
    with pytest.raises(Conflict):
        services.mark_fixed(actor=world.handler, hazard=exits)
    assert v.hazards.filter(status=Hazard.Status.OPEN).count() == 2
    row = AuditLog.objects.get(action="inspection.hazard.fix")
    assert row.after["status"] == "fixed" and row.note == "通道已清理"


def test_an_item_of_a_department_not_in_the_team_goes_to_the_one_serving_the_premises(world, scene):
    team = services.create_team(actor=world.admin, station=scene.station, name="派出所小组",
                                members=[(scene.second_officer, scene.police)])
    v = services.record_visit(actor=scene.second_officer, team=team, premises=scene.premises, version=scene.version,
                              answers={**ALL_PASS, "licence": "no"}, finished_at=at(2026, 9, 30, 9))
    assert [n.number for n in v.notices.all()] == ["东市场监管所〔2026〕第0001号"]
    # No market department serves the premises any more: refused, nothing stored.
    scene.market.areas.clear()
    with pytest.raises(ValidationError) as caught:
        services.record_visit(actor=scene.second_officer, team=team, premises=scene.premises,
                              version=scene.version, answers={**ALL_PASS, "licence": "no"})
    assert "licence" in caught.value.message_dict
    assert Visit.objects.count() == 1 and Notice.objects.count() == 1


def test_repeat_failures_of_an_item_within_twelve_months_are_counted(world, scene):
    failing = {**ALL_PASS, "extinguisher": "no"}
    visit(scene, world, failing, when=at(2025, 8, 20, 9))  # more than 12 months before the last: not counted
    visit(scene, world, failing, when=at(2026, 3, 2, 9))
    visit(scene, world, failing, when=at(2026, 6, 1, 9))
    last = visit(scene, world, {**failing, "licence": "no"}, when=at(2026, 9, 1, 9))
    counts = {h.item_name: h.earlier_failures for h in last.hazards.all()}
    assert counts == {"extinguisher": 2, "licence": 0}


def test_a_visit_writes_found_events_and_schedules_one_reinspection_per_notice(world, scene):
    v = visit(scene, world, TWO_DEPARTMENTS_FAIL)
    assert HazardEvent.objects.filter(hazard__visit=v, kind=HazardEvent.Kind.FOUND).count() == v.hazards.count()
    rows = {(r.notice_id, r.round, r.due_at, r.status) for r in Reinspection.objects.filter(notice__visit=v)}
    assert rows == {(n.pk, 1, n.deadline, Reinspection.Status.DUE) for n in v.notices.all()}


def photo(name="shop.jpg", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_photo_answer_is_stored_re_encoded_and_referenced(world, scene):
    v = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises, version=scene.version,
                              answers=ALL_PASS, photos={"shopfront": photo()})
    stored = VisitPhoto.objects.get(visit=v, question="shopfront")
    assert v.answers["shopfront"] == f"photo:{stored.pk}"
    assert stored.image.read()[:2] == b"\xff\xd8" and stored.thumbnail.name


def test_a_bad_photo_refuses_the_visit_and_stores_nothing(world, scene):
    bad = SimpleUploadedFile("x.jpg", b"not a picture", content_type="image/jpeg")
    with pytest.raises(ValidationError) as caught:
        services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                              version=scene.version, answers=TWO_DEPARTMENTS_FAIL, photos={"shopfront": bad})
    assert "shopfront" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                              version=scene.version, answers=TWO_DEPARTMENTS_FAIL, photos={"staff": photo()})
    assert "staff" in caught.value.message_dict
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists() and not Hazard.objects.exists()


def test_a_planned_visit_fills_its_target(world, scene):
    from gongzhi.inspections import plans

    plan = plans.create_plan(actor=world.admin, team=scene.team, name="周三检查", weekday=3,
                             checklist=scene.version.checklist)
    day = plans.build_day(plan, datetime.date(2026, 9, 30))
    target = day.targets.get(premises=scene.premises)
    v = visit(scene, world, ALL_PASS, when=at(2026, 9, 30, 10))
    target.refresh_from_db()
    assert target.visit_id == v.pk
