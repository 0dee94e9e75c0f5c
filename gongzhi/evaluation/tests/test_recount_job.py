"""The worker's recount: claimed once, queued as a task, re-counts the recent months; the command."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from gongzhi.evaluation import services
from gongzhi.evaluation.models import RecountLog

from .conftest import make_case


@pytest.mark.django_db
def test_the_recount_is_claimed_by_one_worker_and_counts_the_recent_months(world):
    now = timezone.now()
    make_case(world.grid_a1, created=now - datetime.timedelta(hours=3))
    assert services.recount_job(now) == "evaluation: recount queued"  # the test backend runs it at once
    assert services.recount_job(now) is None  # claimed until recount_minutes later
    month = timezone.localdate().replace(day=1)
    assert RecountLog.objects.get(month=month).cases == 1
    assert RecountLog.objects.count() == 3  # EvaluationSettings.recount_months
    assert services.recount_job(now + datetime.timedelta(minutes=16)) is not None


@pytest.mark.django_db
def test_the_command_recounts_one_month(world, capsys):
    make_case(world.grid_a1, created=timezone.make_aware(datetime.datetime(2026, 5, 5, 10)))
    call_command("recount_indicators", "--month", "2026-05")
    assert "2026-05: 1 cases" in capsys.readouterr().out
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("recount_indicators", "--month", "May")
