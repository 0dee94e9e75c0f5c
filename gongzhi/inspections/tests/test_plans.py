"""Plans: target selection (each reason, order, limits, filters), idempotent rebuilds, two teams on one
date, mark_visited, permissions and audit rows."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gongzhi.checklists.models import Checklist
from gongzhi.core.models import AuditLog
from gongzhi.inspections import plans, services
from gongzhi.inspections.models import Hazard, Notice, Plan, PlanDay, PlanTarget, Reinspection, Team, Visit
from gongzhi.premises.models import Premises, PremisesType

#: A Wednesday; every selection below is computed for this date (the clock is never read).
D = datetime.date(2027, 3, 10)
R = PlanTarget.Reason


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def days_before(n: int, hour: int = 10) -> datetime.datetime:
    return at(D - datetime.timedelta(days=n), hour)


def make_premises(world, name, *, risk="low", type_code="shop", area=None, active=True) -> Premises:
    area = area or world.grid_a1
    return Premises.objects.create(name=name, type=PremisesType.objects.get(code=type_code), area=area,
                                   area_path=area.path, risk_level=risk, is_active=active, address=f"{name}路1号")


def visit(scene, premises, when, team=None) -> Visit:
    return Visit.objects.create(team=team or scene.team, premises=premises, checklist_version=scene.version,
                                started_at=when, finished_at=when)


_serial = iter(range(1, 10_000))


def hazard(scene, premises, status=Hazard.Status.OPEN, when=None) -> Hazard:
    v = visit(scene, premises, when or days_before(5))
    return Hazard.objects.create(visit=v, premises=premises, item_name="exits", item_label="疏散通道畅通",
                                 department=scene.police, rectification_days=3, deadline=v.started_at,
                                 status=status)


def reinspection(scene, premises, due, status=Reinspection.Status.DUE) -> Reinspection:
    v = visit(scene, premises, days_before(5))
    serial = next(_serial)
    notice = Notice.objects.create(visit=v, department=scene.police, year=2027, serial=serial,
                                   number=f"N{serial}", deadline=due)
    return Reinspection.objects.create(notice=notice, round=1, due_at=due, status=status)


def make_plan(world, scene, team=None, **rules) -> Plan:
    rules.setdefault("weekday", Plan.Weekday.WEDNESDAY)
    return plans.create_plan(actor=world.admin, team=team or scene.team, name=rules.pop("name", "周三例行检查"),
                             checklist=scene.version.checklist, **rules)


def targets(day: PlanDay) -> list[tuple[str, str]]:
    return [(t.premises.name, t.reason) for t in day.targets.select_related("premises").order_by("rank", "pk")]


@pytest.fixture
def mix(world, scene):
    """One premises per reason, plus some that are no target at all."""
    Premises.objects.filter(pk=scene.premises.pk).update(is_active=False)  # the conftest shop stays out
    p = {}
    p["reinsp"] = make_premises(world, "复查店")
    reinspection(scene, p["reinsp"], at(D, 9))
    p["hazard"] = make_premises(world, "隐患店")
    hazard(scene, p["hazard"])
    p["never_high"] = make_premises(world, "新店高", risk="high")
    p["never_low"] = make_premises(world, "新店低")
    p["old_200"] = make_premises(world, "老店200", risk="medium")
    visit(scene, p["old_200"], days_before(200))
    p["old_100"] = make_premises(world, "老店100", risk="medium")
    visit(scene, p["old_100"], days_before(100))
    p["old_high"] = make_premises(world, "老店高", risk="high")
    visit(scene, p["old_high"], days_before(95))
    # not targets:
    p["recent"] = make_premises(world, "近查店")
    visit(scene, p["recent"], days_before(10))
    p["later_reinsp"] = make_premises(world, "后天复查店")
    reinspection(scene, p["later_reinsp"], at(D + datetime.timedelta(days=1), 9))
    p["done_reinsp"] = make_premises(world, "已复查店")
    reinspection(scene, p["done_reinsp"], at(D, 8), status=Reinspection.Status.DONE)
    p["fixed"] = make_premises(world, "已整改店")
    hazard(scene, p["fixed"], status=Hazard.Status.FIXED)
    p["closed"] = make_premises(world, "停业店", active=False)
    p["elsewhere"] = make_premises(world, "西街店", area=world.grid_b1)
    return p


def test_each_reason_in_order_ties_by_risk_then_oldest_visit(world, scene, mix):
    plan = make_plan(world, scene, max_targets=50)
    day = plans.build_day(plan, D)
    assert targets(day) == [
        ("复查店", R.REINSPECTION), ("隐患店", R.OPEN_HAZARDS),
        ("新店高", R.NEVER), ("新店低", R.NEVER),
        ("老店高", R.DUE), ("老店200", R.DUE), ("老店100", R.DUE),
    ]
    assert list(day.targets.order_by("rank").values_list("rank", flat=True)) == [1, 2, 3, 4, 5, 6, 7]


def test_escalated_hazards_count_as_open(world, scene, mix):
    Hazard.objects.filter(premises=mix["hazard"]).update(status=Hazard.Status.ESCALATED)
    day = plans.build_day(make_plan(world, scene), D)
    assert ("隐患店", R.OPEN_HAZARDS) in targets(day)


def test_max_targets_keeps_the_best(world, scene, mix):
    day = plans.build_day(make_plan(world, scene, max_targets=3), D)
    assert targets(day) == [("复查店", R.REINSPECTION), ("隐患店", R.OPEN_HAZARDS), ("新店高", R.NEVER)]


def test_without_open_hazards_the_recently_visited_premises_drops_out(world, scene, mix):
    day = plans.build_day(make_plan(world, scene, include_open_hazards=False), D)
    names = [name for name, _reason in targets(day)]
    assert "隐患店" not in names and "复查店" in names


def test_type_and_minimum_risk_filters(world, scene, mix):
    rental = make_premises(world, "出租屋", type_code="rental", risk="high")
    plan = make_plan(world, scene, premises_types=[PremisesType.objects.get(code="rental")])
    assert targets(plans.build_day(plan, D)) == [("出租屋", R.NEVER)]
    plan2 = make_plan(world, scene, name="高风险", min_risk_level="medium", weekday=Plan.Weekday.THURSDAY)
    thursday = D + datetime.timedelta(days=1)
    day = plans.build_day(plan2, thursday)
    names = [n for n, _r in targets(day)]
    assert names == ["新店高", "出租屋", "老店高", "老店200", "老店100"]  # equal risk, never visited: by id
    assert rental.pk in dict(plans.rank(plan2, D + datetime.timedelta(days=8)))  # next Thursday
    assert plans.rank(plan2, thursday) == []  # all of them taken by that day already
    assert day.targets.get(premises=rental).reason == R.NEVER


def test_days_since_last_visit_boundary(world, scene):
    Premises.objects.filter(pk=scene.premises.pk).update(is_active=False)
    exactly = make_premises(world, "正好30天")
    visit(scene, exactly, days_before(30, hour=23))
    almost = make_premises(world, "29天")
    visit(scene, almost, days_before(29, hour=0))
    twice = make_premises(world, "两次")
    visit(scene, twice, days_before(300))
    visit(scene, twice, days_before(3))  # the last visit counts
    day = plans.build_day(make_plan(world, scene, revisit_days=30), D)
    assert targets(day) == [("正好30天", R.DUE)]


def test_rebuild_never_doubles_and_keeps_visited_targets(world, scene, mix):
    plan = make_plan(world, scene, max_targets=4)
    day = plans.build_day(plan, D)
    assert day.targets.count() == 4
    again = plans.build_day(plan, D)
    assert again.pk == day.pk and PlanDay.objects.filter(plan=plan).count() == 1
    assert targets(again) == targets(day)
    # The team visits 新店高 on the day; a new reinspection becomes due; rebuild.
    target = again.targets.get(premises=mix["never_high"])
    v = visit(scene, mix["never_high"], at(D, 9))
    assert plans.mark_visited(v) == target
    assert plans.mark_visited(v) is None  # already filled
    newly_due = make_premises(world, "新复查店")
    reinspection(scene, newly_due, at(D, 8))
    third = plans.build_day(plan, D)
    rows = list(third.targets.select_related("premises").order_by("rank", "pk"))
    assert len(rows) == 4 and len({t.premises_id for t in rows}) == 4
    kept = [t for t in rows if t.visit_id]
    assert [(t.pk, t.visit_id) for t in kept] == [(target.pk, v.pk)]
    assert {t.premises.name for t in rows if not t.visit_id} == {"复查店", "新复查店", "隐患店"}
    assert AuditLog.objects.filter(action="inspection.plan.build", object_id=str(day.pk)).count() == 3


def test_premises_in_another_teams_day_is_skipped(world, scene, mix):
    second = Team.objects.create(station=scene.station, name="第二小组")
    first_plan = make_plan(world, scene, max_targets=3)
    second_plan = make_plan(world, scene, team=second, name="二组周三", max_targets=3)
    first = plans.build_day(first_plan, D)
    other = plans.build_day(second_plan, D)
    assert [n for n, _r in targets(other)] == ["新店低", "老店高", "老店200"]
    assert not set(first.targets.values_list("premises_id", flat=True)) & set(
        other.targets.values_list("premises_id", flat=True))
    # rebuilding the first keeps its own targets, still disjoint from the second's
    plans.build_day(first_plan, D)
    assert [n for n, _r in targets(first)] == ["复查店", "隐患店", "新店高"]
    # another date: no conflict
    next_week = plans.build_day(second_plan, D + datetime.timedelta(days=7))
    assert targets(next_week) == [("复查店", R.REINSPECTION), ("后天复查店", R.REINSPECTION),
                                  ("隐患店", R.OPEN_HAZARDS)]


def test_mark_visited_only_for_the_team_and_the_day_or_later_that_week(world, scene, mix):
    second = Team.objects.create(station=scene.station, name="第二小组")
    plan = make_plan(world, scene)
    plans.build_day(plan, D)
    assert plans.mark_visited(visit(scene, mix["hazard"], at(D, 15), team=second)) is None
    assert plans.mark_visited(visit(scene, mix["hazard"], at(D - datetime.timedelta(days=1), 9))) is None  # before
    assert plans.mark_visited(visit(scene, mix["hazard"], at(D + datetime.timedelta(days=7), 9))) is None  # next week
    target = plans.mark_visited(visit(scene, mix["hazard"], at(D + datetime.timedelta(days=1), 16)))  # a day late
    assert target is not None and target.premises_id == mix["hazard"].pk
    assert PlanTarget.objects.get(pk=target.pk).visit_id == target.visit_id
    assert AuditLog.objects.filter(action="inspection.plan.visited", object_id=str(target.pk)).exists()


def test_build_week_builds_each_active_plan_on_its_weekday(world, scene, mix):
    wednesday = make_plan(world, scene, max_targets=2)
    friday = make_plan(world, scene, name="周五", weekday=Plan.Weekday.FRIDAY, max_targets=2)
    stopped = make_plan(world, scene, name="停用", weekday=Plan.Weekday.MONDAY)
    plans.deactivate_plan(stopped, actor=world.admin)
    days = plans.build_week(D + datetime.timedelta(days=3))  # a Saturday of the same ISO week
    assert sorted((d.plan_id, d.date) for d in days) == sorted([
        (wednesday.pk, D), (friday.pk, D + datetime.timedelta(days=2))])
    assert not PlanDay.objects.filter(plan=stopped).exists()
    again = plans.build_week(D)
    assert PlanDay.objects.count() == 2 and PlanTarget.objects.count() == 4 and len(again) == 2


def test_build_day_refuses_wrong_weekday_and_stopped_plan(world, scene, mix):
    plan = make_plan(world, scene)
    with pytest.raises(ValidationError):
        plans.build_day(plan, D + datetime.timedelta(days=1))
    plans.deactivate_plan(plan, actor=None)
    with pytest.raises(ValidationError):
        plans.build_day(plan, D)
    assert not PlanDay.objects.exists()


def test_permissions_and_audit(world, scene):
    checklist = scene.version.checklist
    with pytest.raises(PermissionDenied):
        plans.create_plan(actor=world.outsider, team=scene.team, name="x", checklist=checklist)
    with pytest.raises(PermissionDenied):
        plans.create_plan(actor=world.worker, team=scene.team, name="x", checklist=checklist)  # grid only
    plan = plans.create_plan(actor=world.dispatcher, team=scene.team, name="派遣员的计划", checklist=checklist,
                             premises_types=[PremisesType.objects.get(code="shop")], min_risk_level="medium")
    row = AuditLog.objects.get(action="inspection.plan.create", object_id=str(plan.pk))
    assert row.actor == world.dispatcher and row.after["premises_types"] == ["shop"]
    for call in (lambda a: plans.update_plan(plan, actor=a, max_targets=5),
                 lambda a: plans.deactivate_plan(plan, actor=a),
                 lambda a: plans.build_day(plan, D, actor=a)):
        with pytest.raises(PermissionDenied):
            call(world.outsider)
    plans.update_plan(plan, actor=world.handler, max_targets=5, premises_types=[])
    plan.refresh_from_db()
    assert plan.max_targets == 5 and not plan.premises_types.exists()
    update = AuditLog.objects.get(action="inspection.plan.update", object_id=str(plan.pk))
    assert update.before["max_targets"] == 20 and update.after["max_targets"] == 5
    plans.deactivate_plan(plan, actor=world.admin)
    assert AuditLog.objects.filter(action="inspection.plan.deactivate", object_id=str(plan.pk)).exists()


@pytest.mark.parametrize("bad, field", [
    ({"name": "  "}, "name"), ({"name": "长" * 101}, "name"), ({"weekday": 8}, "weekday"),
    ({"max_targets": 0}, "max_targets"), ({"max_targets": 201}, "max_targets"),
    ({"revisit_days": 0}, "revisit_days"), ({"min_risk_level": "extreme"}, "min_risk_level"),
    ({"checklist": None}, "checklist"),
])
def test_bad_rules_store_nothing(world, scene, bad, field):
    values = {"name": "计划", "checklist": scene.version.checklist, **bad}
    with pytest.raises(ValidationError) as exc:
        plans.create_plan(actor=world.admin, team=scene.team, **values)
    assert field in exc.value.message_dict
    assert not Plan.objects.exists()
    plan = make_plan(world, scene)
    with pytest.raises(ValidationError):
        plans.update_plan(plan, actor=world.admin, **bad)
    plan.refresh_from_db()
    assert plan.name == "周三例行检查" and plan.max_targets == 20


def test_visit_recorded_through_the_service_fills_the_target(world, scene):
    """record_visit → mark_visited (the lead wires it into record_visit; called here directly)."""
    plan = make_plan(world, scene)
    today = timezone.localdate()
    plan = plans.update_plan(plan, actor=None, weekday=today.isoweekday())
    day = plans.build_day(plan, today)
    assert [t.premises_id for t in day.targets.all()] == [scene.premises.pk]
    answers = {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": 3}
    v = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                              version=scene.version, answers=answers)
    plans.mark_visited(v)  # idempotent if record_visit already called it
    assert day.targets.get().visit == v


def test_checklist_must_exist(world, scene):
    other = Checklist.objects.create(code="other", name="另一张表")
    plan = make_plan(world, scene)
    plans.update_plan(plan, actor=world.admin, checklist=other)
    plan.refresh_from_db()
    assert plan.checklist == other


def test_command_builds_the_week(world, scene, mix):
    from io import StringIO

    from django.core.management import CommandError, call_command

    plan = make_plan(world, scene, max_targets=2)
    out = StringIO()
    call_command("inspections_build_plans", "--date", (D + datetime.timedelta(days=4)).isoformat(), stdout=out)
    assert targets(PlanDay.objects.get(plan=plan, date=D)) == [("复查店", R.REINSPECTION), ("隐患店", R.OPEN_HAZARDS)]
    assert "2027-W10: 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("inspections_build_plans", "--date", "2027-13-01")
    with pytest.raises(CommandError):
        call_command("inspections_build_plans", "--plan", str(plan.pk + 100))


def test_build_week_takes_the_same_number_of_queries_for_more_plans_and_premises(world, scene, mix):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_plan(world, scene, max_targets=3)
    with CaptureQueriesContext(connection) as one:
        plans.build_week(D)
    station_b = services.create_station(actor=world.admin, area=world.community_b)
    team_b = services.create_team(actor=world.admin, station=station_b, name="西一组")
    for i in range(30):
        make_premises(world, f"西店{i}", area=world.grid_b1, risk=["low", "medium", "high"][i % 3])
    plan_b = make_plan(world, scene, team=team_b, name="西周三", max_targets=10)
    make_plan(world, scene, team=team_b, name="西周五", weekday=Plan.Weekday.FRIDAY, max_targets=10)
    make_plan(world, scene, name="东周三第二", max_targets=2)
    PlanDay.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        days = plans.build_week(D)
    assert len(days) == 4 and len(many.captured_queries) == len(one.captured_queries)
    west = PlanDay.objects.get(plan=plan_b, date=D)
    assert [t.premises.risk_level for t in west.targets.select_related("premises")][:4] == ["high"] * 4
    assert not PlanTarget.objects.filter(day__plan__team=team_b).exclude(premises__area=world.grid_b1).exists()
    row = AuditLog.objects.filter(action="inspection.plan.build_week").latest("id")
    assert row.after["days"] == 4 and row.after["targets"] == PlanTarget.objects.count()


def test_build_week_with_a_stopped_plan_writes_nothing(world, scene, mix):
    good = make_plan(world, scene)
    stopped = make_plan(world, scene, name="停用", weekday=Plan.Weekday.FRIDAY)
    plans.deactivate_plan(stopped, actor=None)
    with pytest.raises(ValidationError):
        plans.build_week(D, Plan.objects.filter(pk__in=[good.pk, stopped.pk]))
    assert not PlanDay.objects.exists() and not PlanTarget.objects.exists()
    with pytest.raises(PermissionDenied):
        plans.build_week(D, actor=world.outsider)
