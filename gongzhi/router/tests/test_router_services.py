"""Smart dispatch in use: cold start, learning from a correction, auto-dispatch on and off, the
suggestion log and its "taken" figures, hot swap, the worker's schedule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from gongzhi.cases import services as case_services
from gongzhi.cases.models import Case
from gongzhi.router import queries, services
from gongzhi.router.models import CategoryThreshold, RouterModel, RouterSettings, Suggestion

from .conftest import report

GARBAGE = "巷口垃圾堆了好几天"


def settings_row(**values) -> RouterSettings:
    row = RouterSettings.load()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row


def test_cold_start_puts_garbage_first_on_a_fresh_deployment(world, routerdir):
    results = services.train_all(activate=True)
    assert [r.model.source for r in results] == ["directory", "directory"]
    assert all(r.activated for r in results)
    case = report(world, GARBAGE)
    found = services.suggest(case)
    assert found.category[0]["label"] in ("06010", "06042"), found.category
    assert found.category[0]["label"] == "06010"
    assert found.category[0]["words"], "the words behind the suggestion are shown"
    assert len(found.category) <= 3 and all(0 <= row["p"] <= 1 for row in found.category)
    # the department: those that take garbage by default, in the case's street
    assert found.department[0]["label"] in ("enf-a", "office-a")


def test_suggestions_are_logged_once_per_case_and_model(world, routerdir, django_assert_max_num_queries):
    services.train_all(activate=True)
    case = report(world, GARBAGE)
    services.suggest(case)
    services.suggest(case)
    assert Suggestion.objects.filter(case=case).count() == 2  # one per target
    case = Case.objects.select_related("category", "area").get(pk=case.pk)
    services.active("category")
    services.active("department")
    with django_assert_max_num_queries(2):  # repeat views read the log
        services.suggest(case)


def test_taken_is_read_from_the_case(world, routerdir):
    services.train_all(activate=True)
    categories = routerdir["categories"]
    taken = report(world, GARBAGE)
    first = services.suggest(taken)
    services.accept(taken, actor=world.dispatcher, category=categories[first.category[0]["label"]],
                    department=routerdir["enforcement"] if first.department[0]["label"] == "enf-a"
                    else routerdir["office"])
    other = report(world, "路口汽车乱停，堵住了通道")
    services.suggest(other)
    case_services.file_case(other, actor=world.dispatcher, category=categories["06013"])  # not suggested first
    pending = report(world, "楼下晚上很吵")
    services.suggest(pending)
    rate = queries.totals(world.dispatcher, target="category")
    assert (rate.made, rate.decided, rate.taken) == (3, 2, 1)
    department = queries.totals(world.dispatcher, target="department")
    assert (department.made, department.decided, department.taken) == (3, 1, 1)
    rows = {row["code"]: row["rate"] for row in queries.by_category(world.dispatcher, target="category")}
    assert rows["06010"].taken == 1 and rows["06013"].taken == 0
    assert queries.totals(world.outsider, target="category").made == 0  # not their cases


def test_learning_from_a_correction(world, routerdir, make_closed):
    """History says 井盖 cases go to the police; dispatchers correct two of them (returned by the
    police, re-dispatched to the street office). After retraining the office comes first."""
    settings_row(min_examples=10, correction_weight=Decimal("5.0"))
    c = routerdir["categories"]
    for i in range(4):
        make_closed(f"井盖松动有响声{i}", c["06013"], routerdir["police"])
    for i in range(4):
        make_closed(f"小区门口垃圾乱倒{i}", c["06010"], routerdir["enforcement"])
    for i in range(4):
        make_closed(f"夜间施工噪音太吵{i}", c["06028"], routerdir["police"])
    for i in range(4):
        make_closed(f"垃圾箱满了没人清运{i}", c["06042"], routerdir["office"])
    first = services.train("department", activate=True)
    assert first.model.source == "history" and first.model.metrics["examples"] == 16
    probe = "路上井盖松动了"
    before = services.suggest_text(probe, category_name="道路破损").department
    assert before[0]["label"] == "police-a"
    for i in range(3):
        case = report(world, f"井盖松动{i}号", category=c["06013"])
        case_services.file_case(case, actor=world.dispatcher)
        case = case_services.dispatch_case(case, actor=world.dispatcher, department=routerdir["police"])
        case = case_services.return_case(case, actor=world.handler, reason="井盖属于道路设施，不归派出所")
        case_services.dispatch_case(case, actor=world.dispatcher, department=routerdir["office"])
    second = services.train("department", activate=True)
    assert second.model.version == first.model.version + 1 and second.model.corrections == 3
    after = services.suggest_text(probe, category_name="道路破损").department
    assert after[0]["label"] == "office-a", after


def test_retraining_with_the_same_data_makes_no_new_version(world, routerdir):
    services.train("category", activate=True)
    again = services.train("category", activate=None)
    assert again.model is None and RouterModel.objects.filter(target="category").count() == 1


@pytest.fixture
def auto_on(world, routerdir):
    services.train_all(activate=True)
    return settings_row(auto_dispatch_enabled=True, default_threshold=Decimal("0"))


def test_auto_dispatch_above_the_threshold(world, auto_on):
    case = report(world, GARBAGE)
    assert case.status == "dispatched" and case.category is not None and case.department is not None
    dispatch = case.events.get(action="dispatch")
    assert dispatch.note.startswith("按智能分派自动派遣（置信度 ")
    logged = Suggestion.objects.filter(case=case)
    assert logged.count() == 2 and all(s.auto_dispatched for s in logged)
    assert queries.totals(world.dispatcher, target="department").auto == 1


def test_auto_dispatch_below_a_category_threshold(world, auto_on, routerdir):
    CategoryThreshold.objects.create(settings=auto_on, category_code="06010", threshold=Decimal("1"))
    case = report(world, GARBAGE, category=routerdir["categories"]["06010"])
    assert case.status == "reported" and not Suggestion.objects.filter(case=case).exists()


def test_auto_dispatch_off_never(world, auto_on, routerdir):
    settings_row(auto_dispatch_enabled=False)
    case = report(world, GARBAGE, category=routerdir["categories"]["06010"])
    assert case.status == "reported"


def test_auto_dispatch_never_for_an_unlocated_report(world, auto_on):
    case = report(world, GARBAGE, located=False)
    assert case.status == "reported" and case.area is None


def test_rules_still_come_first(world, auto_on, routerdir):
    """A grid worker's report that the routing rules resolve is dispatched by the rules, as before."""
    case = report(world, GARBAGE, category=routerdir["categories"]["06010"], reporter=world.worker)
    dispatch = case.events.get(action="dispatch")
    assert dispatch.note == "按派遣规则自动派遣" and case.department == routerdir["enforcement"]


