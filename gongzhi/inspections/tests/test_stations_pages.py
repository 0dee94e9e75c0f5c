"""The station and team pages: a manager creates a station and a team with two members, a second member
of one department is refused at the field, removal and stopping are audited; a team member reads
their station only (403 on a change), an outsider gets 404, a resident 403/404; bad input stores
nothing. Also the two services behind them: ``remove_member`` and ``set_team_active``."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gongzhi.core.models import AuditLog
from gongzhi.inspections import services
from gongzhi.inspections.models import Station, Team, TeamMember
from gongzhi.orgs import services as org_services


@pytest.fixture
def market(world):
    """东市场监管所 (serves street A) with one officer."""
    department = org_services.create_department(actor=None, name="东市场监管所", code="market-a", kind="market",
                                                areas=[world.street_a], home_area=world.street_a)
    officer = org_services.create_user(actor=None, username="market", password="x-very-long-pass",
                                       display_name="市场监管甲")
    org_services.add_staff(actor=None, department=department, user=officer)
    return department, officer


@pytest.fixture
def second_police(world):
    user = org_services.create_user(actor=None, username="police2", password="x-very-long-pass",
                                    display_name="民警乙")
    org_services.add_staff(actor=None, department=world.police_a, user=user)
    return user


@pytest.fixture
def station_team(world, market):
    department, officer = market
    station = services.create_station(actor=world.admin, area=world.community_a)
    team = services.create_team(actor=world.admin, station=station, name="第一小组",
                                members=[(world.handler, world.police_a), (officer, department)])
    return station, team


@pytest.fixture
def member(world, station_team):
    """A team member with no jurisdiction at all (staff of a department serving no area)."""
    _station, team = station_team
    dept = org_services.create_department(actor=None, name="东街道办", code="office-a", kind="street_office")
    user = org_services.create_user(actor=None, username="clerk", password="x-very-long-pass", display_name="街道干部甲")
    org_services.add_staff(actor=None, department=dept, user=user)
    services.add_member(actor=world.admin, team=team, user=user, department=dept)
    return user


def _station_count():
    return Station.objects.count()


# ------------------------------------------------------------------------------------------- pages


def test_manager_creates_a_station_and_a_team_with_two_members(world, market, login):
    department, officer = market
    c = login(world.dispatcher)  # 派遣员 of 东街道: covers 东一社区
    page = c.get("/inspections/stations/")
    text = page.content.decode()
    assert page.status_code == 200 and "建立工作站" in text and "东一社区" in text
    assert "西一社区" not in text  # not in the dispatcher's jurisdiction
    created = c.post("/inspections/stations/", {"area": world.community_a.pk, "name": ""})
    station = Station.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/inspections/stations/{station.pk}/"
    assert station.name == "东一社区星火工作站" and station.area == world.community_a
    assert AuditLog.objects.filter(action="inspection.station.create", actor=world.dispatcher).count() == 1

    detail = c.get(f"/inspections/stations/{station.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "建立检查小组" in text
    assert "东派出所" in text and "东市场监管所" in text and "西派出所" not in text  # departments serving it
    assert "民警甲" in text and "市场监管甲" in text
    ok = c.post(f"/inspections/stations/{station.pk}/teams/", {
        "name": "第一小组", f"dept_{world.police_a.pk}": world.handler.pk, f"dept_{department.pk}": officer.pk})
    assert ok.status_code == 302
    team = Team.objects.get(station=station)
    assert team.name == "第一小组"
    assert set(team.members.values_list("user_id", "department_id")) == {
        (world.handler.pk, world.police_a.pk), (officer.pk, department.pk)}
    assert AuditLog.objects.filter(action="inspection.team.add_member", actor=world.dispatcher).count() == 2
    # the list shows the station, its team and members (name, department)
    text = c.get("/inspections/stations/").content.decode()
    assert "东一社区星火工作站" in text and "第一小组" in text and "民警甲" in text and "东市场监管所" in text
    # no community left without a station: no create form
    assert "建立工作站" not in text
    # the plans page links here
    assert "/inspections/stations/" in c.get("/inspections/plans/").content.decode()


def test_a_second_member_of_one_department_is_refused_at_the_field(world, station_team, second_police, login):
    station, team = station_team
    c = login(world.dispatcher)
    response = c.post(f"/inspections/teams/{team.pk}/members/",
                      {"department": world.police_a.pk, "user": second_police.pk})
    text = response.content.decode()
    assert response.status_code == 400
    assert "小组中已有 东派出所 的成员，每个部门只能有一名成员" in text
    assert f'id="id_t{team.pk}_department"' in text  # the form is shown again, at that team
    assert team.members.count() == 2 and not team.members.filter(user=second_police).exists()
    assert not AuditLog.objects.filter(action="inspection.team.add_member", actor=world.dispatcher).exists()


def test_add_a_member_and_the_service_messages(world, station_team, market, second_police, login):
    station, team = station_team
    department, officer = market
    other = services.create_team(actor=world.admin, station=station, name="第二小组")
    c = login(world.handler)  # staff of 东派出所, which serves street A: a manager too
    # a user who is not staff of the chosen department
    wrong = c.post(f"/inspections/teams/{other.pk}/members/", {"department": department.pk,
                                                               "user": second_police.pk})
    assert wrong.status_code == 400 and "民警乙 不是 东市场监管所 的人员" in wrong.content.decode()
    assert not other.members.exists()
    ok = c.post(f"/inspections/teams/{other.pk}/members/", {"department": world.police_a.pk,
                                                            "user": second_police.pk})
    assert ok.status_code == 302 and ok["Location"] == f"/inspections/stations/{station.pk}/"
    assert other.members.get().user == second_police


def test_bad_input_stores_nothing(world, station_team, login):
    station, team = station_team
    c = login(world.dispatcher)
    before = AuditLog.objects.filter(action__startswith="inspection.").count()
    # station: a community outside the jurisdiction, one that has a station, a street, nothing, too long a name
    for data in ({"area": world.community_b.pk}, {"area": world.community_a.pk}, {"area": world.street_a.pk},
                 {}, {"area": "abc"}):
        response = c.post("/inspections/stations/", data)
        assert response.status_code == 400
        text = response.content.decode()
        assert "请选择您管辖范围内尚无工作站的社区" in text or "请选择社区" in text
    assert _station_count() == 1
    # a team without a name, one with a taken name, a too long one, a member from outside the department
    for data, message in (({"name": ""}, "名称不能为空"),
                          ({"name": "第一小组"}, "本工作站已有名为 第一小组 的小组"),
                          ({"name": "长" * 101}, "名称不能超过 100 个字符"),
                          ({"name": "新组", f"dept_{world.police_a.pk}": world.outsider.pk}, "请选择 东派出所 的人员")):
        response = c.post(f"/inspections/stations/{station.pk}/teams/", data)
        assert response.status_code == 400 and message in response.content.decode()
    # one person standing for two departments: refused by the service, the team is not kept either
    market = team.members.exclude(department=world.police_a).get().department
    org_services.add_staff(actor=None, department=market, user=world.handler)
    twice = c.post(f"/inspections/stations/{station.pk}/teams/", {
        "name": "新组", f"dept_{world.police_a.pk}": world.handler.pk, f"dept_{market.pk}": world.handler.pk})
    assert twice.status_code == 400 and "该人员已在小组中" in twice.content.decode()
    assert list(Team.objects.values_list("name", flat=True)) == ["第一小组"]
    # a member: nothing chosen, a department not serving the community
    west = org_services.create_department(actor=None, name="西市场监管所", code="market-b", kind="market",
                                          areas=[world.street_b])
    empty = c.post(f"/inspections/teams/{team.pk}/members/", {})
    assert empty.status_code == 400 and "请选择部门" in empty.content.decode() and "请选择人员" in empty.content.decode()
    far = c.post(f"/inspections/teams/{team.pk}/members/", {"department": west.pk, "user": world.outsider.pk})
    assert far.status_code == 400 and "请选择服务本社区的部门" in far.content.decode()
    # activate with garbage
    garbage = c.post(f"/inspections/teams/{team.pk}/active/", {"active": "maybe"})
    assert garbage.status_code == 302 and Team.objects.get(pk=team.pk).is_active
    assert "请选择启用或停用" in c.get(f"/inspections/stations/{station.pk}/").content.decode()
    # ids out of range
    assert c.get(f"/inspections/stations/{2**64}/").status_code == 404
    assert c.post(f"/inspections/members/{2**64}/remove/").status_code == 404
    assert team.members.count() == 2
    assert AuditLog.objects.filter(action__startswith="inspection.").count() == before


def test_remove_a_member_after_confirming_and_stop_a_team(world, station_team, market, login):
    station, team = station_team
    department, officer = market
    member = team.members.get(user=officer)
    c = login(world.dispatcher)
    detail = c.get(f"/inspections/stations/{station.pk}/").content.decode()
    url = f"/inspections/members/{member.pk}/remove/"
    assert url in detail and "停用该小组" in detail
    confirm = c.get(url)
    assert confirm.status_code == 200 and "确定将 市场监管甲（东市场监管所）移出“第一小组”吗？" in confirm.content.decode()
    assert TeamMember.objects.filter(pk=member.pk).exists()  # GET changes nothing
    removed = c.post(url)
    assert removed.status_code == 302 and not TeamMember.objects.filter(pk=member.pk).exists()
    row = AuditLog.objects.get(action="inspection.team.remove_member")
    assert row.actor == world.dispatcher and row.object_id == str(team.pk)
    assert row.before == {"user": officer.pk, "department": department.pk}
    assert c.post(url).status_code == 404  # gone
    # now the market department may have a new member
    assert c.post(f"/inspections/teams/{team.pk}/members/", {"department": department.pk,
                                                             "user": officer.pk}).status_code == 302

    stopped = c.post(f"/inspections/teams/{team.pk}/active/", {"active": "0"})
    assert stopped.status_code == 302 and not Team.objects.get(pk=team.pk).is_active
    assert AuditLog.objects.filter(action="inspection.team.deactivate", actor=world.dispatcher).count() == 1
    text = c.get(f"/inspections/stations/{station.pk}/").content.decode()
    assert "已停用" in text and "重新启用该小组" in text and "添加成员" not in text
    c.post(f"/inspections/teams/{team.pk}/active/", {"active": "0"})  # again: no change, no row
    assert AuditLog.objects.filter(action="inspection.team.deactivate").count() == 1
    c.post(f"/inspections/teams/{team.pk}/active/", {"active": "1"})
    assert Team.objects.get(pk=team.pk).is_active
    assert AuditLog.objects.filter(action="inspection.team.activate", actor=world.dispatcher).count() == 1


def test_a_member_reads_their_station_and_may_change_nothing(world, station_team, member, market, login):
    station, team = station_team
    officer_member = team.members.get(user=market[1])
    m = login(member)
    listing = m.get("/inspections/stations/")
    text = listing.content.decode()
    assert listing.status_code == 200 and "东一社区星火工作站" in text and "只读" in text
    assert "建立工作站" not in text
    detail = m.get(f"/inspections/stations/{station.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "民警甲" in text and "街道干部甲" in text
    assert "建立检查小组" not in text and "添加成员" not in text and "移除" not in text and "停用该小组" not in text
    before = AuditLog.objects.count()
    assert m.post("/inspections/stations/", {"area": world.community_b.pk}).status_code == 403
    assert m.post(f"/inspections/stations/{station.pk}/teams/", {"name": "x"}).status_code == 403
    assert m.post(f"/inspections/teams/{team.pk}/members/", {"department": world.police_a.pk,
                                                             "user": world.handler.pk}).status_code == 403
    url = f"/inspections/members/{officer_member.pk}/remove/"
    assert m.get(url).status_code == 403 and m.post(url).status_code == 403
    assert m.post(f"/inspections/teams/{team.pk}/active/", {"active": "0"}).status_code == 403
    assert AuditLog.objects.count() == before and team.members.count() == 3 and Team.objects.get().is_active


def test_outsiders_get_404_and_residents_403(world, station_team, login, client):
    station, team = station_team
    member = team.members.first()
    urls_get = [f"/inspections/stations/{station.pk}/", f"/inspections/members/{member.pk}/remove/"]
    urls_post = [f"/inspections/stations/{station.pk}/teams/", f"/inspections/teams/{team.pk}/members/",
                 f"/inspections/members/{member.pk}/remove/", f"/inspections/teams/{team.pk}/active/"]
    assert client.get("/inspections/stations/").status_code == 302  # to the login page
    for user in (world.outsider, world.worker):  # grid B1; grid A1 only (not the whole community)
        c = login(user)
        listing = c.get("/inspections/stations/")
        assert listing.status_code == 200 and "东一社区星火工作站" not in listing.content.decode()
        for url in urls_get:
            assert c.get(url).status_code == 404
        for url in urls_post:
            assert c.post(url, {"name": "x", "active": "0"}).status_code == 404
    outsider_page = login(world.outsider).get("/inspections/stations/").content.decode()
    assert "建立工作站" not in outsider_page  # a grid worker of B1 does not cover the community 西一社区
    r = login(world.resident)
    assert r.get("/inspections/stations/").status_code == 403
    assert r.post("/inspections/stations/", {"area": world.community_a.pk}).status_code == 403
    for url in urls_get:
        assert r.get(url).status_code == 404
    for url in urls_post:
        assert r.post(url, {"active": "0"}).status_code == 404
    assert team.members.count() == 2 and Team.objects.get().is_active


# ---------------------------------------------------------------------------------------- services


def test_remove_member_service(world, station_team, market):
    station, team = station_team
    member = team.members.get(user=market[1])
    with pytest.raises(PermissionDenied):
        services.remove_member(actor=world.outsider, team=team, member=member)
    other = services.create_team(actor=world.admin, station=station, name="第二小组")
    with pytest.raises(ValidationError) as exc:
        services.remove_member(actor=world.admin, team=other, member=member)
    assert exc.value.message_dict == {"member": ["该人员不是本小组成员"]}
    assert TeamMember.objects.filter(pk=member.pk).exists()
    services.remove_member(actor=world.handler, team=team, member=member)
    assert not TeamMember.objects.filter(pk=member.pk).exists()
    assert AuditLog.objects.filter(action="inspection.team.remove_member", actor=world.handler).count() == 1
    with pytest.raises(ValidationError) as exc:
        services.remove_member(actor=world.handler, team=team, member=member)
    assert exc.value.message_dict == {"member": ["该人员已不在小组中"]}
    assert AuditLog.objects.filter(action="inspection.team.remove_member").count() == 1


def test_set_team_active_service(world, station_team):
    _station, team = station_team
    with pytest.raises(PermissionDenied):
        services.set_team_active(actor=world.outsider, team=team, active=False)
    assert Team.objects.get(pk=team.pk).is_active
    services.set_team_active(actor=None, team=team, active=False)
    assert not Team.objects.get(pk=team.pk).is_active and not team.is_active
    row = AuditLog.objects.get(action="inspection.team.deactivate")
    assert row.actor is None and row.before == {"is_active": True} and row.after == {"is_active": False}
    services.set_team_active(actor=world.dispatcher, team=team, active=False)
    assert AuditLog.objects.filter(action__startswith="inspection.team.").exclude(
        action__in=["inspection.team.create", "inspection.team.add_member"]).count() == 1
    services.set_team_active(actor=world.dispatcher, team=team, active=True)
    assert Team.objects.get(pk=team.pk).is_active
    assert AuditLog.objects.filter(action="inspection.team.activate", actor=world.dispatcher).count() == 1
