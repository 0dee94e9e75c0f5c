"""Uploading XLSForms: each refusal names the sheet, the cell and the reason; versions are checked,
then activated; a visit's version never changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.checklists import services
from gongzhi.checklists.models import ChecklistVersion
from gongzhi.checklists.sample import sample_bytes
from gongzhi.checklists.xlsform import WorkbookError, parse_workbook
from gongzhi.core.models import AuditLog

from .helpers import row, workbook

pytestmark = pytest.mark.django_db


def errors_of(data: bytes) -> list[tuple[str, str, str]]:
    with pytest.raises(WorkbookError) as info:
        parse_workbook(data)
    return [(e.sheet, e.cell, e.message) for e in info.value.errors]


GOOD = [row("select_one yn", "exit", "安全出口畅通", required="yes", department="police", severity="major", days=3,
            legal="消防法第二十八条")]


def test_the_sample_workbook_is_accepted():
    definition = parse_workbook(sample_bytes())
    assert definition["title"] == "星火工作站联合检查表"
    departments = {q.get("department") for q in _questions(definition["children"])} - {""}
    assert departments == {"street_office", "police", "market", "enforcement"}


def _questions(nodes):
    for node in nodes:
        if node["type"] == "group":
            yield from _questions(node["children"])
        else:
            yield node


@pytest.mark.parametrize(("survey", "choices", "expected"), [
    # pyxform's own checks, mapped to a cell
    ([row("select_one zz", "a", "A")], None, ("survey", "2", "List name not in choices sheet: zz")),
    ([row("text", "a", "A"), row("text", "a", "B")], None, ("survey", "B3", "'name' value 'a' is invalid")),
    ([row("text", "a b", "A")], None, ("survey", "B2", "Names must begin with a letter")),
    ([row("text", "a", "A", relevant="${zz} = 'x'")], None, ("survey", "E2", "Could not find the name 'zz'")),
    ([row("begin_group", "g", "G")], None, ("survey", "2", "Unmatched 'begin_group'")),
    ([row("text", "a", "A")], [["list_name", "name", "label"], ["yn", "yes", "是"], ["yn", "yes", "否"]],
     ("choices", "B3", "Choice names must be unique")),
    # our own checks
    ([row("select_one yn", "a", "A", department="fire_brigade", days=3)], None,
     ("survey", "H2", "未知的部门代码：fire_brigade")),
    ([row("select_one yn", "a", "A", department="police", days="three")], None,
     ("survey", "J2", "整改天数应为 0 到 3650 之间的整数")),
    ([row("select_one yn", "a", "A", department="police", days=2.5)], None, ("survey", "J2", "整改天数应为")),
    ([row("select_one yn", "a", "A", department="police")], None, ("survey", "J2", "检查项须填写整改天数")),
    ([row("select_one yn", "a", "A", department="police", severity="fatal", days=1)], None,
     ("survey", "I2", "严重程度应为")),
    ([row("text", "a", "A", department="police", days=1)], None, ("survey", "H2", "只有选择题可以作为检查项")),
    ([row("select_one yn", "a", "A", days=1)], None, ("survey", "H2", "须填写责任部门")),
    ([row("integer", "n", "N", constraint="regex(., '[0-9]+')")], None, ("survey", "F2", "不支持的函数：regex()")),
    ([row("integer", "n", "N", constraint=". >> 3")], None, ("survey", "F2", "表达式“. >> 3”")),
    ([row("text", "a", "A"), row("integer", "n", "N", relevant="now() > 1")], None,
     ("survey", "E3", "不支持的函数：now()")),
    ([row("begin_repeat", "r", "R"), row("text", "a", "A"), row("end_repeat", "", "")], None,
     ("survey", "A2", "不支持的题型：begin_repeat")),
    ([row("begin_group", "g1", "G1"), row("text", "a", "A"), row("end_group", "", ""),
      row("begin_group", "g2", "G2"), row("text", "a", "A again"), row("end_group", "", "")], None,
     ("survey", "B6", "题目名称 a 重复")),
    ([row("select_one yn", "a", "A")], [["list_name", "name", "label", "fails"], ["yn", "yes", "是", "maybe"],
                                        ["yn", "no", "否", "yes"]], ("choices", "D2", "fails 应填 yes 或留空")),
])
def test_a_bad_workbook_is_refused_with_sheet_cell_and_reason(survey, choices, expected):
    found = errors_of(workbook(survey, choices))
    sheet, cell, reason = expected
    assert any(s == sheet and c == cell and reason in m for s, c, m in found), found


def test_every_problem_is_reported_at_once():
    found = errors_of(workbook([
        row("select_one yn", "a", "A", department="nobody", days=1),
        row("select_one yn", "b", "B", department="police", days="x"),
        row("integer", "n", "N", constraint="foo(.)"),
    ]))
    assert {(s, c) for s, c, _m in found} >= {("survey", "H2"), ("survey", "J3"), ("survey", "F4")}


def test_not_a_workbook():
    assert errors_of(b"not a spreadsheet")[0][2] == "文件不是有效的 xlsx 工作簿"


def test_versions_are_checked_then_activated_and_visits_keep_theirs(world):
    checklist = services.create_checklist(actor=world.admin, code="joint", name="联合检查表")
    v1 = services.upload_version(checklist, workbook(GOOD), actor=world.admin, filename="v1.xlsx")
    assert (v1.number, v1.status) == (1, ChecklistVersion.Status.CHECKED)
    assert services.active_version("joint") is None
    services.activate_version(v1, actor=world.admin)
    assert services.active_version("joint") == v1

    # a visit filled in with v1 keeps a reference to it
    kept = v1.pk
    with pytest.raises(WorkbookError):
        services.upload_version(checklist, workbook([row("select_one yn", "a", "A", department="x", days=1)]),
                                actor=world.admin)
    assert checklist.versions.count() == 1  # a refused workbook stores nothing

    v2 = services.upload_version(checklist, sample_bytes(), actor=world.admin)
    assert v2.number == 2 and services.active_version("joint") == v1  # checked, not yet active
    services.activate_version(v2, actor=world.admin)
    v1.refresh_from_db()
    assert v1.status == ChecklistVersion.Status.RETIRED and services.active_version("joint") == v2
    old = ChecklistVersion.objects.get(pk=kept)
    assert [i.name for i in services.failed_items(old, {"exit": "no"})] == ["exit"]  # v1's own form
    actions = list(AuditLog.objects.filter(object_type="checklists.checklist").values_list("action", flat=True))
    assert actions.count("checklist.upload") == 2 and actions.count("checklist.activate") == 2


def test_only_managers_upload(world):
    with pytest.raises(PermissionDenied):
        services.create_checklist(actor=world.dispatcher, code="x", name="X")


def test_admin_upload_refuses_a_bad_workbook_and_stores_a_good_one(login, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(world.admin)
    checklist = services.create_checklist(actor=world.admin, code="joint", name="联合检查表")
    bad = workbook([row("select_one yn", "a", "A", department="nobody", days=1)])
    page = client.post("/admin/checklists/checklistversion/add/",
                       {"checklist": checklist.pk, "file": SimpleUploadedFile("bad.xlsx", bad)})
    assert page.status_code == 200 and "单元格 H2" in page.content.decode()
    assert not ChecklistVersion.objects.exists()
    client.post("/admin/checklists/checklistversion/add/",
                {"checklist": checklist.pk, "file": SimpleUploadedFile("good.xlsx", sample_bytes())})
    version = ChecklistVersion.objects.get()
    assert version.status == ChecklistVersion.Status.CHECKED
    client.post("/admin/checklists/checklistversion/", {"action": "activate", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert version.status == ChecklistVersion.Status.ACTIVE


def test_staff_upload_page_lists_every_error(login, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = workbook([row("select_one yn", "a", "A", department="nobody", days="x")])
    page = login(world.admin).post("/checklists/upload/", {"code": "joint", "name": "联合检查表",
                                                           "file": SimpleUploadedFile("bad.xlsx", bad)})
    text = page.content.decode()
    assert page.status_code == 200 and "<td>H2</td>" in text and "<td>J2</td>" in text
    assert not ChecklistVersion.objects.exists()
    assert login(world.dispatcher).get("/checklists/upload/").status_code == 403
