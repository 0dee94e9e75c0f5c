"""A recorded visit for tests outside this app that need one (the API fuzzer's aimed ids):
``visit_in_street_a(world)`` builds the scene of ``conftest.py`` — a station on 东一社区, a police +
market team, a shop in grid A1, a two-department checklist — and records a visit with two notices."""

from __future__ import annotations


def visit_in_street_a(world):
    from gongzhi.inspections import services
    from gongzhi.inspections.tests.conftest import build_scene

    scene = build_scene(world)
    return services.record_visit(actor=None, team=scene.team, premises=scene.premises, version=scene.version,
                                 answers={"extinguisher": "no", "exits": "yes", "licence": "no", "staff": 2},
                                 acknowledged_by="王老板")
