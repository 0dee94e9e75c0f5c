"""Re-inspections under parallel requests, on PostgreSQL (real row locks and parallel connections)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from gongzhi.cases.tests.test_concurrency import run_parallel
from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.inspections import followup, services
from gongzhi.inspections.models import HazardEvent, Notice, Reinspection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections"),
]

FAIL = {"extinguisher": "no", "exits": "no", "licence": "no", "staff": 3}


@pytest.fixture
def notice(world, scene):
    import importlib

    from django.apps import apps

    # Transactional tests flush the tables: put the default ladder back (the seed migration, idempotent).
    importlib.import_module("gongzhi.inspections.migrations.0003_default_ladder").add_ladder(apps, None)
    v = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises, version=scene.version,
                              answers=FAIL, finished_at=datetime.datetime(2026, 9, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    return v.notices.get(department=scene.police)


def test_parallel_scheduling_never_doubles(world, scene, notice):
    due = datetime.datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    results = run_parallel(4, lambda i: followup.schedule_reinspection(Notice.objects.get(pk=notice.pk), 2, due).pk)
    assert all(r[0] == "ok" for r in results), results
    assert len({r[1] for r in results}) == 1
    assert Reinspection.objects.filter(notice=notice, round=2).count() == 1
    assert AuditLog.objects.filter(action="inspection.reinspection.schedule").count() == 1


def test_two_people_submitting_one_reinspection_at_once_one_wins(world, scene, notice):
    round1 = Reinspection.objects.get(notice=notice, round=1)
    exits = notice.hazards.get(item_name="exits")
    results = run_parallel(2, lambda i: followup.reinspect(
        actor=world.handler, reinspection=Reinspection.objects.get(pk=round1.pk), fixed=[exits.pk]).pk)
    assert sorted(r[0] for r in results) == ["error", "ok"], results
    assert isinstance(next(r[1] for r in results if r[0] == "error"), Conflict)
    assert HazardEvent.objects.filter(kind="fixed").count() == 1
    assert HazardEvent.objects.filter(kind="escalated").count() == 1
    assert Reinspection.objects.filter(notice=notice).count() == 2  # round 1 done, round 2 due, once
