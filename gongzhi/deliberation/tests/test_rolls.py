"""Voter roll import (xlsx and CSV), create and delete: every bad row reported with its sheet, row and
column, a file with any bad row writes nothing, a dry run writes nothing, replacing a roll keeps unit
ids, a roll with an open decision can't be replaced, members are linked to accounts by phone."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook, load_workbook

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import rolls
from gongzhi.deliberation.models import Decision, Member, Project, ShareStatement, Unit, VoterRoll

HEADER = ["楼栋", "房号", "建筑面积", "姓名", "手机号", "业主标识", "户代表", "代表", "成年", "委托代理人"]
GOOD = [
    ["1", "1-101", "88.5", "白一峰", "13800000001", "", "是", "否", "是", ""],
    ["1", "1-101", "", "白小禾", "", "", "否", "否", "否", ""],
    ["1", "1-102", 92, "黎二川", "13912340000", "li-2", "是", "是", "", "黎大川"],
    ["2", "2-101", "100.25", "黎二川", "13912340000", "li-2", "是", "否", "是", ""],
]


def xlsx(rows, header=HEADER, title="名册") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def run(world, data, *, commit=False, actor=None, filename="roll.xlsx", kind=VoterRoll.Kind.OWNERS, roll=None,
        name="南山苑业主名册"):
    return rolls.import_roll(data, actor=actor or world.dispatcher, area=world.community_a, name=name, kind=kind,
                             roll=roll, commit=commit, filename=filename)


def errors_of(report):
    return {(e.row, e.field) for e in report.errors}


# ------------------------------------------------------------------------------------ good files


def test_dry_run_counts_and_writes_nothing(world):
    report = run(world, xlsx(GOOD))
    assert report.ok and not report.committed
    assert (report.total, report.units, report.members) == (4, 3, 4)
    assert report.total_area == Decimal("280.75")
    assert report.linked == 1  # 13800000001 is the dispatcher's number
    assert "试运行" in report.summary()
    assert not VoterRoll.objects.exists() and not Member.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="deliberation.").exists()


def test_commit_writes_the_roll_links_phones_and_audits(world):
    report = run(world, xlsx(GOOD), commit=True)
    assert report.committed and "已导入" in report.summary()
    roll = report.roll
    assert (roll.area, roll.name, roll.kind, roll.created_by) == (world.community_a, "南山苑业主名册", "owners",
                                                                   world.dispatcher)
    units = {u.code: u for u in roll.units.all()}
    assert set(units) == {"1-101", "1-102", "2-101"}
    assert units["1-101"].floor_area == Decimal("88.50") and units["1-102"].floor_area == Decimal("92.00")
    assert units["2-101"].building == "2"
    members = {(m.unit.code, m.name): m for m in roll.members.select_related("unit")}
    head = members[("1-101", "白一峰")]
    assert head.is_head and head.is_adult and head.user == world.dispatcher
    child = members[("1-101", "白小禾")]
    assert not child.is_head and not child.is_adult and child.user is None
    li = members[("1-102", "黎二川")]
    assert li.is_representative and li.owner_key == "li-2" and li.proxy_name == "黎大川" and li.is_adult
    actions = list(AuditLog.objects.filter(action__startswith="deliberation.").values_list("action", flat=True))
    assert sorted(actions) == ["deliberation.create_roll", "deliberation.import_roll"]
    row = AuditLog.objects.get(action="deliberation.import_roll")
    assert row.after["units"] == 3 and row.after["members"] == 4 and row.after["floor_area"] == "280.75"


def test_csv_utf8_and_gbk(world):
    report = run(world, csv_bytes(GOOD), filename="roll.csv", commit=True)
    assert report.committed and report.roll.members.count() == 4
    report = run(world, csv_bytes(GOOD, encoding="gb18030"), filename="名册.csv", name="另一份")
    assert report.ok and report.members == 4


def test_english_headers_and_a_file_object(world):
    header = ["Building", "unit_code", "Floor_Area", "name", "mobile", "owner_key", "head", "representative",
              "adult", "proxy"]
    upload = io.BytesIO(xlsx(GOOD, header=header))
    upload.name = "roll.xlsx"
    report = rolls.import_roll(upload, actor=world.dispatcher, area=world.community_a, name="x", kind="owners")
    assert report.ok and report.units == 3


def test_headers_with_units_and_a_villagers_roll_without_area(world):
    header = ["户号", "姓名", "建筑面积（㎡）", "是否户代表"]
    report = run(world, xlsx([["一组-01", "卢一", "", "是"], ["一组-01", "卢二", "", ""]], header=header),
                 kind=VoterRoll.Kind.VILLAGERS, commit=True)
    assert report.committed and report.total_area == 0
    assert report.roll.units.get().floor_area == Decimal("0.00")


def test_the_template_reads_back(world):
    data = rolls.roll_template()
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == HEADER
    assert sheet.max_row == 3
    report = run(world, data)
    assert report.ok and (report.units, report.members) == (1, 2)


# ------------------------------------------------------------------------------------ bad rows


@pytest.mark.parametrize(("row", "column"), [
    (["1", "", "80", "甲乙", "", "", "", "", "", ""], "房号"),
    (["1", "1-201", "80", "", "", "", "", "", "", ""], "姓名"),
    (["1", "1-201", "八十", "甲乙", "", "", "", "", "", ""], "建筑面积"),
    (["1", "1-201", "-1", "甲乙", "", "", "", "", "", ""], "建筑面积"),
    (["1", "1-201", "80.125", "甲乙", "", "", "", "", "", ""], "建筑面积"),
    (["1", "1-201", "1e20", "甲乙", "", "", "", "", "", ""], "建筑面积"),
    (["1", "1-201", "80", "甲乙", "1380000000", "", "", "", "", ""], "手机号"),
    (["1", "1-201", "80", "甲乙", "23800000000", "", "", "", "", ""], "手机号"),
    (["1", "1-201", "80", "甲乙", "", "", "也许", "", "", ""], "户代表"),
    (["1", "1-201", "80", "甲乙", "", "", "", "maybe", "", ""], "代表"),
    (["1", "1-201", "80", "甲乙", "", "", "", "", "半", ""], "成年"),
    (["1", "1-201", "80", "甲" * 65, "", "", "", "", "", ""], "姓名"),
    (["1", "1-201", "80", "甲乙", "", "k" * 65, "", "", "", ""], "业主标识"),
    (["2", "1-101", "", "甲乙", "", "", "", "", "", ""], "楼栋"),  # 1-101 is in building 1
    (["1", "1-101", "88.6", "甲乙", "", "", "", "", "", ""], "建筑面积"),  # 1-101 has 88.50
    (["1", "1-101", "", "白小禾", "", "", "", "", "", ""], "姓名"),  # the same member twice
])
def test_each_bad_row_is_reported_and_nothing_is_written(world, row, column):
    report = run(world, xlsx([*GOOD, row]), commit=True)
    assert not report.ok and not report.committed
    assert errors_of(report) == {(6, column)}
    error = report.errors[0]
    assert error.sheet == "名册" and "名册" in str(error) and "第 6 行" in str(error)
    assert "未写入任何数据" in report.summary()
    assert not VoterRoll.objects.exists() and not Unit.objects.exists() and not Member.objects.exists()


def test_a_unit_code_excel_turned_into_a_date(world):
    report = run(world, xlsx([["1", datetime.datetime(2026, 1, 1), "80", "甲乙"]]))
    assert errors_of(report) == {(2, "房号")} and "日期" in report.errors[0].message


def test_an_owners_roll_needs_each_units_area(world):
    report = run(world, xlsx([["1", "9-9", "", "甲乙", "", "", "", "", "", ""]]))
    assert errors_of(report) == {(2, "建筑面积")}
    report = run(world, xlsx([["1", "9-9", "", "甲乙", "", "", "", "", "", ""]]), kind=VoterRoll.Kind.REPRESENTATIVES)
    assert report.ok


def test_csv_errors_name_the_row_without_a_sheet(world):
    report = run(world, csv_bytes([*GOOD, ["1", "", "1", "甲乙"]]), filename="x.csv")
    assert errors_of(report) == {(6, "房号")} and report.errors[0].sheet == ""


def test_blank_building_and_area_take_the_units(world):
    report = run(world, xlsx([["", "3-1", "", "甲", "", "", "", "", "", ""],
                              ["3", "3-1", "70", "乙", "", "", "", "", "", ""]]), commit=True)
    unit = report.roll.units.get()
    assert (unit.building, unit.floor_area, unit.members.count()) == ("3", Decimal("70.00"), 2)


# ------------------------------------------------------------------------------------ bad files


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"not a workbook at all", "roll.xlsx", "不是有效的 xlsx"),
    (b"PK\x03\x04garbage", "roll.xlsx", "不是有效的 xlsx"),
    (b"%PDF-1.4 \x00\x01", "roll.pdf", "请上传 .xlsx 或 .csv"),
    (b"\xd0\xcf\x11\xe0", "roll.xls", ".xls"),
    (b"", "roll.csv", "空"),
    (b"  \n ", "roll.csv", "空"),
    ("房号,姓名\n".encode(), "roll.csv", "只有表头"),
    (b"name2,phone\n1,2\n", "roll.csv", "缺少列"),
    (b"\xff\xfe\x00\x00\x81", "roll.csv", None),
])
def test_unreadable_files(world, data, filename, message):
    with pytest.raises(rolls.RollFileError) as caught:
        run(world, data, filename=filename)
    if message:
        assert message in caught.value.messages[0]


def test_wrong_headers_in_xlsx_and_an_empty_sheet(world):
    with pytest.raises(rolls.RollFileError, match="缺少列"):
        run(world, xlsx(GOOD, header=["楼", "房", "面积", "名字"]))
    with pytest.raises(rolls.RollFileError, match="空"):
        run(world, xlsx([], header=None))


def test_too_large(world, monkeypatch):
    monkeypatch.setattr(rolls, "MAX_BYTES", 1000)
    with pytest.raises(rolls.RollFileError, match="MB"):
        run(world, xlsx(GOOD * 20))


def test_too_many_rows(world, monkeypatch):
    monkeypatch.setattr(rolls, "MAX_ROWS", 3)
    with pytest.raises(rolls.RollFileError, match="最多"):
        run(world, csv_bytes(GOOD), filename="x.csv")


# ------------------------------------------------------------------------------------ services


def test_permission_name_and_kind(world):
    with pytest.raises(PermissionDenied):
        run(world, xlsx(GOOD), actor=world.worker)  # a grid worker sees the area but does not manage it
    with pytest.raises(PermissionDenied):
        run(world, xlsx(GOOD), actor=world.outsider)
    with pytest.raises(ValidationError) as caught:
        run(world, xlsx(GOOD), name="  ")
    assert "name" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        run(world, xlsx(GOOD), kind="citizens")
    assert "kind" in caught.value.message_dict


def test_replace_keeps_unit_ids_and_replaces_members(world, roll):
    kept = roll.units["1-101"].pk
    rows = [["1", "1-101", "81", "林一凡", "13900000001", "", "是", "", "", ""],
            ["9", "9-901", "50", "新业主", "", "", "是", "", "", ""]]
    dry = run(world, xlsx(rows), roll=roll.roll, name=roll.roll.name)
    assert dry.ok and (dry.previous_units, dry.previous_members) == (6, 9)
    assert "将被替换" in dry.summary() and Unit.objects.filter(roll=roll.roll).count() == 6
    report = run(world, xlsx(rows), roll=roll.roll, name="东一花园业主名册（2026）", commit=True)
    assert report.committed and report.roll.pk == roll.roll.pk
    units = {u.code: u for u in Unit.objects.filter(roll=roll.roll)}
    assert set(units) == {"1-101", "9-901"} and units["1-101"].pk == kept
    assert units["1-101"].floor_area == Decimal("81.00")
    assert Member.objects.filter(roll=roll.roll).count() == 2
    roll.roll.refresh_from_db()
    assert roll.roll.name == "东一花园业主名册（2026）"
    row = AuditLog.objects.get(action="deliberation.import_roll")
    assert row.before["units"] == 6 and row.after["units"] == 2


def test_replace_refused_while_a_decision_is_open(world, roll):
    Decision.objects.create(area=world.community_a, roll=roll.roll, title="加装电梯", status=Decision.Status.OPEN)
    for commit in (False, True):
        with pytest.raises(Conflict, match="正在进行的表决"):
            run(world, xlsx(GOOD), roll=roll.roll, commit=commit)
    assert Member.objects.filter(roll=roll.roll).count() == 9


def test_replace_keeps_units_of_cost_statements(world, roll):
    project = Project.objects.create(area=world.community_a, title="外墙修缮")
    ShareStatement.objects.create(project=project, unit=roll.units["2-201"], floor_area=Decimal("75.50"),
                                  amount=Decimal("100"))
    with pytest.raises(Conflict, match="2-201"):
        run(world, xlsx(GOOD), roll=roll.roll)
    rows = [*GOOD, ["2", "2-201", "75.5", "钱五岳", "", "", "是", "", "", ""]]
    assert run(world, xlsx(rows), roll=roll.roll, commit=True).committed
    assert ShareStatement.objects.get().unit.members.get().name == "钱五岳"


def test_replace_uses_the_rolls_area(world, roll):
    report = rolls.import_roll(xlsx(GOOD), actor=world.dispatcher, area=world.community_b, name="x",
                               kind="owners", roll=roll.roll, commit=True)
    assert report.committed and report.roll.area == world.community_a


def test_create_and_delete_roll(world):
    roll = rolls.create_roll(actor=world.dispatcher, area=world.community_a, name=" 村民名册 ", kind="villagers")
    assert roll.name == "村民名册" and AuditLog.objects.filter(action="deliberation.create_roll").count() == 1
    with pytest.raises(PermissionDenied):
        rolls.create_roll(actor=world.worker, area=world.community_a, name="x", kind="owners")
    with pytest.raises(PermissionDenied):
        rolls.delete_roll(roll, actor=world.outsider)
    rolls.delete_roll(roll, actor=world.dispatcher)
    assert not VoterRoll.objects.exists()
    assert AuditLog.objects.get(action="deliberation.delete_roll").before["name"] == "村民名册"


def test_delete_refused_when_a_decision_uses_the_roll(world, roll):
    Decision.objects.create(area=world.community_a, roll=roll.roll, title="草稿", status=Decision.Status.CLOSED)
    with pytest.raises(Conflict, match="已用于表决"):
        rolls.delete_roll(roll.roll, actor=world.dispatcher)
    assert VoterRoll.objects.filter(pk=roll.roll.pk).exists()
