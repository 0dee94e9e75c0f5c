"""validate_answers and failed_items on the server: relevance, constraints, types, the failing rule."""

from __future__ import annotations

import pytest

from gongzhi.checklists.answers import failed_items, validate_answers
from gongzhi.checklists.sample import sample_bytes
from gongzhi.checklists.xlsform import Form, parse_workbook

from .helpers import row, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def form() -> Form:
    return Form.from_definition(parse_workbook(workbook([
        row("select_one yn", "food", "经营食品", required="yes"),
        row("select_one yn", "licence", "许可证有效", required="yes", relevant="${food} = 'yes'",
            department="market", severity="major", days=15, legal="食品安全法第三十五条"),
        row("integer", "staff", "人数", constraint=". >= 0 and . <= 500", message="人数应在 0 到 500 之间"),
        row("select_multiple hygiene", "hygiene", "卫生", relevant="${food} = 'yes' and ${staff} > 0",
            constraint="not(selected(., 'ok') and count-selected(.) > 1)", message="“无问题”不能与其他项同选",
            department="market", days=3),
        row("text", "remarks", "备注", constraint="string-length(.) <= 5"),
        row("decimal", "area", "面积"),
        row("geopoint", "where", "位置"),
        row("select_one yn", "exit", "出口畅通", department="police", severity="critical", days=1),
    ], [["list_name", "name", "label", "fails"], ["yn", "yes", "是", ""], ["yn", "no", "否", ""],
        ["hygiene", "ok", "无问题", ""], ["hygiene", "dirty", "不洁", "yes"], ["hygiene", "expired", "过期", "yes"]])))


@pytest.mark.parametrize(("answers", "cleaned_part", "errors"), [
    ({"food": "no"}, {"food": "no"}, {}),
    ({}, {}, {"food": "此项必填"}),
    ({"food": "yes"}, {"food": "yes"}, {"licence": "此项必填"}),  # relevant now, and required
    ({"food": "no", "licence": "no"}, {"food": "no"}, {}),  # not relevant: dropped, never checked
    ({"food": "maybe"}, {}, {"food": "没有这个选项：maybe"}),
    ({"food": "no", "staff": "600"}, {}, {"staff": "人数应在 0 到 500 之间"}),
    ({"food": "no", "staff": "-1"}, {}, {"staff": "人数应在 0 到 500 之间"}),
    ({"food": "no", "staff": "3.5"}, {}, {"staff": "请填写整数"}),
    ({"food": "no", "staff": 12}, {"staff": 12}, {}),
    ({"food": "yes", "licence": "yes", "staff": "0", "hygiene": ["dirty"]}, {"food": "yes"}, {}),  # staff 0: hidden
    ({"food": "yes", "licence": "yes", "staff": "2", "hygiene": ["ok", "dirty"]}, {},
     {"hygiene": "“无问题”不能与其他项同选"}),
    ({"food": "yes", "licence": "yes", "staff": "2", "hygiene": "dirty expired"}, {"hygiene": ["dirty", "expired"]},
     {}),
    ({"food": "no", "remarks": "too long"}, {}, {"remarks": "填写的内容不符合要求"}),
    ({"food": "no", "area": "12.50"}, {"area": "12.50"}, {}),
    ({"food": "no", "area": "abc"}, {}, {"area": "请填写数字"}),
    ({"food": "no", "where": "39.67 106.82"}, {"where": [39.67, 106.82]}, {}),
    ({"food": "no", "where": "north"}, {}, {"where": "位置应为“纬度 经度”"}),
])
def test_validate_answers(form, answers, cleaned_part, errors):
    cleaned, found = validate_answers(form, answers)
    assert found == errors
    for key, value in cleaned_part.items():
        assert cleaned[key] == value
    if "licence" in answers and answers.get("food") == "no":
        assert "licence" not in cleaned


def test_failed_items_follow_the_rule(form):
    answers = {"food": "yes", "licence": "no", "staff": "4", "hygiene": ["dirty"], "exit": "no"}
    items = failed_items(form, answers)
    assert [(i.name, i.department_code, i.severity, i.rectification_days) for i in items] == [
        ("licence", "market", "major", 15), ("hygiene", "market", "minor", 3), ("exit", "police", "critical", 1)]
    assert items[0].legal_basis == "食品安全法第三十五条" and items[0].label == "许可证有效"
    assert items[1].answer == ("dirty",)
    # not relevant → never fails, whatever was sent
    assert [i.name for i in failed_items(form, {"food": "no", "licence": "no", "exit": "yes"})] == []
    # "ok" alone passes
    assert failed_items(form, {"food": "yes", "licence": "yes", "staff": "1", "hygiene": ["ok"]}) == []


def test_without_a_fails_column_no_and_fail_fail():
    form = Form.from_definition(parse_workbook(workbook(
        [row("select_one pf", "a", "A", department="police", days=1)],
        [["list_name", "name", "label"], ["pf", "pass", "合格"], ["pf", "fail", "不合格"]])))
    assert [i.name for i in failed_items(form, {"a": "fail"})] == ["a"]
    assert failed_items(form, {"a": "pass"}) == []


def test_the_sample_checklist_fails_items_of_several_departments():
    form = Form.from_definition(parse_workbook(sample_bytes()))
    answers = {name: "yes" for name, q in form.questions.items() if q["type"] == "select_one"}
    answers.update(extinguishers="2", food_hygiene=["ok"], fire_exit="no", no_outside_business="no")
    cleaned, errors = validate_answers(form, answers)
    assert errors == {}
    assert {(i.name, i.department_code) for i in failed_items(form, answers)} == {
        ("fire_exit", "police"), ("no_outside_business", "enforcement")}
