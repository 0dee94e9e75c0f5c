"""/api/v1/inspections: plans (list, read, create, change, stop, a day's targets) and the follow-up of
notices (due re-inspections, recording one, escalating a hazard) — happy paths, who gets 403/404,
bad input as 400 in the API's error shape (never a 500)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.inspections import plans, services
from gongzhi.inspections.models import Hazard, Plan, PlanTarget, Reinspection, Visit
from gongzhi.orgs import services as org_services
from gongzhi.premises.models import PremisesType

pytestmark = pytest.mark.django_db
API = "/api/v1/inspections"
ANSWERS = {"extinguisher": "no", "exits": "yes", "licence": "no", "staff": 2}  # police + market fail


def send(client, method, url, data=None):
    return getattr(client, method)(url, json.dumps(data if data is not None else {}), content_type="application/json")


@pytest.fixture
def member(world, scene):
    """A team member whose department serves the other street: a member, not a manager of station A
    (the handler's 东派出所 serves street A, so the handler manages the station's plans)."""
    west = org_services.create_department(actor=None, name="西市场监管所", code="market-b", kind="market",
                                          areas=[world.street_b], home_area=world.street_b)
    user = org_services.create_user(actor=None, username="westmarket", password="x-very-long-pass",
                                    display_name="市场监管乙")
    org_services.add_staff(actor=None, department=west, user=user)
    services.add_member(actor=world.admin, team=scene.team, user=user, department=west)
    return user


def plan_body(scene, **extra) -> dict:
    return {"team": scene.team.pk, "name": "周三例行检查", "checklist": scene.version.checklist_id,
            "weekday": 3, **extra}


def make_plan(world, scene, **rules) -> Plan:
    rules.setdefault("weekday", Plan.Weekday.WEDNESDAY)
    return plans.create_plan(actor=world.admin, team=scene.team, name=rules.pop("name", "周三例行检查"),
                             checklist=scene.version.checklist, **rules)


def visit(scene) -> Visit:
    return services.record_visit(actor=None, team=scene.team, premises=scene.premises, version=scene.version,
                                 answers=ANSWERS, acknowledged_by="王老板")


def assert_invalid(response, field: str | None = None) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    if field is not None:
        assert field in error["fields"], error
        assert all(isinstance(m, str) and m for m in error["fields"][field])
    return error["fields"]


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


def test_a_manager_creates_reads_lists_changes_and_stops_a_plan(login, world, scene):
    client = login(world.dispatcher)  # 东街道 covers the station's community
    shop = PremisesType.objects.get(code="shop")
    response = send(client, "post", f"{API}/plans", plan_body(scene, premises_types=[shop.pk], min_risk_level="medium",
                                                            revisit_days=30, max_targets=5))
    assert response.status_code == 201, response.content
    data = response.json()
    plan = Plan.objects.get()
    assert data["id"] == plan.pk and data["team_id"] == scene.team.pk and data["station_id"] == scene.station.pk
    assert data["weekday"] == 3 and data["weekday_label"] == "星期三" and data["premises_types"] == [shop.pk]
    assert data["min_risk_level"] == "medium" and data["max_targets"] == 5 and data["can_manage"] is True
    assert AuditLog.objects.filter(action="inspection.plan.create", actor=world.dispatcher).count() == 1

    listed = client.get(f"{API}/plans").json()
    assert listed["count"] == 1 and listed["items"][0] == data
    assert client.get(f"{API}/plans?active=false").json()["count"] == 0
    assert client.get(f"{API}/plans/{plan.pk}").json() == data

    changed = send(client, "patch", f"{API}/plans/{plan.pk}", {"name": "周五检查", "weekday": 5,
                                                               "premises_types": [], "min_risk_level": ""})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["weekday"], changed.json()["premises_types"]) == ("周五检查", 5, [])
    assert changed.json()["min_risk_level"] == "" and changed.json()["max_targets"] == 5  # not sent: unchanged
    assert AuditLog.objects.filter(action="inspection.plan.update").count() == 1

    stopped = send(client, "post", f"{API}/plans/{plan.pk}/deactivate")
    assert stopped.status_code == 200 and stopped.json()["is_active"] is False
    assert client.get(f"{API}/plans?active=false").json()["count"] == 1
    assert AuditLog.objects.filter(action="inspection.plan.deactivate").count() == 1


def test_a_team_member_reads_the_plan_but_may_not_manage_it(login, world, scene, member):
    plan = make_plan(world, scene)
    client = login(member)  # a member of the team, no jurisdiction over its community
    listed = client.get(f"{API}/plans").json()
    assert [p["id"] for p in listed["items"]] == [plan.pk] and listed["items"][0]["can_manage"] is False
    created = send(client, "post", f"{API}/plans", plan_body(scene, name="另一个计划"))
    assert created.status_code == 403 and created.json()["error"]["code"] == "forbidden"
    assert created.json()["error"]["message"]
    assert send(client, "patch", f"{API}/plans/{plan.pk}", {"name": "改名"}).status_code == 403
    assert send(client, "post", f"{API}/plans/{plan.pk}/deactivate").status_code == 403
    plan.refresh_from_db()
    assert Plan.objects.count() == 1 and plan.name == "周三例行检查" and plan.is_active


def test_another_communitys_plan_is_404(login, world, scene):
    plan = make_plan(world, scene)
    date = plans.plan_date(plan, timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    for actor in ("outsider", "worker", "resident"):
        assert_all_404(login(getattr(world, actor)), plan, date, scene)
    assert Plan.objects.count() == 1 and not plan.days.exists()


def assert_all_404(client, plan, date, scene):
    for method, url, body in [("get", f"{API}/plans/{plan.pk}", None), ("patch", f"{API}/plans/{plan.pk}",
                                                                         {"name": "改名"}),
                              ("post", f"{API}/plans/{plan.pk}/deactivate", None),
                              ("get", f"{API}/plans/{plan.pk}/days/{date}", None),
                              ("post", f"{API}/plans", plan_body(scene))]:
        response = client.get(url) if method == "get" else send(client, method, url, body)
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/plans").json()["count"] == 0
    assert client.get(f"{API}/plans/999999").status_code == 404


def test_a_days_targets_are_built_as_the_week_page_builds_them(login, world, scene, member):
    plan = make_plan(world, scene)
    date = plans.plan_date(plan, timezone.localdate() + datetime.timedelta(days=7))  # next week's Wednesday
    client = login(member)  # a team member reads (and so builds) the day, as on the week page
    response = client.get(f"{API}/plans/{plan.pk}/days/{date.isoformat()}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["built"] is True and data["date"] == date.isoformat() and data["plan_id"] == plan.pk
    [target] = data["targets"]
    assert target["premises_id"] == scene.premises.pk and target["premises"] == "凤凰便民超市"
    assert (target["rank"], target["reason"], target["reason_label"]) == (1, "never", "从未检查")
    assert target["visited"] is False and target["visit_id"] is None and target["premises_type"]
    done = visit(scene)
    PlanTarget.objects.filter(pk=target["id"]).update(visit=done)
    again = client.get(f"{API}/plans/{plan.pk}/days/{date.isoformat()}").json()
    assert again["targets"][0]["visited"] is True and again["targets"][0]["visit_id"] == done.pk
    assert plan.days.count() == 1  # read again: not rebuilt
    past = plans.plan_date(plan, timezone.localdate() - datetime.timedelta(days=28))
    old = client.get(f"{API}/plans/{plan.pk}/days/{past.isoformat()}").json()
    assert old == {"plan_id": plan.pk, "date": past.isoformat(), "built": False, "built_at": None, "targets": []}


def test_a_bad_date_is_400(login, world, scene):
    plan = make_plan(world, scene)  # Wednesdays; 2027-03-11 is a Thursday
    client = login(world.dispatcher)
    for value in ["2027-13-01", "yesterday", "10-03-2027", "2027-03-11", "9999-12-29", "0001-01-03", "x" * 300,
                  "2027-02-30"]:
        assert_invalid(client.get(f"{API}/plans/{plan.pk}/days/{value}"), "date")
    assert not plan.days.exists()


BAD_PLANS = [
    ({"weekday": 9}, "weekday"),
    ({"weekday": 10**30}, "weekday"),
    ({"name": ""}, "name"),
    ({"name": "x" * 10_000}, "name"),
    ({"checklist": 999999}, "checklist"),
    ({"checklist": 10**30}, "checklist"),
    ({"premises_types": [999999]}, "premises_types"),
    ({"premises_types": [10**30]}, "premises_types"),
    ({"premises_types": list(range(1, 1000))}, "premises_types"),
    ({"min_risk_level": "extreme"}, "min_risk_level"),
    ({"min_risk_level": "x" * 5000}, "min_risk_level"),
    ({"revisit_days": 0}, "revisit_days"),
    ({"revisit_days": 10**30}, "revisit_days"),
    ({"max_targets": 201}, "max_targets"),
    ({"max_targets": "many"}, "max_targets"),
    ({"team": "x"}, "team"),
]


def test_bad_plan_input_is_400_and_stores_nothing(login, world, scene):
    client = login(world.dispatcher)
    for extra, field in BAD_PLANS:
        assert_invalid(send(client, "post", f"{API}/plans", plan_body(scene, **extra)), field)
    assert not Plan.objects.exists()


def test_a_huge_team_id_is_404_and_a_chinese_message_for_the_weekday(login, world, scene):
    client = login(world.dispatcher)
    assert send(client, "post", f"{API}/plans", plan_body(scene, team=10**30)).status_code in (400, 404)
    fields = assert_invalid(send(client, "post", f"{API}/plans", plan_body(scene, weekday=8)), "weekday")
    assert fields["weekday"] == ["检查日应为星期一到星期日"]
    response = client.post(f"{API}/plans", "not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


BAD_CHANGES = [
    ({"name": None}, "name"),
    ({"weekday": None}, "weekday"),
    ({"include_open_hazards": None}, "include_open_hazards"),
    ({"team": 1}, "team"),  # a plan does not move to another team
    ({"max_targets": 0}, "max_targets"),
    ({"checklist": 999999}, "checklist"),
    ({"name": "y" * 101}, "name"),
]


def test_bad_changes_are_400_and_change_nothing(login, world, scene):
    plan = make_plan(world, scene)
    client = login(world.dispatcher)
    for body, field in BAD_CHANGES:
        assert_invalid(send(client, "patch", f"{API}/plans/{plan.pk}", body), field)
    plan.refresh_from_db()
    assert (plan.name, plan.weekday, plan.max_targets) == ("周三例行检查", 3, 20)
    assert not AuditLog.objects.filter(action="inspection.plan.update").exists()


# --------------------------------------------------------------------------------------------
# Re-inspections and escalation
# --------------------------------------------------------------------------------------------


def test_due_reinspections_soonest_first_for_who_may_do_them(login, world, scene):
    done = visit(scene)
    police = done.notices.get(department=scene.police)
    market = done.notices.get(department=scene.market)
    Reinspection.objects.filter(notice=market).update(due_at=timezone.now() - datetime.timedelta(days=1))
    for actor in (world.handler, world.dispatcher, world.worker, world.admin):
        data = login(actor).get(f"{API}/reinspections").json()
        assert [r["notice_id"] for r in data["items"]] == [market.pk, police.pk], actor
    first = login(world.handler).get(f"{API}/reinspections").json()["items"][0]
    assert first["overdue"] is True and first["status"] == "due" and first["round"] == 1
    assert first["notice_number"] == market.number and first["department"] == "东市场监管所"
    assert first["premises"] == "凤凰便民超市" and first["visit_id"] == done.pk
    assert [(h["item_name"], h["status_label"], h["settled"]) for h in first["hazards"]] == [
        ("licence", "待整改", False)]
    for actor in (world.outsider, world.resident):
        assert login(actor).get(f"{API}/reinspections").json()["count"] == 0


def test_record_a_reinspection_and_a_second_time_is_409(login, world, scene):
    done = visit(scene)
    police = done.notices.get(department=scene.police)
    hazard = police.hazards.get()
    item = Reinspection.objects.get(notice=police, round=1)
    client = login(world.handler)  # the police department's staff
    url = f"{API}/reinspections/{item.pk}"
    response = send(client, "post", url, {"fixed": [hazard.pk], "note": "灭火器已更换"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "done" and data["done_at"] and data["note"] == "灭火器已更换" and data["next_id"] is None
    assert data["hazards"][0]["status"] == "fixed" and data["hazards"][0]["settled"] is True
    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.FIXED
    assert AuditLog.objects.filter(action="inspection.reinspection.done", actor=world.handler).count() == 1
    again = send(client, "post", url, {"fixed": [hazard.pk]})
    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "conflict" and "不能重复提交" in again.json()["error"]["message"]
    assert login(world.handler).get(f"{API}/reinspections").json()["count"] == 1  # the market's only


def test_hazards_not_fixed_climb_a_rung_and_the_next_round_is_scheduled(login, world, scene):
    market = visit(scene).notices.get(department=scene.market)
    item = Reinspection.objects.get(notice=market, round=1)
    data = send(login(world.dispatcher), "post", f"{API}/reinspections/{item.pk}", {"fixed": []}).json()
    assert data["status"] == "done" and data["hazards"][0]["status"] == "escalated"
    assert data["hazards"][0]["status_label"] == "已升级：提醒" and data["hazards"][0]["escalation_level"] == 1
    following = Reinspection.objects.get(pk=data["next_id"])
    assert (following.notice_id, following.round, following.status) == (market.pk, 2, Reinspection.Status.DUE)


BAD_REINSPECTIONS = [
    ({"fixed": [999999]}, "fixed"),
    ({"fixed": [10**30]}, "fixed"),
    ({"fixed": ["x"]}, "fixed.0"),
    ({"fixed": "all"}, "fixed"),
    ({"fixed": list(range(1, 1000))}, "fixed"),
    ({}, "fixed"),
    ({"fixed": [], "note": "x" * 5000}, "note"),
    ({"fixed": [], "note": ["x"]}, "note"),
]


def test_bad_reinspection_input_is_400_and_changes_nothing(login, world, scene):
    police = visit(scene).notices.get(department=scene.police)
    item = Reinspection.objects.get(notice=police, round=1)
    client = login(world.handler)
    for body, field in BAD_REINSPECTIONS:
        assert_invalid(send(client, "post", f"{API}/reinspections/{item.pk}", body), field)
    item.refresh_from_db()
    assert item.status == Reinspection.Status.DUE and Hazard.objects.filter(status="open").count() == 2


def test_a_hazard_of_another_notice_is_400(login, world, scene):
    done = visit(scene)
    police, market = done.notices.get(department=scene.police), done.notices.get(department=scene.market)
    item = Reinspection.objects.get(notice=market, round=1)
    response = send(login(world.dispatcher), "post", f"{API}/reinspections/{item.pk}",
                    {"fixed": [police.hazards.get().pk]})
    assert assert_invalid(response, "fixed")["fixed"] == ["所选隐患不属于该整改通知书"]


def test_not_yours_is_404_for_the_follow_up(login, world, scene):
    police = visit(scene).notices.get(department=scene.police)
    item = Reinspection.objects.get(notice=police, round=1)
    hazard = police.hazards.get()
    for actor in (world.outsider, world.resident):
        client = login(actor)
        assert send(client, "post", f"{API}/reinspections/{item.pk}", {"fixed": []}).status_code == 404
        assert send(client, "post", f"{API}/hazards/{hazard.pk}/escalate", {"note": "x"}).status_code == 404
    assert send(login(world.handler), "post", f"{API}/reinspections/999999", {"fixed": []}).status_code == 404
    item.refresh_from_db()
    hazard.refresh_from_db()
    assert item.status == Reinspection.Status.DUE and hazard.status == Hazard.Status.OPEN


def test_escalate_a_hazard(login, world, scene):
    hazard = visit(scene).notices.get(department=scene.police).hazards.get()
    client = login(world.handler)
    url = f"{API}/hazards/{hazard.pk}/escalate"
    response = send(client, "post", url, {"note": "拒不整改"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["id"] == hazard.pk and data["status"] == "escalated" and data["escalation_level"] == 1
    assert data["status_label"] == "已升级：提醒"
    assert AuditLog.objects.filter(action="inspection.hazard.escalate", actor=world.handler).count() == 1
    assert_invalid(send(client, "post", url, {"note": "x" * 3000}), "note")
    Hazard.objects.filter(pk=hazard.pk).update(status=Hazard.Status.FIXED)
    fixed = send(client, "post", url, {"note": ""})
    assert fixed.status_code == 409 and fixed.json()["error"]["message"] == "该隐患已整改，不能升级"


def test_schema_names_are_unique():
    from gongzhi.core.tests.test_api_schemas import test_every_api_schema_has_its_own_name

    test_every_api_schema_has_its_own_name()


def test_the_lists_cost_the_same_few_queries_whatever_their_length(login, world, scene):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.dispatcher)
    make_plan(world, scene)
    visit(scene)

    def cost(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    one = cost(f"{API}/plans"), cost(f"{API}/reinspections")
    for n in range(3):
        make_plan(world, scene, name=f"计划{n}", weekday=n + 1)
        visit(scene)
    assert (cost(f"{API}/plans"), cost(f"{API}/reinspections")) == one
    assert client.get(f"{API}/reinspections").json()["count"] == 8