def test_hot_swap_in_the_same_process(world, routerdir, monkeypatch):
    from gongzhi.router.textmodel import TextRouter

    old = services.train("category", activate=True).model
    assert services.suggest_text(GARBAGE).category[0]["label"] == "06010"
    noisy = TextRouter().fit(["巷口垃圾堆了好几天 吵", "楼下很吵", "夜里噪声"], ["06028", "06028", "06010"])
    new = RouterModel.objects.create(target="category", version=old.version + 1, source="history", blob=noisy.dumps())
    services.activate_model(new)
    assert services.suggest_text(GARBAGE).category[0]["label"] == "06028"
    # another process's activation (no signal here): seen at the next stamp check
    RouterModel.objects.filter(pk=new.pk).update(is_active=False)
    RouterModel.objects.filter(pk=old.pk).update(is_active=True)
    monkeypatch.setattr(services, "STAMP_CHECK_SECONDS", 0)
    assert services.suggest_text(GARBAGE).category[0]["label"] == "06010"


def test_a_model_with_suggestions_is_kept(world, routerdir):
    from django.db.models import ProtectedError

    model = services.train("category", activate=True).model
    services.suggest(report(world, GARBAGE))
    with pytest.raises(ProtectedError):
        model.delete()


def test_the_schedule_trains_once_with_two_workers(world, routerdir):
    from django.utils import timezone

    assert services.retrain_job() == "router: retraining queued"  # first pass: nothing trained yet
    assert services.retrain_job() is None  # the second worker: not due any more
    assert RouterModel.objects.filter(is_active=True).count() == 2
    assert RouterModel.objects.count() == 2
    # two workers that read the same due time: one claim wins
    row = RouterSettings.load()
    due = row.next_train_at
    RouterSettings.objects.filter(pk=1).update(next_train_at=due)
    later = timezone.now() + timezone.timedelta(hours=48)
    assert services._claim(due, later) is True
    assert services._claim(due, later) is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections")
def test_the_schedule_claim_races_on_postgresql(world):
    import threading

    from django.db import connections

    RouterSettings.load()
    RouterSettings.objects.filter(pk=1).update(next_train_at=None)
    barrier = threading.Barrier(4)
    won = []

    def worker():
        try:
            barrier.wait()
            won.append(services.claim_retrain())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(won) == [False, False, False, True]


def test_status_rows(world, routerdir):
    services.train_all(activate=True)
    rows = services.status_rows()
    assert [r["target"] for r in rows] == ["category", "department"]
    assert all(r["model"].is_active for r in rows)


def test_a_department_that_returned_the_case_is_not_suggested_again(world, routerdir):
    services.train_all(activate=True)
    case = report(world, GARBAGE, category=routerdir["categories"]["06010"])
    first = services.suggest(case).department[0]
    department = routerdir["enforcement"] if first["label"] == "enf-a" else routerdir["office"]
    case_services.file_case(case, actor=world.dispatcher)
    case = case_services.dispatch_case(case, actor=world.dispatcher, department=department)
    case_services.return_case(case, actor=world.admin, reason="不归我们管")
    case = Case.objects.get(pk=case.pk)
    again = services.suggest(case).department
    assert again and first["id"] not in [row["id"] for row in again]


def test_label_names_give_a_department_the_names_of_the_categories_it_takes(world, routerdir):
    from gongzhi.cases.models import RoutingRule

    c = routerdir["categories"]
    RoutingRule.objects.create(category=c["06013"], area=world.street_a, department=routerdir["enforcement"])
    names = services.label_names("department")
    assert names["police-a"][0] == world.police_a.name and set(names["police-a"][1:]) == {"机动车乱停放", "噪声扰民"}
    assert names["enf-a"][0] == "东街道综合执法队" and set(names["enf-a"][1:]) == {"暴露垃圾", "道路破损"}
    categories = services.label_names("category")
    assert categories["06010"] == ["暴露垃圾", "垃圾", "堆放", "垃圾袋", "生活垃圾", "乱倒"]
