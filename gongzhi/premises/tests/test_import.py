"""xlsx import (dry run, per-row errors, outside the city) and export."""

from __future__ import annotations

import io

import pytest

from gongzhi.premises import io as premises_io
from gongzhi.premises import services
from gongzhi.premises.models import Premises

HEADER = ["编号", "名称", "类型", "地址", "经度", "纬度", "经营者", "联系电话", "风险等级", "证照"]


def xlsx(rows: list[list], header=None) -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header or HEADER)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


GOOD = [
    ["S001", "凤凰便民超市", "shop", "凤凰小巷1号", 100.05, 30.05, "韩立新", "13900002001", "低",
     "营业执照:91150302MA0N:2027-06-30; 食品经营许可证:JY115:2026-12-31"],
    ["S002", "小巷群租房", "群租房", "凤凰小巷15号", "100.15", "30.05", "宁宝山", "", "high", ""],
    ["", "待定位的店", "shop", "不详", None, None, "", "", "", ""],
]


def test_dry_run_writes_nothing_then_commit_writes_all(world, types):
    rows = premises_io.read_xlsx(xlsx(GOOD))
    report = premises_io.import_premises(rows, actor=world.dispatcher, commit=False)
    assert report.ok and (report.created, report.to_locate) == (3, 1)
    assert "试运行" in report.summary() and not Premises.objects.exists()
    report = premises_io.import_premises(rows, actor=world.dispatcher, commit=True)
    assert report.committed
    s1 = Premises.objects.get(code="S001")
    assert s1.area == world.grid_a1 and s1.licences.count() == 2
    assert Premises.objects.get(code="S002").area == world.grid_a2
    assert Premises.objects.get(name="待定位的店").area is None
    # the same file again updates (nothing new)
    again = premises_io.import_premises(premises_io.read_xlsx(xlsx(GOOD[:2])), actor=world.dispatcher, commit=True)
    assert (again.created, again.updated) == (0, 2) and Premises.objects.count() == 3


def test_bad_rows_are_listed_and_nothing_is_written(world, types):
    rows = premises_io.read_xlsx(xlsx([
        GOOD[0],
        ["S009", "", "shop", "", 100.05, 30.05, "", "", "", ""],                 # 3: no name
        ["S010", "外地的店", "shop", "", 120.0, 10.0, "", "", "", ""],             # 4: outside the city
        ["S011", "怪店", "spaceport", "", 100.05, 30.05, "", "", "", ""],          # 5: unknown type
        ["S012", "电话店", "shop", "", 100.05, 30.05, "", "call me", "", ""],       # 6: bad phone
        ["S013", "证照店", "shop", "", 100.05, 30.05, "", "", "", "驾照:123:"],     # 7: unknown licence type
        ["S014", "日期店", "shop", "", 100.05, 30.05, "", "", "", "营业执照:1:明年"],  # 8: bad date
        ["S001", "重复", "shop", "", 100.05, 30.05, "", "", "", ""],               # 9: code twice in the file
        ["S015", "坐标店", "shop", "", "east", 30.05, "", "", "", ""],             # 10: not a number
        ["S016", "西街的店", "shop", "", 100.55, 30.05, "", "", "", ""],            # 11: outside the dispatcher's
    ]))
    report = premises_io.import_premises(rows, actor=world.dispatcher, commit=True)
    assert not report.committed and not Premises.objects.exists()
    assert report.bad_rows == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    lines = "\n".join(report.error_lines())
    assert "第 4 行: lon: 位置（120.000000, 10.000000）不在本市范围内" in lines
    assert "第 5 行: type: 未知的场所类型：spaceport" in lines
    assert "第 9 行: code: 与第 2 行的编号重复" in lines
    assert "第 11 行: lon: 该位置不在您的管辖范围内" in lines


def test_a_file_without_the_columns_is_refused(world, types):
    from gongzhi.areas.io import ImportFileError

    with pytest.raises(ImportFileError):
        premises_io.read_xlsx(xlsx([["x"]], header=["foo", "bar"]))
    with pytest.raises(ImportFileError):
        premises_io.read_xlsx(io.BytesIO(b"not a workbook"))


def test_export_reads_back(world, types):
    services.create_premises(actor=None, name="凤凰便民超市", type=types["shop"], code="S001", lon=100.05, lat=30.05,
                             licences=[{"kind": "business", "number": "91150302", "valid_until": "2027-06-30"}])
    data = premises_io.to_xlsx_bytes(Premises.objects.all())
    rows = premises_io.read_xlsx(io.BytesIO(data))
    assert rows[0].values["name"] == "凤凰便民超市" and rows[0].licences[0]["number"] == "91150302"
    report = premises_io.import_premises(rows, actor=world.admin, commit=False)
    assert report.ok and report.updated == 1
