"""A recorded visit for tests outside this app that need one (the API fuzzer's aimed ids):
``visit_in_street_a(world)`` builds the scene of ``conftest.py`` — a station on 东一社区, a police +
market team, a shop in grid A1, a two-department checklist — and records a visit with two notices."""

from __future__ import annotations


def visit_in_street_a(world):
    import importlib

    from django.apps import apps

    from gongzhi.checklists import services as checklist_services
    from gongzhi.inspections import services
    from gongzhi.inspections.tests.conftest import IN_A1, checklist_bytes
    from gongzhi.orgs import services as org_services
    from gongzhi.premises import services as premises_services
    from gongzhi.premises.models import PremisesType

    importlib.import_module("gongzhi.premises.migrations.0002_default_types").forwards(apps, None)
    market = org_services.create_department(actor=None, name="东市场监管所", code="market-a", kind="market",
                                            areas=[world.street_a], home_area=world.street_a)
    officer = org_services.create_user(actor=None, username="market", password="x-very-long-pass",
                                       display_name="市场监管甲")
    org_services.add_staff(actor=None, department=market, user=officer)
    station = services.create_station(actor=None, area=world.community_a)
    team = services.create_team(actor=None, station=station, name="第一小组",
                                members=[(world.handler, world.police_a), (officer, market)])
    shop = premises_services.create_premises(actor=None, name="凤凰便民超市",
                                             type=PremisesType.objects.get(code="shop"), lon=IN_A1[0], lat=IN_A1[1])
    checklist = checklist_services.create_checklist(actor=None, code="joint-fuzz", name="联合检查表")
    version = checklist_services.activate_version(
        checklist_services.upload_version(checklist, checklist_bytes(), actor=None), actor=None)
    return services.record_visit(actor=None, team=team, premises=shop, version=version,
                                 answers={"extinguisher": "no", "exits": "yes", "licence": "no", "staff": 2},
                                 acknowledged_by="王老板")
