"""The category directory as versioned reference data: load, check, activate, local categories, and
the xlsx import/export of the active version's categories, time limits and routing rules."""

from __future__ import annotations

import importlib
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from gongzhi.cases import catalog_io, intake
from gongzhi.cases import directory as dirmod
from gongzhi.cases.choices import LimitUnit, Step
from gongzhi.cases.models import Case, Category, DirectoryVersion, RoutingRule, TimeLimit
from gongzhi.core.models import AuditLog

pytestmark = pytest.mark.django_db
IN_A1 = (100.05, 30.05)
HEADER = "matter_kind,major_code,major_name,minor_code,code5,name\n"


def csv_file(tmp_path, body: str, name: str = "directory.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --------------------------------------------------------------------------- loading


def test_bundled_csv_loads_as_a_new_inactive_version():
    active_before = dirmod.active_version()
    version = dirmod.load_directory_csv(dirmod.BUNDLED_CSV, name="副本", source="bundled")
    assert not version.is_active and dirmod.active_version() == active_before
    assert version.categories.count() == 403
    assert version.categories.filter(kind=Category.Kind.COMPONENT).count() == 153
    assert version.categories.filter(kind=Category.Kind.MATTER).count() == 250
    garbage = version.categories.get(code="06010")
    assert garbage.name == "暴露垃圾" and garbage.kind == Category.Kind.MATTER and garbage.major_name == "市容环境类"
    # components share their codes with the matters about them: they carry the B prefix
    assert version.categories.get(code="01001").name == "供水井盖异常"
    assert version.categories.get(code="B01001").name == "供水井盖"
    assert dirmod.check_version(version) == []
    assert AuditLog.objects.filter(action="directory.load", object_id=str(version.pk)).exists()


def test_migration_loads_activates_and_seeds_limits_idempotently():
    from django.apps import apps

    migration = importlib.import_module("gongzhi.cases.migrations.0002_default_directory")
    migration.forwards(apps, None)
    migration.forwards(apps, None)  # again: nothing doubles
    version = DirectoryVersion.objects.get(name=dirmod.DEFAULT_VERSION_NAME)
    assert version.is_active and version.categories.count() == 403
    garbage = version.categories.get(code="06010")
    limit = TimeLimit.objects.get(category=garbage)
    assert (limit.step, limit.amount, limit.unit, limit.area_class) == (Step.HANDLE, Decimal(4),
                                                                        LimitUnit.WORKING_HOURS, "")
    assert TimeLimit.objects.get(category__version=version, category__name="私搭乱建").unit == LimitUnit.WORKING_DAYS
    assert TimeLimit.objects.get(category__version=version, category__name="道路不洁").amount == 5
    assert TimeLimit.objects.filter(category__version=version).count() == len(migration.LIMITS)


def test_bad_csv_rows_are_reported_with_row_numbers_and_nothing_is_loaded(tmp_path):
    path = csv_file(tmp_path, (
        "管理事项,06,市容环境类,010,06010,暴露垃圾\n"     # row 2: good
        "管理东西,06,市容环境类,011,06011,积存垃圾渣土\n"  # row 3: unknown kind
        "管理事项,06,市容环境类,012,06012,\n"            # row 4: no name
        "管理事项,06,市容环境类,010,06010,又一个\n"       # row 5: duplicate code
        "管理事项,06,市容环境类,13,6013,道路不洁\n"        # row 6: 4 digits (Excel ate the zero)
    ))
    with pytest.raises(dirmod.DirectoryError) as exc:
        dirmod.load_directory_csv(path, name="坏文件")
    assert [e.row for e in exc.value.errors] == [3, 4, 5, 6]
    lines = "\n".join(exc.value.lines())
    assert "第 5 行" in lines and "与第 2 行重复" in lines and "开头的 0" in lines
    assert not DirectoryVersion.objects.filter(name="坏文件").exists()
    with pytest.raises(dirmod.DirectoryError, match="缺少列"):
        dirmod.read_directory_csv(io.StringIO("kind,name\n管理事项,x\n"))


def test_gbk_csv_and_name_taken(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "管理事项,06,市容环境类,010,06010,暴露垃圾\n").encode("gb18030"))
    version = dirmod.load_directory_csv(path, name="GBK")
    assert version.categories.get().name == "暴露垃圾"
    with pytest.raises(dirmod.DirectoryError, match="已有名为"):
        dirmod.load_directory_csv(path, name="GBK")


