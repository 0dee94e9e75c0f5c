import datetime

import pytest


@pytest.mark.django_db
def test_the_demo_ranking_has_two_months_of_figures():
    from gongzhi.cases.demo import build_demo_cases, reset_demo_cases
    from gongzhi.core.demo import build_demo_city
    from gongzhi.evaluation import queries
    from gongzhi.evaluation.demo import build_demo_evaluation
    from gongzhi.evaluation.models import ReturnVisit

    build_demo_city()
    build_demo_cases()
    today = datetime.date(2026, 12, 3)
    assert build_demo_evaluation(today=today) == 97
    assert build_demo_evaluation(today=today) == 0  # idempotent
    rows = queries.monthly_ranking(datetime.date(2026, 11, 1), "street")
    assert len(rows) == 3 and all(r.rank and r.previous_rank for r in rows)
    assert {r.change for r in rows} != {0}  # the order changed from October
    assert ReturnVisit.objects.filter(status="pending").exists()
    assert ReturnVisit.objects.filter(status="answered").exists()
    reset_demo_cases()
    assert not ReturnVisit.objects.exists()
