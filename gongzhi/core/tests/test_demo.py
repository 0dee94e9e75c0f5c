"""The demo city (``gongzhi demo``): it loads, is idempotent, nests correctly and its logins work."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from gongzhi.areas import geo
from gongzhi.areas.models import Area
from gongzhi.areas.services import area_at
from gongzhi.conftest import ensure_reference_data
from gongzhi.core import demo
from gongzhi.core.models import AuditLog
from gongzhi.orgs.models import Department, Membership, Staff, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def city() -> demo.DemoSummary:
    ensure_reference_data()
    geo.forget_index()
    return demo.build_demo_city()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Area, User, Department, Membership, Staff, AuditLog)}


def test_demo_loads(city):
    assert city.created
    assert dict(city.area_counts) == {"市": 1, "区县": 2, "街道/镇": 3, "社区/村": 10, "网格": 22, "楼栋/巷": 16}
    assert city.departments == 18
    assert city.people == len(demo.people())
    assert {login.username for login in city.logins} == {p.username for p in demo.LOGINS}
    assert Area.objects.get(code="150300").name == "乌海市"
    # Every area down to the grid has a polygon, and grids carry the 15-digit code.
    assert not Area.objects.filter(level__rank__lte=4, geometry__isnull=True).exists()
    assert all(len(code) == 15 for code in Area.objects.filter(level__slug="grid").values_list("code", flat=True))
    # Each street is served by its five departments, each department by its street.
    street = Area.objects.get(name="凤凰岭街道")
    assert set(street.departments.values_list("kind", flat=True)) == {
        "street_office", "police", "market", "enforcement", "judicial"}


def test_seventeen_grid_members_hold_the_four_heads_roster_in_fenghuang_alley(city):
    grids = Area.objects.filter(name__in=demo.FENGHUANG_GRID_NAMES)
    assert grids.count() == 3
    alley = Area.objects.none()
    for grid in grids:
        alley |= Area.objects.under(grid)
    roster = Membership.objects.active().filter(area__in=alley, role__code__in=demo.FOUR_HEADS_ROLES)
    assert roster.count() == 17
    assert roster.values("user").distinct().count() == 17
    assert set(roster.values_list("role__code", flat=True)) == set(demo.FOUR_HEADS_ROLES)
    for code in ("grid_worker", "informant", "yard_steward"):
        assert Membership.objects.filter(area__in=alley, role__code=code).exists()


def test_haibei_street_has_eight_communities_and_diamond_square(city):
    haibei = Area.objects.get(name="海北街道")
    communities = Area.objects.under(haibei).filter(level__slug="community")
    assert communities.count() == 8
    for community in communities:
        assert community.children.filter(level__slug="grid").count() == 2
    square = Area.objects.get(name="钻石广场")
    assert square.level.slug == "building" and square.is_under(haibei)


def test_every_child_polygon_lies_inside_its_parent(city):
    areas = {a.pk: a for a in Area.objects.under(Area.objects.get(code=demo.CITY_CODE))}
    checked = 0
    for area in areas.values():
        parent = areas.get(area.parent_id)
        if parent is None or not area.geometry or not parent.geometry:
            continue
        geo.check_inside(geo.parse_geometry(area.geometry), geo.parse_geometry(parent.geometry))
        checked += 1
    assert checked == len(areas) - 1


def test_running_twice_creates_nothing(city):
    before = counts()
    again = demo.build_demo_city()
    assert not again.created
    assert counts() == before
    assert again.logins == city.logins


def test_every_login_authenticates_by_username_and_phone(city):
    assert len(city.logins) == len(demo.LOGINS)
    for login in city.logins:
        assert login.password == demo.DEMO_PASSWORD
        by_name = authenticate(username=login.username, password=login.password)
        assert by_name is not None and by_name.username == login.username
        assert len(login.phone) == 11 and login.phone.startswith("13900")
        by_phone = authenticate(username=login.phone, password=login.password)
        assert by_phone == by_name
    assert authenticate(username="center", password="wrong-password-123") is None


def test_outsider_from_haibei_sees_nothing_of_fenghuangling(city):
    outsider = User.objects.get(username="hb-gridworker")
    street = Area.objects.get(name="凤凰岭街道")
    visible = Area.objects.visible_to(outsider)
    assert visible.exists()
    assert not visible.filter(path__startswith=street.path).exists()
    assert not Area.objects.visible_to(User.objects.get(username="resident")).exists()
    dispatcher = User.objects.get(username="fhl-dispatcher")
    assert set(Area.objects.visible_to(dispatcher)) == set(Area.objects.under(street))


def test_point_lookup_finds_the_fenghuang_grid(city):
    for grid in Area.objects.filter(name__in=demo.FENGHUANG_GRID_NAMES):
        found = area_at(grid.label_lon, grid.label_lat)
        assert found is not None
        assert found == grid or found.parent_id == grid.pk


def test_command_prints_the_login_table_and_reset_rebuilds(city):
    before = counts()
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    assert "演示账号 / Demo logins" in text and demo.DEMO_URL in text
    for person in demo.LOGINS:
        assert person.username in text and person.phone in text
    after = counts()
    # the city is unchanged; the only new audit rows are those of the demo's other parts, written by
    # their own service functions (the smart-dispatch model, premises, checklists, evaluation figures,
    # the joint-inspection station with its visits, the 喜邻 activities and merchant, co-decision's roll,
    # votes, project, meetings and 四议 matter, the registries' invented people and their entries, the portal's schedules, notices, 公开栏 and points)
    assert {k: v for k, v in after.items() if k != "AuditLog"} == {k: v for k, v in before.items() if k != "AuditLog"}
    new_rows = AuditLog.objects.order_by("-pk").values_list("action", flat=True)[:after["AuditLog"] - before["AuditLog"]]
    prefixes = ("router.", "premises.", "checklist.", "evaluation.", "inspection.", "points.", "deliberation.",
                "registries.", "portal.")
    assert [a for a in new_rows if not a.startswith(prefixes)] == []

    out = StringIO()
    call_command("load_demo", "--reset", stdout=out)
    assert "演示城市乌海市已载入" in out.getvalue()
    after = counts()
    assert {k: v for k, v in after.items() if k != "AuditLog"} == {
        k: v for k, v in before.items() if k != "AuditLog"}
    assert authenticate(username="fh-gridhead", password=demo.DEMO_PASSWORD) is not None


def test_existing_admin_is_kept(db):
    ensure_reference_data()
    User.objects.create_user("admin", password="their-own-secret-9")
    summary = demo.build_demo_city()
    admin = next(login for login in summary.logins if login.username == "admin")
    assert admin.password == ""
    assert authenticate(username="admin", password="their-own-secret-9") is not None
    demo.reset_demo_city()
    assert User.objects.filter(username="admin").exists()