# --------------------------------------------------------------------------- check and activate


def test_new_version_checked_activated_settings_copied_old_cases_keep_theirs(world, directory, tmp_path):
    old = directory["version"]
    garbage = directory["garbage"]
    garbage.default_department = world.police_a
    garbage.keywords = "垃圾 堆放"
    garbage.closing_condition = "垃圾清理干净"
    garbage.extra_fields = [{"name": "volume", "label": "体积", "required": False}]
    garbage.save()
    street = directory["street"]
    street.keywords = "占道"
    street.save()
    open_case, _created = intake.report_case(intake.Report(title="店外经营", category=directory["street"],
                                                           lon=IN_A1[0], lat=IN_A1[1]), reporter=world.resident)

    path = csv_file(tmp_path, (
        "管理事项,06,市容环境类,010,06010,暴露垃圾（含堆物）\n"
        "管理事项,06,市容环境类,099,06099,新增事项\n"
    ))
    new = dirmod.load_directory_csv(path, name="第二版")
    new_garbage = new.categories.get(code="06010")
    new_garbage.keywords = "新关键词"  # the new version's own setting wins
    new_garbage.save()

    problems = dirmod.check_version(new)
    assert len(problems) == 1 and "09005" in problems[0] and "1 件未结案件" in problems[0]

    result = dirmod.activate_version(new, actor=world.admin)
    assert result.previous == old and result.copied == {"categories": 1, "limits": 1, "rules": 1}
    old.refresh_from_db()
    new.refresh_from_db()
    assert new.is_active and new.activated_at and not old.is_active
    assert DirectoryVersion.objects.filter(is_active=True).count() == 1
    new_garbage.refresh_from_db()
    assert new_garbage.default_department == world.police_a
    assert new_garbage.keywords == "新关键词"
    assert new_garbage.closing_condition == "垃圾清理干净" and new_garbage.extra_fields[0]["name"] == "volume"
    limit = new_garbage.limits.get()
    assert (limit.step, limit.amount, limit.unit) == (Step.HANDLE, Decimal(4), LimitUnit.WORKING_HOURS)
    rule = new_garbage.rules.get()
    assert (rule.area, rule.department) == (world.street_a, world.police_a)
    # old settings and old cases stay where they were
    assert garbage.limits.count() == 1 and garbage.rules.count() == 1
    open_case.refresh_from_db()
    assert open_case.category == directory["street"] and open_case.category.version == old
    assert Category.objects.filter(version=old).count() == 2
    log = AuditLog.objects.get(action="directory.activate", object_id=str(new.pk))
    assert log.actor == world.admin and "09005" in log.note
    # a new report can't use the old version's categories any more
    with pytest.raises(ValidationError):
        intake.report_case(intake.Report(title="x", category=directory["street"], lon=IN_A1[0], lat=IN_A1[1]),
                           reporter=world.resident)
    with pytest.raises(ValidationError, match="已是当前版本"):
        dirmod.activate_version(new, actor=None)


def test_activation_refuses_a_version_with_errors(world):
    version = DirectoryVersion.objects.create(name="有错")
    Category.objects.create(version=version, code="6010", name="暴露垃圾", kind=Category.Kind.MATTER)
    Category.objects.create(version=version, code="06011", name=" ", kind=Category.Kind.MATTER)
    problems = dirmod.check_version(version)
    assert any("6010" in p and "5 位数字" in p for p in problems)
    assert any("06011" in p and "名称为空" in p for p in problems)
    before = dirmod.active_version()
    with pytest.raises(ValidationError, match="未通过检查"):
        dirmod.activate_version(version, actor=None)
    assert dirmod.active_version() == before
    empty = DirectoryVersion.objects.create(name="空")
    assert dirmod.check_version(empty) == ["该版本没有任何分类"]


