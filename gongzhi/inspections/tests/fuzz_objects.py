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


def plan_in_street_a(world, visit) -> dict:
    """A plan of the visit's team (next Wednesday a day of it) and the visit's first re-inspection and
    hazard: the API's path parameter names (``plan_id``, ``date``, ``reinspection_id``, ``hazard_id``)."""
    import datetime

    from django.utils import timezone

    from gongzhi.inspections import plans
    from gongzhi.inspections.models import Plan, Reinspection

    plan = plans.create_plan(actor=world.admin, team=visit.team, name="周三例行检查", checklist=visit.checklist_version.checklist,
                             weekday=Plan.Weekday.WEDNESDAY)
    today = timezone.localdate()
    wednesday = today + datetime.timedelta(days=(2 - today.weekday()) % 7 or 7)
    return {"plan_id": plan.pk, "date": wednesday.isoformat(),
            "reinspection_id": Reinspection.objects.filter(notice__visit=visit).order_by("pk").first().pk,
            "hazard_id": visit.hazards.order_by("pk").first().pk}
