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
def test_the_recount_is_claimed_by_one_worker_and_counts_the_months_that_changed(world):
    from gongzhi.cases.models import CaseEvent
    from gongzhi.evaluation.models import EvaluationSettings, MonthlyFact

    now = timezone.now()
    make_case(world.grid_a1, created=now - datetime.timedelta(hours=3), events=[("report", "", now, {})])
    old = make_case(world.grid_a1, created=timezone.make_aware(datetime.datetime(2026, 3, 5, 10)),
                    status="in_progress", handled=False, events=[("report", "", now, {})])
    assert services.recount_job(now) == "evaluation: recount queued"  # the test backend runs it at once
    assert services.recount_job(now) is None  # claimed until recount_minutes later
    month = timezone.localdate().replace(day=1)
    assert RecountLog.objects.get(month=month).cases == 1
    assert sorted(RecountLog.objects.values_list("month", flat=True)) == [datetime.date(2026, 3, 1), month]
    # Nothing changed: only this month again. A late change to March's case: March again.
    RecountLog.objects.all().delete()
    services.run_recount()
    assert list(RecountLog.objects.values_list("month", flat=True)) == [month]
    old.status, old.handled_at = "closed", now
    old.save()
    CaseEvent.objects.create(case=old, action="verify", from_status="handled", to_status="closed", at=now)
    services.run_recount()
    assert sorted(RecountLog.objects.values_list("month", flat=True)) == [datetime.date(2026, 3, 1), month]
    assert MonthlyFact.objects.get(month=datetime.date(2026, 3, 1)).closed == 1
    assert EvaluationSettings.load().last_event_id == CaseEvent.objects.latest("id").pk
    assert services.recount_job(now + datetime.timedelta(minutes=16)) is not None


@pytest.mark.django_db
def test_the_command_recounts_one_month(world, capsys):
    make_case(world.grid_a1, created=timezone.make_aware(datetime.datetime(2026, 5, 5, 10)))
    call_command("recount_indicators", "--month", "2026-05")
    assert "2026-05: 1 cases" in capsys.readouterr().out
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("recount_indicators", "--month", "May")
