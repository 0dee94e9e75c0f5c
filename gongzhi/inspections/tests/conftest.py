"""A station on 东一社区 with a police + market team, a shop in grid A1 and a two-department checklist."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gongzhi.checklists import services as checklist_services
from gongzhi.checklists.tests.helpers import row, workbook
from gongzhi.orgs import services as org_services

IN_A1 = (100.05, 30.05)


@dataclass
class Scene:
    station: object
    team: object
    premises: object
    version: object
    police: object
    market: object
    market_officer: object
    second_officer: object


def checklist_bytes() -> bytes:
    return workbook([
        row("select_one yn", "extinguisher", "灭火器在有效期内", required="yes", department="police",
            severity="major", days=3, legal="《中华人民共和国消防法》第十六条"),
        row("select_one yn", "exits", "疏散通道畅通", required="yes", department="police", severity="critical",
            days=1, legal="《中华人民共和国消防法》第二十八条"),
        row("select_one yn", "licence", "营业执照亮照经营", required="yes", department="market", severity="minor",
            days=1, legal="《市场主体登记管理条例》第三十六条"),
        row("integer", "staff", "从业人员数", constraint=". >= 0 and . <= 500", message="人数应在 0 到 500 之间"),
        row("image", "shopfront", "门头照片"),
    ])


@pytest.fixture
def scene(world) -> Scene:
    return build_scene(world)


def build_scene(world) -> Scene:
    """The scene without pytest (also for tests outside this app: see ``fuzz_objects.py``)."""
    import importlib

    from django.apps import apps

    from gongzhi.inspections import services
    from gongzhi.premises import services as premises_services
    from gongzhi.premises.models import PremisesType

    importlib.import_module("gongzhi.premises.migrations.0002_default_types").forwards(apps, None)
    market = org_services.create_department(actor=None, name="东市场监管所", code="market-a", kind="market",
                                            areas=[world.street_a], home_area=world.street_a)
    market_officer = org_services.create_user(actor=None, username="market", password="x-very-long-pass",
                                              display_name="市场监管甲")
    second_officer = org_services.create_user(actor=None, username="police2", password="x-very-long-pass",
                                              display_name="民警乙")
    org_services.add_staff(actor=None, department=market, user=market_officer)
    org_services.add_staff(actor=None, department=world.police_a, user=second_officer)
    station = services.create_station(actor=world.admin, area=world.community_a)
    team = services.create_team(actor=world.admin, station=station, name="第一小组",
                                members=[(world.handler, world.police_a), (market_officer, market)])
    premises = premises_services.create_premises(actor=world.admin, name="凤凰便民超市",
                                                 type=PremisesType.objects.get(code="shop"),
                                                 lon=IN_A1[0], lat=IN_A1[1])
    checklist = checklist_services.create_checklist(actor=None, code="joint-test", name="联合检查表")
    version = checklist_services.upload_version(checklist, checklist_bytes(), actor=None)
    version = checklist_services.activate_version(version, actor=None)
    return Scene(station, team, premises, version, world.police_a, market, market_officer, second_officer)
