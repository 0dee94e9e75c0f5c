"""Import and export of areas (GeoJSON, xlsx) through the management commands and ``areas.io``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from gongzhi.areas import io as area_io
from gongzhi.areas import services
from gongzhi.areas.models import Area, AreaLevel
from gongzhi.conftest import square
from gongzhi.core.models import AuditLog

STREET_A = "990101001"
NEW_COMMUNITY = "990101001002"


def feature(code, name, level, parent_code="", geometry=None, **properties) -> dict:
    props = {"code": code, "name": name, "level": level, "parent_code": parent_code, **properties}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "areas"
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def run(command: str, *args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def state() -> tuple[list, int]:
    """Everything an import could change: the areas and the audit log."""
    areas = list(Area.objects.order_by("pk").values_list("pk", "name", "code", "path", "geometry", "attributes"))
    return areas, AuditLog.objects.count()


def new_community_features() -> list[dict]:
    """A community with two grids under street A; the grids name their parent by code (in-file)."""
    return [
        feature(NEW_COMMUNITY, "东二社区", "community", STREET_A, square(100.2, 30.2, 0.2),
                name_en="East Two", attributes={"households": 1200}),
        feature("990101001002001", "东二一网格", "grid", NEW_COMMUNITY, square(100.2, 30.2, 0.1)),
        feature("990101001002002", "东二二网格", "grid", NEW_COMMUNITY, square(100.3, 30.2, 0.1)),
    ]


# -- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["geojson", "xlsx"])
def test_export_then_import_is_a_dry_run_with_nothing_to_change(world, tmp_path, ext):
    path = tmp_path / f"areas.{ext}"
    out, _ = run("export_areas", str(path))
    assert "9" in out
    before = state()

    out, err = run("import_areas", str(path))

    assert "9 个无变化" in out
    assert "将新建 0 个区域，更新 0 个" in out
    assert "校验" in err  # the progress bar went to stderr
    assert state() == before


def test_round_trip_with_an_edit_reports_one_update_and_writes_nothing(world, tmp_path):
    path = tmp_path / "areas.geojson"
    run("export_areas", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    for f in data["features"]:
        if f["properties"]["code"] == "990101001001001":
            f["properties"]["name"] = "东一网格（新）"
    write_geojson(path, data["features"])
    before = state()

    report = area_io.import_areas(area_io.read_file(path), actor=None, commit=False)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 8)
    assert report.ok and not report.committed
    assert state() == before


def test_export_is_parents_first_with_the_documented_columns(world, tmp_path):
    path = tmp_path / "areas.xlsx"
    run("export_areas", str(path))
    sheet = load_workbook(path)["areas"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == area_io.COLUMNS
    codes = [r[0] for r in rows[1:]]
    seen: set[str] = set()
    for row in rows[1:]:
        assert row[4] is None or row[4] in seen  # parent_code appeared earlier
        seen.add(row[0])
    assert "990101001001001" in codes
    grid = next(r for r in rows[1:] if r[0] == "990101001001001")
    assert grid[3] == "grid" and grid[4] == "990101001001" and grid[5] == "东一社区"
    assert json.loads(grid[6]) == world.grid_a1.geometry and json.loads(grid[7]) == {}


# -- creating a subtree --------------------------------------------------------------------------


def test_geojson_creates_a_community_with_grids_dry_run_first(world, tmp_path):
    path = write_geojson(tmp_path / "new.geojson", new_community_features())
    before = state()

    out, _ = run("import_areas", str(path))
    assert "将新建 3 个区域" in out and "--commit" in out
    assert state() == before

    out, _ = run("import_areas", str(path), "--commit")
    assert "已导入" in out and "新建 3 个区域" in out
    community = Area.objects.get(code=NEW_COMMUNITY)
    assert community.parent == world.street_a and community.name_en == "East Two"
    assert community.attributes == {"households": 1200}
    grids = Area.objects.filter(parent=community).order_by("code")
    assert [g.name for g in grids] == ["东二一网格", "东二二网格"]
    assert all(g.path.startswith(community.path) and g.depth == community.depth + 1 for g in grids)
    created = AuditLog.objects.filter(action="area.create", object_id__in=[str(community.pk),
                                                                          *[str(g.pk) for g in grids]])
    assert created.count() == 3
    assert set(created.values_list("actor_name", flat=True)) == {"system"}
    # The new grid answers point lookups at once (the index stamp moved).
    assert services.area_at(100.25, 30.25).code == "990101001002001"

    out, _ = run("import_areas", str(path), "--commit")  # a second run changes nothing
    assert "3 个无变化" in out


def test_import_updates_existing_areas_and_audits(world, tmp_path):
    path = write_geojson(tmp_path / "rename.geojson", [
        feature("990101001001001", "东一网格（新）", "grid", "990101001001", world.grid_a1.geometry,
                attributes={"note": "改名"}),
    ])
    run("import_areas", str(path), "--commit")
    world.grid_a1.refresh_from_db()
    assert world.grid_a1.name == "东一网格（新）" and world.grid_a1.attributes == {"note": "改名"}
    log = AuditLog.objects.get(action="area.update", object_id=str(world.grid_a1.pk))
    assert log.after["name"] == "东一网格（新）"


def test_parent_by_unique_name_and_ambiguous_name(world):
    rows = area_io.read_file(StringIOBytes(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None,
         "properties": {"code": "990101001001003", "name": "东三网格", "level": "grid", "parent_name": "东一社区"}},
    ]})), fmt="geojson")
    report = area_io.import_areas(rows, actor=None, commit=True)
    assert report.committed and report.created == 1
    assert Area.objects.get(code="990101001001003").parent == world.community_a

    services.create_area(actor=None, level=world.community_b.level, parent=world.street_b, name="东一社区",
                         code="990101002002")
    rows[0].code, rows[0].name = "990101001001004", "东四网格"
    report = area_io.import_areas(rows, actor=None, commit=True)
    assert [(e.row, e.field) for e in report.errors] == [(1, "parent_name")]
    assert "不止一个" in report.errors[0].message


def test_areas_without_codes_round_trip_by_name_path(world, tmp_path):
    unit = AreaLevel.objects.create(rank=6, slug="unit", name="单元")
    building = services.create_area(actor=None, level=AreaLevel.objects.get(slug="building"),
                                    parent=world.grid_a1, name="3号楼")
    services.create_area(actor=None, level=unit, parent=building, name="1单元")
    path = tmp_path / "units.geojson"
    run("export_areas", str(path), "--under", "990101001001001")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert features[-1]["properties"]["parent_name"] == "990101001001001/3号楼"
    features.append(feature("", "2单元", "unit", "", None, parent_name="990101001001001/3号楼"))
    write_geojson(path, features)

    report = area_io.import_areas(area_io.read_file(path), actor=None, commit=True)

    assert report.ok, report.error_lines()
    assert (report.created, report.updated, report.unchanged) == (1, 0, 3)
    assert Area.objects.get(name="2单元").parent == building


def test_moving_by_import_is_refused(world, tmp_path):
    path = write_geojson(tmp_path / "move.geojson", [
        feature("990101001001001", "东一网格", "grid", "990101002001", world.grid_a1.geometry),
    ])
    with pytest.raises(CommandError) as exc:
        run("import_areas", str(path), "--commit")
    assert "第 1 行: parent_code: 移动区域请在管理后台操作" in str(exc.value)


# -- bad rows ------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_is_written(world, tmp_path):
    open_ring = {"type": "Polygon", "coordinates": [[[100.2, 30.3], [100.25, 30.3], [100.25, 30.35],
                                                      [100.2, 30.35]]]}
    bow_tie = {"type": "Polygon", "coordinates": [[[100.2, 30.3], [100.3, 30.4], [100.3, 30.3],
                                                    [100.2, 30.4], [100.2, 30.3]]]}
    features = [
        *new_community_features()[:2],                                                      # 1, 2 good
        feature("990101001002003", "星系网格", "galaxy", NEW_COMMUNITY),                      # 3
        feature("990101009001001", "无主网格", "grid", "990101009001"),                       # 4
        feature("990101001002001", "重复网格", "grid", NEW_COMMUNITY),                        # 5
        feature("990101002001003", "错码网格", "grid", NEW_COMMUNITY),                        # 6
        feature("990101001002004", "开环网格", "grid", NEW_COMMUNITY, open_ring),             # 7
        feature("990101001002005", "蝴蝶网格", "grid", NEW_COMMUNITY, bow_tie),               # 8
        feature("990101001002006", "出界网格", "grid", NEW_COMMUNITY, square(100.45, 30.2, 0.1)),  # 9
        feature("990101001002007", "  ", "grid", NEW_COMMUNITY),                             # 10
        feature("99010100100200A", "字母网格", "grid", NEW_COMMUNITY),                        # 11
        feature("990101001002009", "好网格", "grid", NEW_COMMUNITY, square(100.3, 30.3, 0.1)),  # 12 good
        feature("X", "", "grid", "990101009"),                                             # 13: three problems
    ]
    path = write_geojson(tmp_path / "bad.geojson", features)
    before = state()

    with pytest.raises(CommandError) as exc:
        run("import_areas", str(path), "--commit")

    assert state() == before
    message = str(exc.value)
    expected = {
        3: ("level", "没有这个层级"),
        4: ("parent_code", "找不到编码为 990101009001 的上级区域"),
        5: ("code", "与第 2 行重复"),
        6: ("code", "应以上级编码 990101001002 开头"),
        7: ("geometry", "没有闭合"),
        8: ("geometry", "边界无效"),
        9: ("geometry", "超出上级区域"),
        10: ("name", "名称不能为空"),
        11: ("code", "15 位数字"),
        13: ("parent_code", "找不到编码为 990101009 的上级区域"),
    }
    for row, (column, reason) in expected.items():
        line = next((ln for ln in message.splitlines() if ln.startswith(f"第 {row} 行: {column}: ")), None)
        assert line is not None and reason in line, (row, message)
    for good in (1, 2, 12):
        assert not any(ln.startswith(f"第 {good} 行:") for ln in message.splitlines())
    assert "第 13 行: code: 网格编码应为 15 位数字" in message and "第 13 行: name: 名称不能为空" in message
    assert "共 13 行，其中 10 行有错误，未写入任何数据" in message

    report = area_io.import_areas(area_io.read_file(path), actor=None, commit=True)
    assert report.bad_rows == list(expected) and not report.committed


def test_xlsx_row_with_garbage_geometry(world, tmp_path):
    header = list(area_io.COLUMNS)
    good = [NEW_COMMUNITY, "东二社区", "", "community", STREET_A, "", json.dumps(square(100.2, 30.2, 0.2)), "{}"]
    garbage = ["990101001002001", "东二一网格", "", "grid", NEW_COMMUNITY, "", "这不是边界 ((", ""]
    number = ["990101001002002", "东二二网格", "", "grid", NEW_COMMUNITY, "", 42, ""]
    path = write_xlsx(tmp_path / "bad.xlsx", [header, good, garbage, number])
    before = state()

    with pytest.raises(CommandError) as exc:
        run("import_areas", str(path), "--commit")

    lines = str(exc.value).splitlines()
    assert any(ln.startswith("第 3 行: geometry: ") for ln in lines), lines
    assert any(ln.startswith("第 4 行: geometry: ") for ln in lines), lines
    assert not any(ln.startswith("第 2 行") for ln in lines)
    assert state() == before


def test_xlsx_with_chinese_headers_and_numeric_codes(world, tmp_path):
    path = write_xlsx(tmp_path / "cn.xlsx", [
        ["编码", "名称", "层级", "上级编码"],
        [int(NEW_COMMUNITY), "东二社区", "社区/村", int(STREET_A)],
    ])
    out, _ = run("import_areas", str(path), "--commit")
    assert "新建 1 个区域" in out
    assert Area.objects.get(code=NEW_COMMUNITY).parent == world.street_a


# -- unreadable files --------------------------------------------------------------------------


def _xlsx_without_header(path: Path) -> Path:
    return write_xlsx(path, [[NEW_COMMUNITY, "东二社区", "", "community", STREET_A, "", "", "{}"]])


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("notes.txt", lambda p: p.write_text("just some notes\n", encoding="utf-8"), "无法识别文件格式"),
    ("notes.geojson", lambda p: p.write_text("just some notes\n", encoding="utf-8"), "不是有效的 JSON"),
    ("list.geojson", lambda p: p.write_text("[1, 2, 3]", encoding="utf-8"), "FeatureCollection"),
    ("fake.xlsx", lambda p: p.write_text("not a zip", encoding="utf-8"), "不是有效的 xlsx"),
    ("noheader.xlsx", _xlsx_without_header, "缺少列"),
    ("missing.geojson", lambda p: None, "找不到文件"),
])
def test_unreadable_files_give_a_clear_error(world, tmp_path, name, make, reason):
    path = tmp_path / name
    make(path)
    before = state()
    with pytest.raises(CommandError) as exc:
        run("import_areas", str(path), "--commit")
    assert str(exc.value).startswith("无法导入") and reason in str(exc.value)
    assert "Traceback" not in str(exc.value)
    assert state() == before


# -- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["geojson", "xlsx"])
def test_export_under_a_subtree_only_contains_it(world, tmp_path, ext):
    path = tmp_path / f"street.{ext}"
    run("export_areas", str(path), "--under", STREET_A)
    names = {row.name for row in area_io.read_file(path)}
    assert names == {a.name for a in world.areas_of_a()}


def test_export_errors(world, tmp_path):
    with pytest.raises(CommandError, match="找不到编码为 999 的区域"):
        run("export_areas", str(tmp_path / "x.geojson"), "--under", "999")
    with pytest.raises(CommandError, match="无法从文件名判断格式"):
        run("export_areas", str(tmp_path / "x.csv"))
    run("export_areas", str(tmp_path / "x.dat"), "--format", "geojson")
    assert json.loads((tmp_path / "x.dat").read_text(encoding="utf-8"))["type"] == "FeatureCollection"


def test_xlsx_cells_are_text_not_formulas(world, tmp_path):
    services.update_area(world.grid_a1, actor=None, name="=HYPERLINK(\"x\")")
    path = tmp_path / "areas.xlsx"
    run("export_areas", str(path))
    rows = list(load_workbook(path)["areas"].iter_rows(values_only=True))
    assert any(r[1] == "=HYPERLINK(\"x\")" for r in rows)
    out, _ = run("import_areas", str(path))
    assert "9 个无变化" in out


class StringIOBytes:
    """A minimal binary file object for ``read_file``."""

    def __init__(self, text: str):
        self._data = text.encode()

    def read(self) -> bytes:
        return self._data
