"""grade → publish → measures → feedback, the guards at each step, schemes that change, and who sees what."""

from __future__ import annotations

import copy
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.safety import queries, services
from gongzhi.safety.grading import DEFAULT_RULES
from gongzhi.safety.models import Grade, Measure, PoliceArea

from .conftest import GREEN, MONTH, RED

DUE = datetime.date(2026, 11, 30)


@pytest.fixture
def red_grade(world, police):
    grade = services.record_figures(police[0], MONTH, actor=world.dispatcher, values=RED)
    return services.publish_grade(grade, actor=world.dispatcher)


def test_figures_are_graded_with_the_active_scheme_and_kept_as_a_draft(world, police, scheme):
    grade = services.record_figures(police[0], "2026-10", actor=world.handler, values=RED)
    assert (grade.level, grade.status, grade.scheme, grade.population) == ("red", "draft", scheme, 10000)
    assert grade.detail["criminal"]["level"] == "red"
    assert grade.events.get().action == "figures"
    assert AuditLog.objects.filter(action="safety.grade.figures", object_id=str(grade.pk)).exists()
    again = services.record_figures(police[0], MONTH, actor=world.handler, values=GREEN)
    assert again.pk == grade.pk and again.level == "green"


@pytest.mark.parametrize(("field", "value"), [("criminal", "-1"), ("fraud", "1.5"), ("public_order", "many"),
                                              ("satisfaction", "101"), ("satisfaction", "x")])
def test_bad_figures_are_refused_field_by_field(world, police, field, value):
    with pytest.raises(ValidationError) as info:
        services.record_figures(police[0], MONTH, actor=world.dispatcher, values={**GREEN, field: value})
    assert field in info.value.message_dict


def test_a_future_month_or_a_bad_month_is_refused(world, police):
    with pytest.raises(ValidationError):
        services.record_figures(police[0], "2099-01", actor=world.dispatcher, values=GREEN)
    with pytest.raises(ValidationError):
        services.record_figures(police[0], "2026-13", actor=world.dispatcher, values=GREEN)


def test_only_the_station_and_the_command_center_enter_figures(world, police):
    for user in (world.worker, world.outsider, world.resident):
        with pytest.raises(PermissionDenied):
            services.record_figures(police[0], MONTH, actor=user, values=GREEN)
    with pytest.raises(PermissionDenied):  # 东派出所's staff, 西派出所's area
        services.record_figures(police[1], MONTH, actor=world.handler, values=GREEN)


def test_a_published_month_is_frozen(world, police, red_grade):
    assert red_grade.is_published and red_grade.published_by == world.dispatcher
    with pytest.raises(Conflict):
        services.record_figures(police[0], MONTH, actor=world.dispatcher, values=GREEN)
    with pytest.raises(Conflict):
        services.publish_grade(red_grade, actor=world.dispatcher)


def test_a_new_scheme_never_rewrites_a_published_month(world, police, red_grade, scheme):
    draft = services.record_figures(police[1], MONTH, actor=world.admin, values=RED)
    lenient = copy.deepcopy(DEFAULT_RULES)
    lenient["counts"]["criminal"]["bands"] = ["10", "20", "30", "50"]
    new = services.create_scheme(actor=world.admin, name="宽松", rules=lenient, activate=True)
    assert new.version == scheme.version + 1
    regraded, kept = services.regrade_month(MONTH, actor=world.admin)
    assert (regraded, kept) == (1, 1)
    red_grade.refresh_from_db()
    draft.refresh_from_db()
    assert (red_grade.level, red_grade.scheme_id) == ("red", scheme.pk)  # as published
    assert (draft.level, draft.scheme_id) == ("yellow", new.pk)  # a draft follows the new scheme
    scheme.refresh_from_db()
    assert not scheme.is_active


def test_only_a_superuser_reopens_a_published_grade_and_says_why(world, police, red_grade):
    with pytest.raises(PermissionDenied):
        services.reopen_grade(red_grade, actor=world.dispatcher, reason="录入错误")
    with pytest.raises(ValidationError):
        services.reopen_grade(red_grade, actor=world.admin, reason=" ")
    grade = services.reopen_grade(red_grade, actor=world.admin, reason="录入错误")
    assert grade.status == "draft" and grade.events.last().note == "录入错误"


def test_measures_then_feedback(world, police, red_grade):
    measure = services.add_measure(red_grade, actor=world.dispatcher, what="夜间巡逻加密到每晚两次",
                                   owner="民警甲", due_on=DUE, department=world.police_a)
    assert measure.status == "open"
    services.record_feedback(measure, actor=world.handler, result="progress", note="已排班，本周开始")
    services.record_feedback(measure, actor=world.handler, result="done", note="巡逻已落实，盗窃下降")
    measure.refresh_from_db()
    assert measure.status == "done" and measure.done_at is not None
    assert list(red_grade.events.values_list("action", flat=True)) == [
        "figures", "publish", "measure", "feedback", "feedback"]
    assert AuditLog.objects.filter(action="safety.measure.feedback").count() == 2
    with pytest.raises(Conflict):  # closed
        services.record_feedback(measure, actor=world.handler, result="progress", note="再补充")


