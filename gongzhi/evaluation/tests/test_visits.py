"""Return visits (回访): the stratified sample, the answers and their effect on 解决率 and 满意率."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gongzhi.core.errors import Conflict
from gongzhi.evaluation import queries, services
from gongzhi.evaluation.models import ReturnVisit
from gongzhi.notifications.models import Notification
from gongzhi.orgs import services as org_services

from .conftest import at, make_case, worker_counts

OCT = datetime.date(2026, 10, 1)
OCT_END = datetime.date(2026, 10, 31)


@pytest.mark.django_db(transaction=False)
def test_the_sample_is_drawn_per_department_and_street_and_topped_up(world, django_capture_on_commit_callbacks):
    police_b = org_services.create_department(actor=None, name="西综合执法", code="enf-b", kind="enforcement",
                                              areas=[world.street_b])
    for i in range(20):
        make_case(world.grid_a1, created=at("2026-10-02"), closed=at("2026-10-03", 9 + i % 8),
                  department=world.police_a, reporter=world.resident if i % 2 else None)
    for _i in range(5):
        make_case(world.grid_b1, created=at("2026-10-02"), closed=at("2026-10-03"), department=police_b)
    make_case(world.grid_b1, created=at("2026-09-30"), closed=at("2026-11-01", 1), department=police_b)  # November's
    with django_capture_on_commit_callbacks(execute=True):
        drawn = services.draw_sample(OCT, share=Decimal("0.1"), minimum=1)
    by_group = {}
    for v in drawn:
        by_group[v.stratum] = by_group.get(v.stratum, 0) + 1
    assert by_group == {f"{world.police_a.pk}:东街道": 2, f"{police_b.pk}:西街道": 1}
    # Online for reporters with an account (an inbox message with the link), by phone for the others.
    online = [v for v in drawn if v.channel == ReturnVisit.Channel.ONLINE]
    assert Notification.objects.filter(kind="return_visit", user=world.resident).count() == len(online)
    # Idempotent: nothing new closed, nothing drawn; a larger share tops the groups up.
    assert services.draw_sample(OCT, share=Decimal("0.1"), minimum=1) == []
    more = services.draw_sample(OCT, share=Decimal("0.5"), minimum=1)
    assert len(more) == (10 - 2) + (3 - 1)
    assert ReturnVisit.objects.filter(month=OCT).count() == 13


@pytest.mark.django_db
def test_an_answered_visit_outranks_the_reporters_rating(world):
    a = make_case(world.grid_a1, created=at("2026-10-05"), rating="satisfied")
    b = make_case(world.grid_a1, created=at("2026-10-05"), rating="satisfied")
    make_case(world.grid_a1, created=at("2026-10-05"))  # neither rated nor visited: counts in neither rate
    visit_a = ReturnVisit.objects.create(case=a, month=OCT)
    ReturnVisit.objects.create(case=b, month=OCT)  # drawn but not answered: the rating stands
    services.answer_visit(visit_a, actor=world.dispatcher, resolved=False, satisfaction="unsatisfied",
                          comment="还是有垃圾")
    worker_counts()
    fig = queries.indicators(world.street_a, OCT, OCT_END)
    assert (fig.rates["resolve"].numerator, fig.rates["resolve"].denominator) == (1, 2)
    assert fig.rates["satisfy"].percent == Decimal("50.00")
    # The scheme may leave the reporter's own rating out: only the visit counts then.
    from gongzhi.evaluation.models import Scheme

    Scheme.objects.filter(is_default=True).update(use_rating=False)
    fig = queries.indicators(world.street_a, OCT, OCT_END)
    assert (fig.rates["satisfy"].numerator, fig.rates["satisfy"].denominator) == (0, 1)
    assert fig.rates["resolve"].percent == Decimal("0.00")


@pytest.mark.django_db
def test_basic_satisfaction_counts_as_the_scheme_says(world):
    from gongzhi.evaluation.models import Scheme

    for rating in ("satisfied", "basic", "basic", "unsatisfied"):
        make_case(world.grid_a1, created=at("2026-10-05"), rating=rating)
    Scheme.objects.filter(is_default=True).update(basic_weight=Decimal("0.5"))
    worker_counts()
    assert queries.indicators(world.street_a, OCT, OCT_END).rates["satisfy"].percent == Decimal("50.00")


@pytest.mark.django_db
def test_a_visit_is_answered_once_and_a_bad_answer_is_refused(world):
    from django.core.exceptions import ValidationError

    visit = ReturnVisit.objects.create(case=make_case(world.grid_a1, created=at("2026-10-05")), month=OCT)
    with pytest.raises(ValidationError) as exc:
        services.answer_visit(visit, resolved=None, satisfaction="great")
    assert set(exc.value.message_dict) == {"resolved", "satisfaction"}
    services.answer_visit(visit, resolved=True, satisfaction="basic", via="online")
    with pytest.raises(Conflict):
        services.answer_visit(visit, resolved=True, satisfaction="satisfied")
    visit.refresh_from_db()
    assert (visit.status, visit.channel, visit.satisfaction) == ("answered", "online", "basic")


@pytest.mark.django_db
def test_the_survey_page_takes_the_answer_with_the_token_only(world, client):
    visit = ReturnVisit.objects.create(case=make_case(world.grid_a1, created=at("2026-10-05")), month=OCT,
                                       channel="online")
    url = f"/evaluation/survey/{visit.token}/"
    page = client.get(url)
    assert page.status_code == 200 and "问题解决了吗" in page.content.decode()
    bad = client.post(url, {"resolved": "yes"})
    assert bad.status_code == 400 and "请选择满意" in bad.content.decode()
    assert client.post(url, {"resolved": "yes", "satisfaction": "satisfied", "comment": "很好"}).status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.resolved, visit.comment) == ("answered", True, "很好")
    assert "感谢您的答复" in client.get(url).content.decode()
    assert client.get("/evaluation/survey/x" + visit.token + "/").status_code == 404


@pytest.mark.django_db
def test_callers_see_their_areas_visits_and_enter_answers(world, login):
    a = ReturnVisit.objects.create(case=make_case(world.grid_a1, created=at("2026-10-05")), month=OCT)
    b = ReturnVisit.objects.create(case=make_case(world.grid_b1, created=at("2026-10-05")), month=OCT)
    client = login(world.dispatcher)
    page = client.get("/evaluation/visits/").content.decode()
    assert a.case.number in page and b.case.number not in page
    assert client.post(f"/evaluation/visits/{b.pk}/", {"resolved": "yes", "satisfaction": "satisfied"}).status_code == 404
    assert client.post(f"/evaluation/visits/{a.pk}/", {"resolved": "no", "satisfaction": "basic"}).status_code == 302
    a.refresh_from_db()
    assert (a.status, a.resolved, a.answered_by) == ("answered", False, world.dispatcher)
    c = ReturnVisit.objects.create(case=make_case(world.grid_a1, created=at("2026-10-06")), month=OCT)
    for _i in range(3):
        client.post(f"/evaluation/visits/{c.pk}/", {"outcome": "unreachable"})
    c.refresh_from_db()
    assert (c.status, c.attempts) == ("unreachable", 3)
    assert login(world.worker).get("/evaluation/visits/").status_code == 403
