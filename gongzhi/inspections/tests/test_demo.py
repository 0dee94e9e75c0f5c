"""The demo: a station with the four 凤凰岭 departments in one team and past visits with notices."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.django_db
def test_demo_station_team_and_visits():
    from django.apps import apps

    from gongzhi.conftest import ensure_reference_data
    from gongzhi.core.demo import build_demo_city
    from gongzhi.inspections.demo import build_demo_joint_inspections
    from gongzhi.inspections.models import Hazard, Notice, Plan, Station, Visit
    from gongzhi.premises.demo import build_demo_inspections

    ensure_reference_data()
    importlib.import_module("gongzhi.premises.migrations.0002_default_types").forwards(apps, None)
    build_demo_city()
    build_demo_inspections()
    assert build_demo_joint_inspections() == 3
    station = Station.objects.get()
    assert station.area.name == "新城社区"
    assert sorted(m.department.kind for m in station.teams.get().members.all()) == [
        "enforcement", "market", "police", "street_office"]
    assert Visit.objects.count() == 3
    # 小巷烧烤: police, market and enforcement each issue a notice; 快乐网吧: police and street office.
    assert Notice.objects.count() == 5
    assert Hazard.objects.count() == 5
    # The first visit was re-inspected: the police hazard fixed, the market one escalated to 提醒.
    statuses = {(h.department.code, h.status, h.escalation_level) for h in Hazard.objects.filter(
        premises__name="小巷烧烤")}
    assert statuses == {("fhl-police", "fixed", 0), ("fhl-market", "escalated", 1), ("fhl-enforcement", "open", 0)}
    assert Plan.objects.get().weekday == 3
    assert build_demo_joint_inspections() == 0
