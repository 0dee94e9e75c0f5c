"""Fixed actors for every test (Healthchecks' alice/bob/charlie, ARCHITECTURE pattern 8).

A small city: 测试市 → 甲区 → 东街道 (street A) and 西街道 (street B), each with a community and two
grids with square polygons. The actors:

- ``admin``      superuser
- ``dispatcher`` 派遣员 of 东街道 (sees street A)
- ``worker``     网格员 of grid A1 (sees grid A1 only)
- ``handler``    staff of 东派出所, which serves 东街道
- ``outsider``   网格员 of grid B1 in 西街道: must get nothing of street A
- ``resident``   a plain account with no role (sees no area)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gongzhi.areas import services as area_services
from gongzhi.areas.models import Area, AreaLevel
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Department, Role, User

PASSWORD = "correct-horse-battery"


def square(lon: float, lat: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


@dataclass
class World:
    city: Area
    district: Area
    street_a: Area
    street_b: Area
    community_a: Area
    community_b: Area
    grid_a1: Area
    grid_a2: Area
    grid_b1: Area
    police_a: Department
    admin: User
    dispatcher: User
    worker: User
    handler: User
    outsider: User
    resident: User

    def areas_of_a(self) -> list[Area]:
        return [self.street_a, self.community_a, self.grid_a1, self.grid_a2]


def ensure_reference_data() -> None:
    """Re-run the seed migrations (idempotent): transactional tests flush the rows they made."""
    import importlib

    from django.apps import apps

    for module in ("gongzhi.areas.migrations.0002_default_levels", "gongzhi.orgs.migrations.0002_default_roles"):
        importlib.import_module(module).forwards(apps, None)


def build_world() -> World:
    ensure_reference_data()
    levels = {lvl.slug: lvl for lvl in AreaLevel.objects.all()}

    def area(level, parent, name, code, geom=None):
        return area_services.create_area(actor=None, level=levels[level], parent=parent, name=name, code=code,
                                         geometry=geom)

    city = area("city", None, "测试市", "990100", square(100.0, 30.0, 1.0))
    district = area("district", city, "甲区", "990101", square(100.0, 30.0, 1.0))
    street_a = area("street", district, "东街道", "990101001", square(100.0, 30.0, 0.5))
    street_b = area("street", district, "西街道", "990101002", square(100.5, 30.0, 0.5))
    community_a = area("community", street_a, "东一社区", "990101001001", square(100.0, 30.0, 0.2))
    community_b = area("community", street_b, "西一社区", "990101002001", square(100.5, 30.0, 0.2))
    grid_a1 = area("grid", community_a, "东一网格", "990101001001001", square(100.0, 30.0, 0.1))
    grid_a2 = area("grid", community_a, "东二网格", "990101001001002", square(100.1, 30.0, 0.1))
    grid_b1 = area("grid", community_b, "西一网格", "990101002001001", square(100.5, 30.0, 0.1))

    def user(username, display, **extra):
        return org_services.create_user(actor=None, username=username, password=PASSWORD, display_name=display,
                                        **extra)

    roles = {r.code: r for r in Role.objects.all()}
    admin = user("admin", "管理员", is_superuser=True, is_staff=True)
    dispatcher = user("dispatcher", "调度甲", phone="13800000001")
    worker = user("worker", "网格员甲", phone="13800000002")
    handler = user("handler", "民警甲")
    outsider = user("outsider", "网格员乙")
    resident = user("resident", "居民甲")
    org_services.assign_role(actor=None, user=dispatcher, area=street_a, role=roles["dispatcher"])
    org_services.assign_role(actor=None, user=worker, area=grid_a1, role=roles["grid_worker"])
    org_services.assign_role(actor=None, user=outsider, area=grid_b1, role=roles["grid_worker"])
    police_a = org_services.create_department(actor=None, name="东派出所", code="police-a", kind="police",
                                              areas=[street_a], home_area=street_a)
    org_services.create_department(actor=None, name="西派出所", code="police-b", kind="police", areas=[street_b],
                                   home_area=street_b)
    org_services.add_staff(actor=None, department=police_a, user=handler, title="民警")
    return World(city, district, street_a, street_b, community_a, community_b, grid_a1, grid_a2, grid_b1,
                 police_a, admin, dispatcher, worker, handler, outsider, resident)


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    """Each test starts with an empty per-process reference cache (core.refcache): rows a previous
    test wrote and rolled back must not be served from memory."""
    from gongzhi.core import refcache

    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def world(db) -> World:
    from gongzhi.areas import geo

    geo.forget_index()
    return build_world()


@pytest.fixture
def login(client):
    """``login(user)`` → the test client, logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(scope="session")
def live_server(django_db_setup, request):
    """pytest-django's live server, stopped before the test database is dropped (on PostgreSQL its
    open connection would otherwise block the drop)."""
    from pytest_django import live_server_helper

    server = live_server_helper.LiveServer(request.config.getvalue("liveserver") or "localhost")
    yield server
    server.stop()
