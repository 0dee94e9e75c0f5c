"""Races, on PostgreSQL (real row locks and parallel connections): two dispatchers, retried POSTs,
case numbers under concurrency."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gongzhi.cases import intake, services
from gongzhi.cases.models import Case
from gongzhi.race_testing import run_parallel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections"),
]




def test_two_dispatchers_at_once_one_wins_the_other_is_told(world, directory):
    case, _ = intake.report_case(intake.Report(title="x", category=directory["garbage"], lon=100.05, lat=30.05),
                                 reporter=world.resident)
    services.file_case(case, actor=world.dispatcher)
    results = run_parallel(2, lambda i: services.dispatch_case(Case.objects.get(pk=case.pk), actor=world.dispatcher,
                                                               department=world.police_a))
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    error = next(r[1] for r in results if r[0] == "error")
    assert isinstance(error, ValidationError) and "已派遣" in str(error)
    assert case.events.filter(action="dispatch").count() == 1


def test_a_retried_post_racing_itself_makes_one_case(world, directory):
    def submit(i):
        return intake.report_case(intake.Report(title="重复提交", lon=100.05, lat=30.05, idempotency_key="same"),
                                  reporter=world.resident)[0].pk

    results = run_parallel(4, submit)
    assert all(r[0] == "ok" for r in results), results
    assert len({r[1] for r in results}) == 1
    assert Case.objects.filter(idempotency_key="same").count() == 1


def test_case_numbers_stay_unique_under_concurrency(world, directory):
    results = run_parallel(6, lambda i: intake.report_case(
        intake.Report(title=f"并发{i}", lon=100.05, lat=30.05), reporter=world.resident)[0].number)
    numbers = [r[1] for r in results if r[0] == "ok"]
    assert len(numbers) == 6 and len(set(numbers)) == 6, results