def test_local_categories(directory, world):
    version = directory["version"]
    noise = dirmod.add_local_category(version, code="L12345-01", name="噪音扰民", keywords="噪音 夜间施工",
                          default_department=world.police_a)
    assert noise.kind == Category.Kind.LOCAL and noise.version == version
    assert AuditLog.objects.filter(action="category.create", object_id=str(noise.pk)).exists()
    with pytest.raises(ValidationError) as exc:
        dirmod.add_local_category(version, code="12345", name="像国标编码")
    assert "code" in exc.value.message_dict
    with pytest.raises(ValidationError):
        dirmod.add_local_category(version, code="L12345-01", name="重复")
    with pytest.raises(ValidationError) as exc:
        dirmod.add_local_category(version, code="L2", name="坏附加字段", extra_fields={"name": "x"})
    assert "extra_fields" in exc.value.message_dict
    assert dirmod.check_version(version) == []


# --------------------------------------------------------------------------- commands


def test_load_directory_dry_run_writes_nothing_then_commit(world, directory, tmp_path):
    path = csv_file(tmp_path, "管理事项,06,市容环境类,010,06010,暴露垃圾\n管理部件,01,市政公用设施,001,01001,供水井盖\n")
    versions = DirectoryVersion.objects.count()
    out = run("load_directory", str(path), "--name", "第三版", "--activate")
    assert "试运行" in out and "管理部件 1" in out and "检查通过" in out and "1 条派遣规则" in out
    assert DirectoryVersion.objects.count() == versions
    assert directory["version"].pk == DirectoryVersion.objects.get(is_active=True).pk
    assert not AuditLog.objects.filter(action="directory.load").exists()

    out = run("load_directory", str(path), "--name", "第三版", "--commit")
    version = DirectoryVersion.objects.get(name="第三版")
    assert not version.is_active and version.categories.count() == 2
    out = run("activate_directory", "第三版")
    version.refresh_from_db()
    assert version.is_active and "已启用" in out
    assert version.categories.get(code="06010").limits.count() == 1  # carried over
    with pytest.raises(CommandError, match="没有名为"):
        run("activate_directory", "不存在")


def test_load_directory_command_reports_bad_rows(tmp_path):
    path = csv_file(tmp_path, "管理事项,06,市容环境类,010,06010,暴露垃圾\n管理事项,06,市容环境类,011,06011,\n")
    with pytest.raises(CommandError) as exc:
        run("load_directory", str(path), "--name", "坏", "--commit")
    assert "第 3 行" in str(exc.value) and "名称不能为空" in str(exc.value)
    assert not DirectoryVersion.objects.filter(name="坏").exists()


# --------------------------------------------------------------------------- xlsx


def workbook_bytes(sheets: dict[str, list[list]]) -> io.BytesIO:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def test_export_then_import_round_trip_changes_nothing(world, directory, tmp_path):
    path = tmp_path / "catalog.xlsx"
    run("export_categories", str(path))
    book = load_workbook(path)
    assert book.sheetnames == ["categories", "time_limits", "routing"]
    assert [c.value for c in book["categories"][1]] == list(catalog_io.CATEGORY_COLUMNS)
    assert [c.value for c in book["categories"][2]][:3] == ["06010", "暴露垃圾", "matter"]
    assert [c.value for c in book["time_limits"][2]] == ["06010", "handle", None, False, 4, "working_hours"]
    assert [c.value for c in book["routing"][2]] == ["06010", world.street_a.code, "police-a", 100]
    report = catalog_io.import_catalog(catalog_io.read_workbook(path), actor=None, commit=True)
    assert report.ok and report.changes == []
    out = run("export_categories", str(tmp_path / "named.xlsx"), "--version", directory["version"].name)
    assert "已导出" in out


