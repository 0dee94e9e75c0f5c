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
    # March and this month changed; the months between were never counted: counted in the same pass.
    from gongzhi.evaluation import counting

    everything = counting.months_between(datetime.date(2026, 3, 1), month)
    assert sorted(RecountLog.objects.values_list("month", flat=True)) == everything

    def recounted():
        before = dict(RecountLog.objects.values_list("month", "counted_at"))
        services.run_recount()
        return sorted(m for m, at in RecountLog.objects.values_list("month", "counted_at") if at != before.get(m))

    # Nothing changed: only this month again. A late change to March's case: March again.
    assert recounted() == [month]
    old.status, old.handled_at = "closed", now
    old.save()
    CaseEvent.objects.create(case=old, action="verify", from_status="handled", to_status="closed", at=now)
    assert recounted() == [datetime.date(2026, 3, 1), month]
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


@pytest.mark.django_db
def test_never_counted_months_are_caught_up_newest_first_a_dozen_a_pass(world, monkeypatch):
    """A month never counted (a page shows 尚未统计) is counted by the worker's pass, newest first, at most
    ``CATCH_UP_MONTHS`` a pass; while some remain, the schedule is claimed early — once the previous
    pass has finished, so passes never overlap."""
    from gongzhi.evaluation import counting, queries
    from gongzhi.evaluation.models import EvaluationSettings

    monkeypatch.setattr(services, "CATCH_UP_MONTHS", 2)
    make_case(world.grid_a1, created=timezone.make_aware(datetime.datetime(2026, 6, 5, 10)))
    this_month = timezone.localdate().replace(day=1)
    missing = list(reversed(counting.months_between(datetime.date(2026, 6, 1), this_month)))
    assert queries.never_counted() == missing
    logs = services.count_missing(2)
    assert [lg.month for lg in logs] == missing[:2]
    # The schedule is not due; the last pass (started after the claim) has finished: claimed early.
    now = timezone.now()
    EvaluationSettings.load()
    EvaluationSettings.objects.filter(pk=1).update(next_recount_at=now + datetime.timedelta(minutes=10),
                                                   last_recount_at=now - datetime.timedelta(minutes=4))
    assert services.claim_recount(now)
    # A pass still running (its claim is newer than the last finished pass): not again.
    EvaluationSettings.objects.filter(pk=1).update(next_recount_at=now + datetime.timedelta(minutes=10),
                                                   last_recount_at=now - datetime.timedelta(minutes=6))
    assert not services.claim_recount(now)
    # Nothing missing: only when due.
    services.count_missing(100)
    EvaluationSettings.objects.filter(pk=1).update(last_recount_at=now)
    assert queries.never_counted() == [] and not services.claim_recount(now)
    assert RecountLog.objects.count() == len(missing)
