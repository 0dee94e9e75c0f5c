"""The plan pages: 本周检查 for a team member (built lazily, links to the visit page), the plans for a
manager (create with form errors, edit, rebuild, stop), and what outsiders get (403 / 404)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.inspections import plans, services
from gongzhi.inspections.models import Plan, PlanDay, PlanTarget
from gongzhi.orgs import services as org_services
from gongzhi.premises.models import PremisesType


@pytest.fixture
def member(world, scene):
    """A team member whose department serves the other street: a member, not a manager of station A."""
    west = org_services.create_department(actor=None, name="西市场监管所", code="market-b", kind="market",
                                          areas=[world.street_b], home_area=world.street_b)
    user = org_services.create_user(actor=None, username="westmarket", password="x-very-long-pass",
                                    display_name="市场监管乙")
    org_services.add_staff(actor=None, department=west, user=user)
    services.add_member(actor=world.admin, team=scene.team, user=user, department=west)
    return user


@pytest.fixture
def plan(world, scene):
    today = timezone.localdate()
    return plans.create_plan(actor=world.admin, team=scene.team, name="每周例行检查",
                             checklist=scene.version.checklist, weekday=today.isoweekday())


def test_week_page_builds_today_and_links_to_the_visit(world, scene, member, plan, login):
    response = login(member).get("/inspections/")
    assert response.status_code == 200
    day = PlanDay.objects.get(plan=plan, date=timezone.localdate())
    target = day.targets.get()
    assert target.premises == scene.premises and target.reason == PlanTarget.Reason.NEVER
    text = response.content.decode()
    assert "本周检查" in text and "凤凰便民超市" in text and "从未检查" in text
    assert f"?target={target.pk}" in text and "开始检查" in text
    # the second view does not build again
    login(member).get("/inspections/")
    assert AuditLog.objects.filter(action="inspection.plan.build").count() == 1


def test_week_page_shows_done_targets_and_other_weeks(world, scene, member, plan, login):
    day = plans.build_day(plan, timezone.localdate())
    answers = {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": 1}
    v = services.record_visit(actor=member, team=scene.team, premises=scene.premises, version=scene.version,
                              answers=answers)
    plans.mark_visited(v)
    text = login(member).get("/inspections/").content.decode()
    assert "已检查 1 / 1" in text and "开始检查" not in text
    last_year = timezone.localdate() - datetime.timedelta(days=365)
    response = login(member).get(f"/inspections/?week={last_year.isoformat()}")
    assert response.status_code == 200 and "该日未生成检查名单" in response.content.decode()
    assert PlanDay.objects.filter(plan=plan).count() == 1 and day.targets.get().visit == v  # past: never built
    assert login(member).get("/inspections/?week=garbage").status_code == 200


def test_who_may_see_the_pages(world, scene, member, plan, login, client):
    assert client.get("/inspections/").status_code == 302  # to the login page
    assert login(world.resident).get("/inspections/").status_code == 403
    assert login(world.resident).get("/inspections/plans/").status_code == 403
    outsider = login(world.outsider)
    assert outsider.get("/inspections/").status_code == 200  # works in an area, in no team
    assert "每周例行检查" not in outsider.get("/inspections/plans/").content.decode()
    for url in (f"/inspections/plans/{plan.pk}/", f"/inspections/plans/{plan.pk}/edit/"):
        assert outsider.get(url).status_code == 404
    for url in (f"/inspections/plans/{plan.pk}/build/", f"/inspections/plans/{plan.pk}/deactivate/"):
        assert outsider.post(url).status_code == 404
    # the member reads their team's plan, may not change it
    m = login(member)
    assert "每周例行检查" in m.get("/inspections/plans/").content.decode()
    detail = m.get(f"/inspections/plans/{plan.pk}/")
    assert detail.status_code == 200 and "重新生成检查名单" not in detail.content.decode()
    assert m.get(f"/inspections/plans/{plan.pk}/edit/").status_code == 403
    assert m.post(f"/inspections/plans/{plan.pk}/deactivate/").status_code == 403
    assert m.post(f"/inspections/plans/{plan.pk}/build/", {"date": "2027-01-01"}).status_code == 403
    assert Plan.objects.get(pk=plan.pk).is_active and not PlanDay.objects.exists()
    new = m.get("/inspections/plans/new/")  # a jurisdiction (street B), but no team there to plan for
    assert new.status_code == 200 and "还没有检查小组" in new.content.decode()
    assert login(world.resident).get("/inspections/plans/new/").status_code == 403
    assert login(world.worker).get(f"/inspections/plans/{plan.pk}/").status_code == 404  # grid A1 only


def test_manager_creates_a_plan_with_form_errors_first(world, scene, login):
    c = login(world.dispatcher)
    page = c.get(f"/inspections/plans/new/?team={scene.team.pk}")
    assert page.status_code == 200 and "第一小组" in page.content.decode()
    bad = c.post("/inspections/plans/new/", {"team": scene.team.pk, "name": "", "weekday": "9",
                                               "checklist": scene.version.checklist.pk, "revisit_days": "0",
                                               "max_targets": "abc"})
    text = bad.content.decode()
    assert bad.status_code == 200
    for message in ("名称不能为空", "检查日应为星期一到星期日", "距上次检查天数至少为 1", "请填写整数"):
        assert message in text
    assert not Plan.objects.exists()
    other_station_team = c.post("/inspections/plans/new/", {"team": 10**6, "name": "x", "weekday": "3",
                                                             "checklist": scene.version.checklist.pk,
                                                             "revisit_days": "30", "max_targets": "5"})
    assert "请选择您管辖范围内的检查小组" in other_station_team.content.decode() and not Plan.objects.exists()
    shop = PremisesType.objects.get(code="shop")
    ok = c.post("/inspections/plans/new/", {"team": scene.team.pk, "name": "周三商铺", "weekday": "3",
                                             "checklist": scene.version.checklist.pk, "premises_types": [shop.pk],
                                             "min_risk_level": "", "revisit_days": "60",
                                             "include_open_hazards": "on", "max_targets": "15"})
    plan = Plan.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/inspections/plans/{plan.pk}/"
    assert (plan.weekday, plan.revisit_days, plan.max_targets, plan.include_open_hazards) == (3, 60, 15, True)
    assert list(plan.premises_types.all()) == [shop]
    assert AuditLog.objects.filter(action="inspection.plan.create", actor=world.dispatcher).count() == 1


def test_manager_edits_rebuilds_and_stops(world, scene, plan, login):
    c = login(world.handler)  # staff of 东派出所, which serves street A
    page = c.get(f"/inspections/plans/{plan.pk}/")
    assert page.status_code == 200 and "重新生成检查名单" in page.content.decode()
    form = c.get(f"/inspections/plans/{plan.pk}/edit/")
    assert form.status_code == 200 and "每周例行检查" in form.content.decode()
    bad = c.post(f"/inspections/plans/{plan.pk}/edit/", {"name": "改名", "weekday": str(plan.weekday),
                                                         "checklist": scene.version.checklist.pk,
                                                         "revisit_days": "30", "max_targets": "999"})
    assert "每次最多场所数不能超过 200" in bad.content.decode()
    assert Plan.objects.get(pk=plan.pk).name == "每周例行检查"
    saved = c.post(f"/inspections/plans/{plan.pk}/edit/", {"name": "改名", "weekday": str(plan.weekday),
                                                           "checklist": scene.version.checklist.pk,
                                                           "min_risk_level": "high", "revisit_days": "30",
                                                           "max_targets": "10"})
    assert saved.status_code == 302
    plan.refresh_from_db()
    assert (plan.name, plan.min_risk_level, plan.max_targets, plan.include_open_hazards) == ("改名", "high", 10, False)
    today = timezone.localdate()
    wrong = today + datetime.timedelta(days=1)
    c.post(f"/inspections/plans/{plan.pk}/build/", {"date": wrong.isoformat()})
    assert not PlanDay.objects.exists()
    built = c.post(f"/inspections/plans/{plan.pk}/build/", {"date": today.isoformat()}, follow=True)
    assert built.status_code == 200 and PlanDay.objects.filter(plan=plan, date=today).exists()
    assert "已生成" in built.content.decode()
    assert c.post(f"/inspections/plans/{plan.pk}/deactivate/").status_code == 302
    assert not Plan.objects.get(pk=plan.pk).is_active
    assert c.get(f"/inspections/plans/{plan.pk}/").status_code == 200


def test_visit_link_uses_the_visit_url_name_when_it_exists(world, scene, plan):
    from django.urls import NoReverseMatch, reverse

    from gongzhi.inspections.plan_views import VISIT_NEW_FALLBACK, visit_url

    day = plans.build_day(plan, timezone.localdate())
    target = day.targets.get()
    try:
        base = reverse("inspections:visit_new")
    except NoReverseMatch:
        base = VISIT_NEW_FALLBACK
    assert visit_url(target) == f"{base}?target={target.pk}"


def test_menu_link_for_area_staff_and_for_team_members_without_a_jurisdiction(world, scene, plan, login):
    link = 'href="/inspections/">联合检查</a>'
    assert link in login(world.dispatcher).get("/").content.decode()
    assert link not in login(world.resident).get("/").content.decode()
    nowhere = org_services.create_department(actor=None, name="区消防救援大队", code="fire-x", kind="fire")
    firefighter = org_services.create_user(actor=None, username="fire", password="x-very-long-pass",
                                           display_name="消防员甲")
    org_services.add_staff(actor=None, department=nowhere, user=firefighter)
    services.add_member(actor=world.admin, team=scene.team, user=firefighter, department=nowhere)
    c = login(firefighter)
    assert link in c.get("/").content.decode()
    week = c.get("/inspections/")
    assert week.status_code == 200 and "凤凰便民超市" in week.content.decode()