def test_import_dry_run_then_commit(world, directory):
    sheets = {
        "categories": [list(catalog_io.CATEGORY_COLUMNS),
                       ["06010", "暴露垃圾", "matter", "06", "市容环境类", "垃圾 堆放", "police-a", "清理干净", "", True],
                       ["L001", "噪音扰民", "", "", "", "噪音", "", "", '[{"name": "db", "label": "分贝"}]', "是",
                        "否"]],
        "time_limits": [list(catalog_io.LIMIT_COLUMNS),
                        ["06010", "处置", "A", "否", 2, "工作小时"],
                        ["06010", "handle", "", False, 4, "working_hours"],
                        ["L001", "dispatch", "", "是", 1.5, "natural_hours"]],
        "routing": [list(catalog_io.ROUTING_COLUMNS),
                    ["L001", "", "police-a", 10]],
    }
    data = workbook_bytes(sheets).getvalue()
    report = catalog_io.import_catalog(catalog_io.read_workbook(io.BytesIO(data)), actor=None, commit=False)
    assert report.ok and not report.committed and "试运行" in report.summary()
    assert report.counts == {"category.create": 1, "category.update": 1, "limits": 2, "rules": 1}
    assert not Category.objects.filter(code="L001").exists()
    assert directory["garbage"].limits.count() == 1

    report = catalog_io.import_catalog(catalog_io.read_workbook(io.BytesIO(data)), actor=world.admin, commit=True)
    assert report.committed
    garbage = Category.objects.get(pk=directory["garbage"].pk)
    assert garbage.default_department == world.police_a and garbage.keywords == "垃圾 堆放"
    assert {(t.area_class, t.amount) for t in garbage.limits.all()} == {("A", 2), ("", 4)}
    noise = Category.objects.get(version=directory["version"], code="L001")
    assert noise.kind == Category.Kind.LOCAL and noise.extra_fields == [{"name": "db", "label": "分贝"}]
    assert not noise.is_public and garbage.is_public  # 公开: an empty or missing cell leaves it as it was
    limit = noise.limits.get()
    assert (limit.step, limit.urgent, limit.amount, limit.unit) == ("dispatch", True, Decimal("1.5"), "natural_hours")
    assert noise.rules.get().priority == 10
    # the routing sheet lists only L001: 06010's rule stays
    assert garbage.rules.count() == 1
    assert AuditLog.objects.filter(action="category.create", actor=world.admin).exists()

    # A later file that lists 06010 in routing with another department replaces its rules.
    again = workbook_bytes({"routing": [list(catalog_io.ROUTING_COLUMNS), ["06010", "", "police-b", ""]]})
    report = catalog_io.import_catalog(catalog_io.read_workbook(again), actor=None, commit=True)
    assert report.committed
    assert [(r.area, r.department.code, r.priority) for r in garbage.rules.all()] == [(None, "police-b", 100)]


def test_bad_xlsx_rows_reported_with_sheet_and_row_and_nothing_written(world, directory, tmp_path):
    sheets = {
        "categories": [list(catalog_io.CATEGORY_COLUMNS),
                       ["L002", "好的本地分类", "local", "", "", "", "", "", "", ""],
                       ["L003", "", "local", "", "", "", "nobody", "", "{bad json", "也许"],
                       ["L002", "重复", "local", "", "", "", "", "", "", ""],
                       ["06010", "暴露垃圾", "component", "", "", "", "", "", "", ""]],
        "time_limits": [list(catalog_io.LIMIT_COLUMNS),
                        ["06010", "handle", "", False, 4, "working_hours"],
                        ["06010", "cook", "D", "maybe", -1, "weeks"],
                        ["99999", "handle", "", False, 4, "working_hours"]],
        "routing": [list(catalog_io.ROUTING_COLUMNS),
                    ["06010", "no-such-area", "no-such-dept", "abc"]],
    }
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook_bytes(sheets).getvalue())
    report = catalog_io.import_catalog(catalog_io.read_workbook(path), actor=None, commit=True)
    assert not report.ok and not report.committed
    bad = {(e.sheet, e.row) for e in report.errors}
    # time_limits row 2 is fine in itself but names 06010, whose categories row (5) is bad
    assert bad == {("categories", 3), ("categories", 4), ("categories", 5), ("time_limits", 2), ("time_limits", 3),
                   ("time_limits", 4), ("routing", 2)}
    fields = {(e.sheet, e.row, e.field) for e in report.errors}
    assert {("categories", 3, "name"), ("categories", 3, "default_department"), ("categories", 3, "extra_fields"),
            ("categories", 3, "is_active"), ("time_limits", 3, "step"), ("time_limits", 3, "area_class"),
            ("time_limits", 3, "urgent"), ("time_limits", 3, "amount"), ("time_limits", 3, "unit"),
            ("routing", 2, "area_code"), ("routing", 2, "department_code"), ("routing", 2, "priority")} <= fields
    assert not Category.objects.filter(code="L002").exists()
    with pytest.raises(CommandError) as exc:
        run("import_categories", str(path), "--commit")
    assert "工作表 time_limits 第 4 行" in str(exc.value) and "未写入任何数据" in str(exc.value)
    assert not Category.objects.filter(code="L002").exists()


