"""Follow-up: re-inspection scheduling, fixed vs not fixed, the escalation ladder (default and
admin-edited), repeat offenders, findings outside the premises → cases."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gongzhi.cases.choices import Source
from gongzhi.cases.models import Case
from gongzhi.core import calendar
from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.inspections import followup, queries, services
from gongzhi.inspections.models import EscalationStep, Hazard, HazardEvent, Reinspection, VisitFinding

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TWO_DEPARTMENTS_FAIL = {"extinguisher": "no", "exits": "no", "licence": "no", "staff": 3}


def at(year, month, day, hour=9):
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def visit(scene, world, answers=None, when=None):
    return services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                                 version=scene.version, answers=answers or TWO_DEPARTMENTS_FAIL,
                                 finished_at=when or at(2026, 9, 30))


def police_round(v, n=1) -> Reinspection:
    return Reinspection.objects.get(notice__visit=v, notice__department__kind="police", round=n)


def kinds(hazard) -> list[str]:
    return list(hazard.events.values_list("kind", flat=True))


# --------------------------------------------------------------------------- scheduling


def test_scheduling_twice_never_doubles(world, scene):
    v = visit(scene, world)
    notice = v.notices.get(department=scene.police)
    first = followup.schedule_reinspection(notice, 2, at(2026, 11, 2))
    again = followup.schedule_reinspection(notice, 2, at(2026, 12, 1))
    assert first.pk == again.pk and again.due_at == at(2026, 11, 2)
    assert Reinspection.objects.filter(notice=notice).count() == 2  # round 1 from the visit, round 2
    assert followup.schedule_reinspection(notice, 1, at(2027, 1, 1)).due_at == notice.deadline
    assert AuditLog.objects.filter(action="inspection.reinspection.schedule").count() == 1
    with pytest.raises(ValidationError):
        followup.schedule_reinspection(notice, 0, at(2026, 11, 2))
    with pytest.raises(PermissionDenied):
        followup.schedule_reinspection(notice, 3, at(2026, 11, 2), actor=world.outsider)


# --------------------------------------------------------------------------- re-inspection


def test_fixed_hazards_close_the_others_climb_and_the_next_round_is_scheduled(world, scene):
    v = visit(scene, world)
    hazards = {h.item_name: h for h in v.hazards.all()}
    done = followup.reinspect(actor=world.handler, reinspection=police_round(v), fixed=[hazards["exits"].pk],
                              note="通道已清理")
    assert done.status == Reinspection.Status.DONE and done.done_by == world.handler and done.note == "通道已清理"
    exits, extinguisher = Hazard.objects.get(pk=hazards["exits"].pk), Hazard.objects.get(pk=hazards["extinguisher"].pk)
    assert exits.status == Hazard.Status.FIXED and exits.fixed_by == world.handler and exits.fixed_at == done.done_at
    assert kinds(exits) == ["found", "fixed"]
    assert extinguisher.status == Hazard.Status.ESCALATED and extinguisher.escalation_level == 1
    assert extinguisher.deadline == calendar.add_working_days(done.done_at, 5)  # the 提醒 rung: 5 working days
    assert kinds(extinguisher) == ["found", "not_fixed", "escalated"]
    assert extinguisher.events.get(kind="escalated").note == "提醒"
    second = police_round(v, 2)
    assert second.status == Reinspection.Status.DUE and second.due_at == extinguisher.deadline
    # The market notice is untouched: its own re-inspection is still due.
    assert Hazard.objects.get(pk=hazards["licence"].pk).status == Hazard.Status.OPEN
    assert AuditLog.objects.filter(action="inspection.reinspection.done", object_id=str(done.pk)).count() == 1
    assert AuditLog.objects.filter(action="inspection.hazard.escalate").count() == 1


def test_all_fixed_schedules_no_further_round(world, scene):
    v = visit(scene, world)
    followup.reinspect(actor=world.handler, reinspection=police_round(v),
                       fixed=v.hazards.filter(department=scene.police))
    assert not Reinspection.objects.filter(notice__visit=v, round=2).exists()
    assert set(v.hazards.filter(department=scene.police).values_list("status", flat=True)) == {"fixed"}


def test_a_second_submission_is_a_conflict_and_changes_nothing(world, scene):
    v = visit(scene, world)
    round1 = police_round(v)
    followup.reinspect(actor=world.handler, reinspection=round1, fixed=[])
    events = HazardEvent.objects.count()
    with pytest.raises(Conflict, match="不能重复提交"):
        followup.reinspect(actor=world.handler, reinspection=round1, fixed=v.hazards.filter(department=scene.police)[:1])
    assert HazardEvent.objects.count() == events
    assert set(v.hazards.filter(department=scene.police).values_list("escalation_level", flat=True)) == {1}
    Reinspection.objects.filter(pk=police_round(v, 2).pk).update(status=Reinspection.Status.CANCELLED)
    with pytest.raises(Conflict, match="已取消"):
        followup.reinspect(actor=world.handler, reinspection=police_round(v, 2), fixed=[])


@pytest.mark.parametrize("fixed, message", [(["x"], "无效"), ([10**9], "不属于")])
def test_bad_fixed_values_are_refused_with_nothing_stored(world, scene, fixed, message):
    v = visit(scene, world)
    market_hazard = v.hazards.get(department=scene.market)
    for wrong in (fixed, [market_hazard.pk]):
        with pytest.raises(ValidationError) as error:
            followup.reinspect(actor=world.handler, reinspection=police_round(v), fixed=wrong)
        assert "fixed" in error.value.message_dict
    assert "不属于" in str(error.value) and message
    assert police_round(v).status == Reinspection.Status.DUE
    assert not HazardEvent.objects.exclude(kind="found").exists()


def test_who_may_reinspect(world, scene):
    v = visit(scene, world)
    with pytest.raises(PermissionDenied):
        followup.reinspect(actor=world.outsider, reinspection=police_round(v), fixed=[])
    with pytest.raises(PermissionDenied):
        followup.reinspect(actor=world.resident, reinspection=police_round(v), fixed=[])
    market_round = Reinspection.objects.get(notice__visit=v, notice__department=scene.market)
    # The market officer is a team member and staff of the notice's department.
    assert followup.reinspect(actor=scene.market_officer, reinspection=market_round, fixed=[]).status == "done"
    # The dispatcher's jurisdiction covers the premises.
    assert followup.reinspect(actor=world.dispatcher, reinspection=police_round(v), fixed=[]).status == "done"


# --------------------------------------------------------------------------- the ladder


def test_each_rung_of_the_default_ladder_then_transfer(world, scene):
    v = visit(scene, world)
    hazard = v.hazards.get(item_name="exits")
    seen = []
    for n in range(1, 6):
        followup.reinspect(actor=world.handler, reinspection=police_round(v, n), fixed=[])
        hazard.refresh_from_db()
        seen.append((hazard.status, hazard.escalation_level, hazard.events.last().note))
    assert seen == [("escalated", 1, "提醒"), ("escalated", 2, "联合通告"), ("escalated", 3, "约谈"),
                    ("escalated", 4, "挂牌督办"), ("transferred", 5, "移交执法")]
    assert hazard.events.filter(kind="transferred").count() == 1
    assert not Reinspection.objects.filter(notice__visit=v, round=6).exists()  # no re-inspection after transfer
    with pytest.raises(Conflict, match="移交执法"):
        followup.escalate(actor=world.handler, hazard=hazard)
    listed = EscalationStep.objects.get(code="listed")
    rung4 = HazardEvent.objects.get(hazard=hazard, kind="escalated", level=4)
    assert Hazard.objects.get(pk=hazard.pk).deadline == calendar.add_working_days(rung4.at, listed.rectification_days)


def test_the_department_is_told_in_its_inbox_when_a_hazard_climbs(world, scene, client):
    from gongzhi.notifications.models import Notification

    v = visit(scene, world)
    hazard = v.hazards.get(item_name="exits")  # 东派出所's: world.handler is its staff
    followup.escalate(actor=world.dispatcher, hazard=hazard)
    note = Notification.objects.get(user=world.handler)
    assert note.title == "隐患升级：提醒" and note.kind == "inspection_escalated" and note.case_id is None
    assert "疏散通道畅通" in note.body and note.url == f"/inspections/hazards/{hazard.pk}/"
    assert not Notification.objects.filter(user=scene.market_officer).exists()  # not their department's
    client.force_login(world.handler)
    inbox = client.get("/inbox/").content.decode()
    assert "隐患升级：提醒" in inbox and "查看案件" not in inbox


def test_a_due_re_inspection_is_announced_once_to_the_team_and_the_department(world, scene):
    from gongzhi.notifications.models import Notification

    v = visit(scene, world)
    police = police_round(v)
    market_due = Reinspection.objects.get(notice__visit=v, notice__department=scene.market).due_at
    first = min(police.due_at, market_due)
    assert followup.remind_due(now=first - datetime.timedelta(minutes=1)) == 0  # not yet due
    told = followup.remind_due(now=max(police.due_at, market_due))
    assert told == 2  # the police notice and the market notice
    # the team (handler, market officer) and each notice's department staff; one message per notice
    police_messages = Notification.objects.filter(kind="inspection_reinspection_due",
                                                  url=f"/inspections/reinspections/{police.pk}/")
    assert {n.user_id for n in police_messages} == {world.handler.pk, scene.market_officer.pk,
                                                    scene.second_officer.pk}
    assert police_messages.first().title == "待复查：凤凰便民超市"
    assert followup.remind_due(now=market_due + datetime.timedelta(days=1)) == 0  # never twice
    assert followup.reminder_job() is None


def test_a_custom_ladder_with_gaps_and_past_the_last_rung(world, scene):
    EscalationStep.objects.all().delete()
    EscalationStep.objects.create(level=10, code="warn", name="警示", rectification_days=2)
    EscalationStep.objects.create(level=30, code="notify-street", name="报街道", rectification_days=3,
                                  goes_to_meeting=True)
    v = visit(scene, world)
    hazard = v.hazards.get(item_name="exits")
    first = followup.escalate(actor=world.handler, hazard=hazard, note="电话提醒")
    assert (first.status, first.escalation_level) == ("escalated", 10)
    assert first.events.last().note == "警示：电话提醒"
    second = followup.escalate(actor=world.handler, hazard=first)
    assert second.escalation_level == 30 and second.status == "escalated"
    assert second.deadline == calendar.add_working_days(second.events.last().at, 3)
    with pytest.raises(Conflict, match="最高一级"):
        followup.escalate(actor=world.handler, hazard=second)
    # At re-inspection a hazard at the top of a ladder without a transfer rung stays there.
    followup.reinspect(actor=world.handler, reinspection=police_round(v), fixed=[])
    assert Hazard.objects.get(pk=hazard.pk).escalation_level == 30
    assert police_round(v, 2).status == "due"
    assert AuditLog.objects.filter(action="inspection.hazard.extend", object_id=str(hazard.pk)).count() == 1


def test_a_notice_with_nothing_left_to_look_at_has_its_due_reinspection_cancelled(world, scene):
    v = visit(scene, world)
    services.mark_fixed(actor=world.handler, hazard=v.hazards.get(item_name="exits"))
    hazard = v.hazards.get(item_name="extinguisher")
    for _ in range(4):
        hazard = followup.escalate(actor=world.handler, hazard=hazard)
    assert police_round(v).status == "due"  # still something to look at
    followup.escalate(actor=world.handler, hazard=hazard)  # → 移交执法
    assert police_round(v).status == Reinspection.Status.CANCELLED
    assert Reinspection.objects.get(notice__visit=v, notice__department=scene.market).status == "due"


def test_escalate_refuses_a_fixed_hazard_and_an_outsider(world, scene):
    v = visit(scene, world)
    hazard = v.hazards.get(item_name="exits")
    with pytest.raises(PermissionDenied):
        followup.escalate(actor=world.outsider, hazard=hazard)
    services.mark_fixed(actor=world.handler, hazard=hazard)
    with pytest.raises(Conflict, match="已整改"):
        followup.escalate(actor=world.handler, hazard=hazard)


def test_the_ladder_is_edited_in_admin(login, world, scene):
    client = login(world.admin)
    step = EscalationStep.objects.get(code="reminder")
    page = client.get(f"/admin/inspections/escalationstep/{step.pk}/change/")
    assert page.status_code == 200
    response = client.post(f"/admin/inspections/escalationstep/{step.pk}/change/", {
        "level": 1, "code": "reminder", "name": "书面提醒", "name_en": "Written reminder", "rectification_days": 7})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.name == "书面提醒" and step.rectification_days == 7
    assert AuditLog.objects.filter(action="escalationstep.update").exists()
    hazard = visit(scene, world).hazards.get(item_name="exits")
    escalated = followup.escalate(actor=world.handler, hazard=hazard)
    assert escalated.events.last().note == "书面提醒"
    assert escalated.deadline == calendar.add_working_days(escalated.events.last().at, 7)
    assert client.get("/admin/inspections/hazard/add/").status_code == 403  # the rest stays read-only


# --------------------------------------------------------------------------- repeat offenders


def test_repeat_offenders_threshold_and_twelve_month_window(world, scene, settings):
    only_exits = {"extinguisher": "yes", "exits": "no", "licence": "yes", "staff": 1}
    for when in (at(2025, 9, 1), at(2026, 1, 10), at(2026, 5, 6), at(2026, 9, 30)):
        visit(scene, world, only_exits, when)
    settings.INSPECTIONS_REPEAT_FAILURES = 3
    rows = followup.repeat_offenders(world.handler, now=at(2026, 10, 1))
    assert [(r.premises, r.item_name, r.item_label, r.failures) for r in rows] == [
        (scene.premises, "exits", "疏散通道畅通", 3)]  # the one of September 2025 is outside the 12 months
    assert rows[0].last_at == at(2026, 9, 30)
    assert followup.repeat_offenders(world.handler, now=at(2026, 9, 2)) == []  # only two in that window
    settings.INSPECTIONS_REPEAT_FAILURES = 4
    assert followup.repeat_offenders(world.handler, now=at(2026, 10, 1)) == []
    assert len(followup.repeat_offenders(world.handler, threshold=4, now=at(2026, 9, 30, 10))) == 0
    assert len(followup.repeat_offenders(world.handler, threshold=2, now=at(2026, 10, 1))) == 1
    assert followup.repeat_offenders(world.outsider, threshold=1, now=at(2026, 10, 1)) == []
    latest = Hazard.objects.filter(item_name="exits").order_by("-created_at").first()
    assert latest.earlier_failures + 1 == 3  # the count the visit stored (the same window, at the finding)


# --------------------------------------------------------------------------- findings → cases


def test_a_finding_outside_the_premises_becomes_a_patrol_case(world, scene):
    v = visit(scene, world)
    case = followup.report_finding(actor=world.handler, visit=v, title="门外废弃车辆", description="占用消防通道")
    assert case.source == Source.PATROL and case.area == world.grid_a1 and case.reporter == world.handler
    assert (case.lon, case.lat) == (scene.premises.lon, scene.premises.lat)
    assert VisitFinding.objects.get(visit=v).case == case
    assert AuditLog.objects.filter(action="inspection.finding.report").count() == 1
    elsewhere = followup.report_finding(actor=world.handler, visit=v, title="井盖缺失", lon=100.15, lat=30.05)
    assert elsewhere.area == world.grid_a2


@pytest.mark.parametrize("kwargs, field", [
    ({"title": ""}, "title"), ({"title": "x" * 101}, "title"),
    ({"title": "废弃车辆", "lon": 120.0, "lat": 10.0}, "lon"), ({"title": "废弃车辆", "lon": 100.1}, "lon"),
])
def test_a_bad_finding_is_refused_with_nothing_stored(world, scene, kwargs, field):
    v = visit(scene, world)
    with pytest.raises(ValidationError) as error:
        followup.report_finding(actor=world.handler, visit=v, **kwargs)
    assert field in error.value.message_dict
    assert not Case.objects.exists() and not VisitFinding.objects.exists()


def test_an_outsider_may_not_report_a_finding(world, scene):
    v = visit(scene, world)
    with pytest.raises(PermissionDenied):
        followup.report_finding(actor=world.outsider, visit=v, title="废弃车辆")
    assert not Case.objects.exists()


# --------------------------------------------------------------------------- scoped reads


def test_reads_are_scoped(world, scene):
    v = visit(scene, world)
    assert queries.visible_hazards(world.handler).count() == 3   # jurisdiction (the police serve street A)
    assert queries.visible_hazards(scene.market_officer).count() == 3  # a team member of the station
    assert queries.visible_hazards(world.outsider).count() == 0
    assert queries.visible_hazards(world.resident).count() == 0
    assert queries.due_reinspections(world.dispatcher).count() == 2
    assert queries.due_reinspections(world.outsider).count() == 0
    overdue = queries.overdue_hazards(world.dispatcher, now=at(2026, 10, 9))
    assert {h.item_name for h in overdue} == {"exits", "licence"}  # the extinguisher is due on 10 October
    counts = {r["department__name"]: r for r in queries.counts_by_department(world.dispatcher, queries.HazardFilters(),
                                                                             now=at(2026, 10, 9))}
    assert counts["东派出所"]["open"] == 2 and counts["东派出所"]["overdue"] == 1
    assert counts["东市场监管所"]["open"] == 1
    assert [e.kind for e in queries.timeline(v.hazards.first())] == ["found"]