def test_measure_guards(world, police, red_grade):
    draft = services.record_figures(police[0], "2026-09", actor=world.dispatcher, values=RED)
    with pytest.raises(Conflict, match="发布"):
        services.add_measure(draft, actor=world.dispatcher, what="巡逻", owner="甲", due_on=DUE)
    green = services.publish_grade(services.record_figures(police[0], "2026-08", actor=world.dispatcher,
                                                           values=GREEN), actor=world.dispatcher)
    with pytest.raises(Conflict, match="红色"):
        services.add_measure(green, actor=world.dispatcher, what="巡逻", owner="甲", due_on=DUE)
    for user in (world.worker, world.handler, world.outsider, world.resident):
        with pytest.raises(PermissionDenied):
            services.add_measure(red_grade, actor=user, what="巡逻", owner="甲", due_on=DUE)
    with pytest.raises(ValidationError) as info:
        services.add_measure(red_grade, actor=world.dispatcher, what=" ", owner="", due_on=datetime.date(2026, 1, 1))
    assert set(info.value.message_dict) == {"what", "owner", "due_on"}
    measure = services.add_measure(red_grade, actor=world.dispatcher, what="巡逻", owner="甲", due_on=DUE)
    for user in (world.worker, world.outsider, world.resident):
        with pytest.raises(PermissionDenied):
            services.record_feedback(measure, actor=user, result="done", note="完成")
    with pytest.raises(ValidationError):
        services.record_feedback(measure, actor=world.handler, result="maybe", note="完成")
    with pytest.raises(ValidationError):
        services.record_feedback(measure, actor=world.handler, result="done", note="")
    assert Measure.objects.get(pk=measure.pk).status == "open"


def test_visibility_by_jurisdiction(world, police):
    pa_a, pa_b = police
    draft_a = services.record_figures(pa_a, MONTH, actor=world.dispatcher, values=RED)
    published_b = services.publish_grade(services.record_figures(pa_b, MONTH, actor=world.admin, values=GREEN),
                                         actor=world.admin)

    def seen(user):
        return set(Grade.objects.visible_to(user)), set(PoliceArea.objects.visible_to(user))

    assert seen(world.admin) == ({draft_a, published_b}, {pa_a, pa_b})
    assert seen(world.dispatcher) == ({draft_a}, {pa_a})
    assert seen(world.handler) == ({draft_a}, {pa_a})
    assert seen(world.worker) == (set(), {pa_a})  # sees the jurisdiction, not its draft
    assert seen(world.outsider) == ({published_b}, {pa_b})
    assert seen(world.resident) == (set(), set())
    services.publish_grade(draft_a, actor=world.dispatcher)
    assert seen(world.worker) == ({draft_a}, {pa_a})


def test_month_grades_and_geojson_for_the_wall_screen(world, police):
    pa_a, pa_b = police
    services.publish_grade(services.record_figures(pa_a, MONTH, actor=world.admin, values=RED), actor=world.admin)
    services.record_figures(pa_b, MONTH, actor=world.admin, values=GREEN)  # a draft: not in the published list
    rows = queries.month_grades("2026-10")
    assert [(pa.code, level) for pa, level, _f in rows] == [("pa-a", "red")]
    assert rows[0][2]["criminal"] == 5 and rows[0][2]["scheme"] == 1
    assert queries.month_grades(MONTH, within=world.street_b) == []
    assert len(queries.month_grades(MONTH, within=world.grid_a1)) == 1  # jurisdiction above the grid
    assert len(queries.month_grades(MONTH, published_only=False)) == 2
    collection = queries.geojson(rows)
    feature = collection["features"][0]
    assert feature["properties"]["colour"] == "#c62828" and feature["geometry"]["type"] == "Polygon"


def test_satisfaction_from_a_survey(world, police):
    values = {**GREEN, "satisfaction": "", "surveyed": "300", "satisfied": "257"}
    grade = services.record_figures(police[0], MONTH, actor=world.dispatcher, values=values)
    assert str(grade.satisfaction) == "85.67"  # 257 / 300 = 85.666… → 85.67
    assert grade.detail["survey"] == {"surveyed": 300, "satisfied": 257}
    assert grade.detail["satisfaction"]["level"] == "yellow"
    for surveyed, satisfied, field in [("0", "0", "surveyed"), ("10", "11", "satisfied"), ("x", "1", "surveyed")]:
        with pytest.raises(ValidationError) as info:
            services.record_figures(police[0], MONTH, actor=world.dispatcher,
                                    values={**values, "surveyed": surveyed, "satisfied": satisfied})
        assert field in info.value.message_dict
