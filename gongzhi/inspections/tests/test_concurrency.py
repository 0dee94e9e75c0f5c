"""Notice numbers under parallel visits, on PostgreSQL (real row locks and parallel connections)."""

from __future__ import annotations

import pytest
from django.db import connection

from gongzhi.cases.tests.test_concurrency import run_parallel
from gongzhi.inspections import services
from gongzhi.inspections.models import Notice

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections"),
]


def test_parallel_visits_get_consecutive_numbers_without_doubles(world, scene):
    answers = {"extinguisher": "no", "exits": "yes", "licence": "no", "staff": 1}
    results = run_parallel(4, lambda i: services.record_visit(
        actor=None, team=scene.team, premises=scene.premises, version=scene.version, answers=answers).pk)
    assert all(r[0] == "ok" for r in results), results
    for department, prefix in ((scene.police, "东派出所"), (scene.market, "东市场监管所")):
        numbers = sorted(Notice.objects.filter(department=department).values_list("number", flat=True))
        year = Notice.objects.filter(department=department).first().year
        assert numbers == [f"{prefix}〔{year}〕第000{i}号" for i in (1, 2, 3, 4)]
