"""12345-style batch import: rows become cases through intake, idempotent by 工单编号, all or nothing."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from gongzhi.cases import hotline_io
from gongzhi.cases.choices import LocateStatus, Source, Status
from gongzhi.cases.models import Case
from gongzhi.orgs.models import User

pytestmark = pytest.mark.django_db
HEADER = ["工单编号", "标题", "内容", "分类编码", "地址", "经度", "纬度", "来电人", "来电号码", "紧急", "来电时间"]
IN_A1 = (100.05, 30.05)
OUTSIDE = (120.0, 31.0)


def xlsx(rows: list[list], header: list[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def good_rows() -> list[list]:
    return [
        ["GD-001", "路边垃圾堆", "小区门口垃圾三天没人清", "06010", "东一路 1 号", IN_A1[0], IN_A1[1], "张先生",
         "13900000001", "否", datetime.datetime(2026, 11, 20, 9, 30)],
        [20261120002, "店外经营占道", "", "09005", "", "100.06", "30.04", "", "", "是", "2026-11-20 10:00"],
        ["GD-003", "噪音扰民", "夜里施工", "", "东一路 8 号院", None, None, "李女士", "13900000003", "", None],
    ]


def test_import_creates_cases_and_reimport_creates_none(world, directory, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx(good_rows()))

    report = hotline_io.import_hotline(hotline_io.read_hotline_xlsx(path), commit=False)
    assert report.ok and not report.committed and (report.created, report.to_locate) == (3, 1)
    assert Case.objects.count() == 0 and not User.objects.filter(username="hotline-import").exists()

    report = hotline_io.import_hotline(hotline_io.read_hotline_xlsx(path), commit=True)
    assert report.committed and report.created == 3 and [row for row, _n in report.numbers] == [2, 3, 4]
    cases = {c.extra["hotline_id"]: c for c in Case.objects.all()}
    assert set(cases) == {"GD-001", "20261120002", "GD-003"}
    first = cases["GD-001"]
    assert first.number == report.numbers[0][1] and first.number.startswith("990101-")
    assert first.source == Source.HOTLINE and first.status == Status.REPORTED
    assert first.category == directory["garbage"] and first.area == world.grid_a1
    assert (first.reporter_name, first.reporter_phone) == ("张先生", "13900000001")
    assert first.extra["called_at"].startswith("2026-11-20T09:30")
    assert cases["20261120002"].urgent and cases["20261120002"].category == directory["street"]
    located_later = cases["GD-003"]
    assert located_later.locate_status == LocateStatus.TO_LOCATE and located_later.area is None
    assert located_later.address == "东一路 8 号院"
    user = User.objects.get(username="hotline-import")
    assert first.reporter == user and not user.has_usable_password()

    again = hotline_io.import_hotline(hotline_io.read_hotline_xlsx(path), commit=True)
    assert again.committed and (again.created, again.existing) == (0, 3) and again.numbers == []
    assert Case.objects.count() == 3


def test_a_bad_row_blocks_all_with_its_row_number(world, directory):
    rows = good_rows() + [
        ["GD-005", "界外", "", "", "", OUTSIDE[0], OUTSIDE[1], "", "", "否", None],   # row 5: outside the city
        ["GD-006", "", "", "", "某地", None, None, "", "", "也许", "昨天"],             # row 6: no title, urgent, time
        ["GD-001", "重复", "", "", "某地", None, None, "", "", "", None],              # row 7: duplicate id
        ["GD-008", "没有位置", "", "00000", "", None, None, "", "", "", None],          # row 8: no place, bad code
        ["GD-009", "只有经度", "", "", "", IN_A1[0], "北纬", "", "", "", None],           # row 9: latitude not a number
    ]
    report = hotline_io.import_hotline(hotline_io.read_hotline_xlsx(io.BytesIO(xlsx(rows))), commit=True)
    assert not report.ok and not report.committed and report.created == 0
    assert report.bad_rows == [5, 6, 7, 8, 9]
    by_row = {(e.row, e.field) for e in report.errors}
    assert {(5, "经度"), (6, "标题"), (6, "紧急"), (6, "来电时间"), (7, "工单编号"), (8, "分类编码"), (9, "纬度")} <= by_row
    lines = "\n".join(report.error_lines())
    assert "第 5 行" in lines and "不在本市网格范围内" in lines and "与第 2 行重复" in lines
    assert Case.objects.count() == 0
    assert not User.objects.filter(username="hotline-import").exists()


def test_command_dry_run_commit_and_reporter(world, directory, tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx(good_rows()))
    out = io.StringIO()
    call_command("import_hotline", str(path), stdout=out, stderr=io.StringIO())
    assert "试运行" in out.getvalue() and "将新建 3 件" in out.getvalue()
    assert Case.objects.count() == 0

    out = io.StringIO()
    call_command("import_hotline", str(path), "--commit", "--reporter", "dispatcher", stdout=out,
                 stderr=io.StringIO())
    assert "已导入" in out.getvalue() and "第 2 行: 案件 990101-" in out.getvalue()
    assert set(Case.objects.values_list("reporter__username", flat=True)) == {"dispatcher"}

    with pytest.raises(CommandError, match="找不到用户"):
        call_command("import_hotline", str(path), "--reporter", "nobody", stdout=io.StringIO())
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([["GD-1", "", "", "", "某地", None, None, "", "", "", None]]))
    with pytest.raises(CommandError) as exc:
        call_command("import_hotline", str(bad), "--commit", stdout=io.StringIO(), stderr=io.StringIO())
    assert "第 2 行: 标题: 请填写标题" in str(exc.value)
    no_header = tmp_path / "no_header.xlsx"
    no_header.write_bytes(xlsx([["x"]], header=["编号", "标题"]))
    with pytest.raises(CommandError, match="缺少列：工单编号"):
        call_command("import_hotline", str(no_header), stdout=io.StringIO(), stderr=io.StringIO())
