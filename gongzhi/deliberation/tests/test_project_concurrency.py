"""Project races on PostgreSQL (real row locks, one connection per thread): progress reported from
several phones at once never goes back and completes the project once; statements computed twice at
once leave one set that adds up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gongzhi.deliberation import projects
from gongzhi.deliberation.models import Project, ProjectUpdate, ShareStatement
from gongzhi.race_testing import run_parallel

from .test_projects import make_roll, new_project

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections"),
]




def test_parallel_progress_never_goes_back_and_completes_once(world):
    project = new_project(world)
    levels = [10, 30, 50, 70, 100, 100, 90, 100]
    results = run_parallel(len(levels), lambda i: projects.add_update(
        Project.objects.get(pk=project.pk), actor=world.dispatcher, note=f"第{i}次", progress=levels[i]).progress)
    project.refresh_from_db()
    assert project.status == Project.Status.DONE and project.progress == 100
    accepted = list(ProjectUpdate.objects.filter(project=project).order_by("at", "pk").values_list("progress", flat=True))
    assert accepted == sorted(accepted) and accepted.count(100) == 1  # in the order they were stored: never back
    assert len(accepted) == sum(1 for r in results if r[0] == "ok")
    assert all(isinstance(r[1], ValidationError) for r in results if r[0] == "error")  # lower, or done (Conflict)


def test_parallel_computation_leaves_one_set(world):
    roll = make_roll(world.community_a, [(f"{i:03d}", "1栋", "70.5") for i in range(40)])
    project = new_project(world, split="area")
    results = run_parallel(4, lambda i: len(projects.compute_statements(
        Project.objects.get(pk=project.pk), actor=world.dispatcher, roll=roll)))
    assert [r for r in results if r[0] == "ok"] == [("ok", 40)] * 4
    assert ShareStatement.objects.filter(project=project).count() == 40
    assert projects.totals(project)["amount"] == Decimal("1000.00")