def test_import_categories_command_dry_run_writes_nothing(world, directory, tmp_path):
    path = tmp_path / "one.xlsx"
    path.write_bytes(workbook_bytes({"categories": [["code", "name"], ["L010", "本地"]]}).getvalue())
    out = run("import_categories", str(path))
    assert "试运行" in out and "新建分类 L010" in out
    assert not Category.objects.filter(code="L010").exists()
    run("import_categories", str(path), "--commit")
    assert Category.objects.get(code="L010", version=directory["version"]).kind == Category.Kind.LOCAL
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(CommandError, match="不是有效的 xlsx"):
        run("import_categories", str(tmp_path / "junk.xlsx"))


def test_admin_pages(world, directory, client):
    client.force_login(world.admin)
    case, _created = intake.report_case(intake.Report(title="垃圾", category=directory["garbage"], lon=IN_A1[0],
                                                      lat=IN_A1[1]), reporter=world.resident)
    for url in ("/admin/cases/directoryversion/", "/admin/cases/category/", "/admin/cases/routingrule/",
                "/admin/cases/case/", f"/admin/cases/case/{case.pk}/change/",
                f"/admin/cases/category/{directory['garbage'].pk}/change/", "/admin/cases/category/add/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/cases/case/add/").status_code == 403
    # a local category added in admin: a code shaped like a standard one is refused
    add = {"version": str(directory["version"].pk), "code": "12345", "name": "噪音扰民", "kind": "local",
           "extra_fields": "[]", "is_active": "on", "limits-TOTAL_FORMS": "0", "limits-INITIAL_FORMS": "0",
           "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}
    response = client.post("/admin/cases/category/add/", add)
    assert response.status_code == 200 and "国标编码格式" in response.content.decode()
    response = client.post("/admin/cases/category/add/", {**add, "code": "L-noise"})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="category.create", actor=world.admin).exists()
    # 启用此版本 from the admin
    other = directory_load_small()
    response = client.post("/admin/cases/directoryversion/", {"action": "activate", "_selected_action": [other.pk]},
                           follow=True)
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.is_active
    assert Case.objects.get(pk=case.pk).category == directory["garbage"]
    # a category edited in admin leaves audit rows, inlines included
    garbage = directory["garbage"]
    rule = RoutingRule.objects.get(category=garbage)
    limit = TimeLimit.objects.get(category=garbage)
    data = {
        "name": "暴露垃圾", "major_code": "", "major_name": "", "keywords": "垃圾", "default_department": "",
        "closing_condition": "", "extra_fields": "[]", "is_active": "on",
        "limits-TOTAL_FORMS": "1", "limits-INITIAL_FORMS": "1", "limits-MIN_NUM_FORMS": "0",
        "limits-MAX_NUM_FORMS": "1000", "limits-0-id": str(limit.pk), "limits-0-category": str(garbage.pk),
        "limits-0-step": "handle", "limits-0-area_class": "", "limits-0-amount": "6",
        "limits-0-unit": "working_hours",
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1", "rules-MIN_NUM_FORMS": "0", "rules-MAX_NUM_FORMS": "1000",
        "rules-0-id": str(rule.pk), "rules-0-category": str(garbage.pk), "rules-0-area": str(world.street_a.pk),
        "rules-0-department": str(world.police_a.pk), "rules-0-priority": "100", "rules-0-DELETE": "on",
    }
    response = client.post(f"/admin/cases/category/{garbage.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TimeLimit.objects.get(pk=limit.pk).amount == 6 and not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert AuditLog.objects.filter(action="timelimit.update").exists()
    assert AuditLog.objects.filter(action="routingrule.delete").exists()


def directory_load_small():
    return dirmod.load_directory_csv(io.StringIO(HEADER + "管理事项,06,市容环境类,010,06010,暴露垃圾\n"), name="后台启用")
