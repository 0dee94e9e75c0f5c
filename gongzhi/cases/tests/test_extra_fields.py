"""Extra fields a category declares (extra_fields.py): the definition checks (admin, xlsx), the checks
of the values at intake through the API and the phone page (400 with the field's error, nothing
stored), what the channels put in ``extra`` themselves, and the case page."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from gongzhi.cases import catalog_io, intake
from gongzhi.cases import directory as dirmod
from gongzhi.cases.choices import Source
from gongzhi.cases.extra_fields import clean_definitions, fields_of
from gongzhi.cases.models import Case, Category

pytestmark = pytest.mark.django_db
IN_A1 = {"lon": 100.05, "lat": 30.05}
JSON = {"HTTP_ACCEPT": "application/json"}
FIELDS = [
    {"name": "plate", "label": "车牌号", "label_en": "Plate number", "required": True, "max_length": 10},
    {"name": "cars", "label": "车辆数", "type": "number"},
    {"name": "period", "label": "时段", "label_en": "When", "type": "choice", "choices": ["白天", "夜间"]},
    {"name": "since", "label": "开始日期", "type": "date"},
]


@pytest.fixture
def parking(directory):
    """09005 店外经营 of the test directory, declaring FIELDS."""
    category = directory["street"]
    category.extra_fields = FIELDS
    category.save()
    return category


def api_report(client, **overrides):
    data = {"title": "车辆违停", "category_code": "09005", **IN_A1, **overrides}
    return client.post("/api/v1/cases", data, content_type="application/json", **overrides.pop("headers", {}))


# --------------------------------------------------------------------------- definitions


def test_definitions_old_and_new_forms_are_accepted_and_kept_as_written():
    old = [{"name": "volume", "label": "体积", "required": False}, {"name": "db"}]
    assert clean_definitions(old) == old  # written before "type" existed: unchanged
    assert clean_definitions(FIELDS) == FIELDS
    assert clean_definitions(None) == [] and clean_definitions("") == []
    # Trimmed, and a spreadsheet's Chinese type names spelled as the type.
    assert clean_definitions([{"name": " n ", "label": " 数量 ", "type": "数字"}]) == [
        {"name": "n", "label": "数量", "type": "number"}]
    assert clean_definitions(clean_definitions(FIELDS)) == FIELDS
    plate = fields_of(type("C", (), {"extra_fields": old})())[0]
    assert (plate.type, plate.max_length, plate.required, plate.display_label) == ("text", 200, False, "体积")


@pytest.mark.parametrize("definition, message", [
    ({"name": "plate", "type": "colour"}, "type 须为 text"),
    ({"name": "period", "type": "choice"}, "须给出 choices"),
    ({"name": "period", "type": "choice", "choices": []}, "choices 须为非空的文本列表"),
    ({"name": "period", "type": "choice", "choices": ["白天", "白天"]}, "重复的选项"),
    ({"name": "plate", "choices": ["a"]}, "只有 choice"),
    ({"name": "cars", "type": "number", "max_length": 5}, "只有 text"),
    ({"name": "plate", "max_length": 0}, "max_length 须为 1 到 2000"),
    ({"name": "plate", "max_length": True}, "max_length 须为 1 到 2000"),
    ({"name": "plate", "requird": True}, "未知的键 requird"),
    ({"name": "plate", "required": "yes"}, "required 须为 true 或 false"),
    ({"name": "plate", "label": 3}, "label 须为文本"),
    ({"name": "车牌"}, "name 只能含英文字母"),
    ({"name": "hotline_id"}, "系统保留"),
    ({"label": "车牌号"}, "含 name 的 JSON 对象"),
])
def test_bad_definitions_are_refused_with_a_clear_message(definition, message):
    with pytest.raises(ValidationError) as exc:
        clean_definitions([definition])
    assert any(message in m for m in exc.value.messages), exc.value.messages


def test_every_problem_is_listed_at_once():
    with pytest.raises(ValidationError) as exc:
        clean_definitions([{"name": "a", "type": "x"}, {"name": "a"}, {"name": "b", "max_length": -1}])
    text = " ".join(exc.value.messages)
    assert "附加字段 a：type" in text and "附加字段 a 重复" in text and "附加字段 b：max_length" in text
    with pytest.raises(ValidationError, match="JSON 列表"):
        clean_definitions({"name": "x"})
    with pytest.raises(ValidationError, match="最多 20 个"):
        clean_definitions([{"name": f"f{i}"} for i in range(21)])


def test_local_category_and_admin_use_the_same_checks(world, directory, client):
    with pytest.raises(ValidationError) as exc:
        dirmod.add_local_category(directory["version"], code="L9", name="测试", extra_fields=[{"name": "x", "type": "?"}])
    assert "extra_fields" in exc.value.message_dict
    client.force_login(world.admin)
    category = directory["garbage"]
    url = f"/admin/cases/category/{category.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {"name": category.name, "major_code": "", "major_name": "", "keywords": "", "default_department": "",
            "closing_condition": "", "is_active": "on", "limits-TOTAL_FORMS": "0", "limits-INITIAL_FORMS": "0",
            "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0",
            "extra_fields": json.dumps([{"name": "volume", "type": "choice"}])}
    response = client.post(url, data)
    assert response.status_code == 200 and "须给出 choices" in response.content.decode()
    data["extra_fields"] = json.dumps([{"name": "volume", "label": "体积", "type": "数字"}])
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    category.refresh_from_db()
    assert category.extra_fields == [{"name": "volume", "label": "体积", "type": "number"}]


def _workbook(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = "categories"
    for row in [list(catalog_io.CATEGORY_COLUMNS), *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_xlsx_round_trip_keeps_typed_fields_and_reads_smart_quotes(world, parking):
    data = catalog_io.export_workbook()
    report = catalog_io.import_catalog(catalog_io.read_workbook(io.BytesIO(data)), actor=None, commit=True)
    assert report.ok and report.changes == []
    assert Category.objects.get(pk=parking.pk).extra_fields == FIELDS
    # Excel or WPS turned the quotes into curly ones while someone typed.
    cell = '[{“name”: “plate”, “label”: “车牌号”, “type”: “文本”, “max_length”: 8}]'
    row = ["09005", "店外经营", "matter", "", "", "", "", "", cell, True]
    report = catalog_io.import_catalog(catalog_io.read_workbook(_workbook([row])), actor=None, commit=True)
    assert report.ok, report.error_lines()
    assert Category.objects.get(pk=parking.pk).extra_fields == [
        {"name": "plate", "label": "车牌号", "type": "text", "max_length": 8}]
    row[8] = '[{"name": "period", "type": "choice"}]'
    report = catalog_io.import_catalog(catalog_io.read_workbook(_workbook([row])), actor=None, commit=True)
    assert not report.ok and report.errors[0].field == "extra_fields" and "choices" in report.errors[0].message


# --------------------------------------------------------------------------- intake through the API


def test_api_refuses_a_report_without_a_required_field_and_stores_nothing(login, world, parking):
    client = login(world.resident)
    r = api_report(client, extra={"cars": 2})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid" and error["fields"] == {"extra.plate": ["请填写车牌号"]}
    assert not Case.objects.exists()


@pytest.mark.parametrize("extra, key, message", [
    ({"plate": "蒙C12345678901"}, "extra.plate", "车牌号不能超过 10 个字符"),
    ({"plate": ["x"]}, "extra.plate", "车牌号须为文本"),
    ({"plate": "A1", "cars": "两辆"}, "extra.cars", "车辆数须为数字"),
    ({"plate": "A1", "cars": True}, "extra.cars", "车辆数须为数字"),
    ({"plate": "A1", "cars": 1e20}, "extra.cars", "车辆数超出范围"),
    ({"plate": "A1", "period": "凌晨"}, "extra.period", "时段须为以下之一：白天、夜间"),
    ({"plate": "A1", "since": "2026/11/23"}, "extra.since", "开始日期须为日期"),
    ({"plate": "A1", "since": "2026-02-30"}, "extra.since", "开始日期不是有效的日期"),
    ({"plate": "A1", "plat": "A2"}, "extra.plat", "“plat”不是该分类的附加字段，可填写：plate（车牌号）"),
])
def test_api_checks_each_value_against_its_declaration(login, world, parking, extra, key, message):
    r = api_report(login(world.resident), extra=extra)
    assert r.status_code == 400, r.content
    fields = r.json()["error"]["fields"]
    assert list(fields) == [key] and message in fields[key][0], fields
    assert not Case.objects.exists()


def test_api_stores_the_checked_values(login, world, parking):
    r = api_report(login(world.resident), extra={"plate": "  蒙C·12345 ", "cars": "3", "period": "夜间",
                                                  "since": "2026-11-23", "hotline_id": "H1"})
    assert r.status_code == 201, r.content
    case = Case.objects.get()
    assert case.extra == {"plate": "蒙C·12345", "cars": 3, "period": "夜间", "since": "2026-11-23",
                          "hotline_id": "H1"}  # system keys pass
    r = api_report(login(world.resident), extra={"plate": "A1", "cars": 2.5, "period": ""})
    assert Case.objects.get(number=r.json()["number"]).extra == {"plate": "A1", "cars": 2.5}


def test_api_errors_speak_english_with_the_english_label(login, world, parking):
    r = api_report(login(world.resident), extra={}, headers={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert r.status_code == 400
    assert "Plate number" in r.json()["error"]["fields"]["extra.plate"][0]


def test_categories_without_fields_keep_a_free_form_extra(login, world, directory):
    r = login(world.resident).post("/api/v1/cases", {"title": "垃圾", "category_code": "06010", **IN_A1,
                                                     "extra": {"app_ref": "wx-1"}}, content_type="application/json")
    assert r.status_code == 201
    assert Case.objects.get().extra == {"app_ref": "wx-1"}


def test_batch_channels_are_not_stopped_by_a_required_field(world, parking):
    """A 12345 call or a camera alert can't be asked for the plate: their system keys pass, a missing
    required field does not stop them; a value they do give must still be right."""
    for source, extra in ((Source.HOTLINE, {"hotline_id": "H-9", "called_at": "2026-11-20T09:30:00+08:00"}),
                          (Source.DEVICE, {"device_source": "camera", "alert_id": "A-1"})):
        case, created = intake.report_case(intake.Report(title="违停", category=parking, address="幸福路", source=source,
                                                         extra=dict(extra)), reporter=None)
        assert created and case.extra == extra
    with pytest.raises(ValidationError) as exc:
        intake.report_case(intake.Report(title="违停", category=parking, address="幸福路", source=Source.HOTLINE,
                                         extra={"cars": "many"}), reporter=None)
    assert "extra.cars" in exc.value.message_dict


def test_the_check_runs_without_a_query(world, parking, django_assert_num_queries):
    category = Category.objects.select_related("version").get(pk=parking.pk)
    report = intake.Report(title="违停", category=category, address="幸福路", source=Source.RESIDENT,
                           extra={"plate": " A1 ", "cars": "2"})
    with django_assert_num_queries(0):
        clean = intake._clean(report)
        intake._clean(report)  # the hotline import checks first, then reports: the same answer
    assert clean["title"] == "违停" and report.extra == {"plate": "A1", "cars": 2}


# --------------------------------------------------------------------------- the phone page


def form_data(**overrides) -> dict:
    data = {"title": "车辆违停", "category": "09005", "lon": "100.05", "lat": "30.05", "idempotency_key": "k-1"}
    data.update(overrides)
    return data


def test_the_fragment_draws_the_chosen_categorys_fields(login, world, parking, client):
    login(world.resident)
    html = client.get("/report/categories/fields/?category=09005", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-category="09005"' in html
    assert 'name="extra.plate"' in html and 'maxlength="10"' in html and "data-extra-required" in html
    assert 'data-required-message="请填写车牌号"' in html
    assert 'name="extra.cars"' in html and 'type="number"' in html
    assert '<option value="夜间">夜间</option>' in html and 'type="date"' in html
    assert 'data-error-for="extra.plate"' in html
    assert " style=" not in html and "<script" not in html
    empty = client.get("/report/categories/fields/?category=nope").content.decode()
    assert 'data-category=""' in empty and "extra." not in empty
    client.cookies["django_language"] = "en"
    assert "Plate number" in client.get("/report/categories/fields/?category=09005").content.decode()


def test_the_page_refuses_a_missing_required_field_next_to_it(login, world, parking):
    client = login(world.resident)
    r = client.post("/report/", form_data(**{"extra.cars": "2"}), **JSON)
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"extra.plate": ["请填写车牌号"]}
    # The plain form: drawn again with the error under the field and what was typed.
    r = client.post("/report/", form_data(title="", **{"extra.cars": "2", "extra.period": "夜间"}))
    assert r.status_code == 400
    html = r.content.decode()
    error = re.search(r'<p class="field-error" id="err-extra-plate" data-error-for="extra.plate">([^<]*)</p>', html)
    assert error and error.group(1) == "请填写车牌号"
    assert 'name="extra.cars" data-extra-field autocomplete="off" value="2"' in html
    assert '<option value="夜间" selected>' in html and "请填写此项" in html  # the title's error too
    assert not Case.objects.exists()


def test_the_page_stores_the_values_and_ignores_other_categories_fields(login, world, parking):
    client = login(world.resident)
    r = client.post("/report/", form_data(**{"extra.plate": "蒙C1", "extra.cars": "2", "extra.since": "",
                                             "extra.volume": "left from another category"}), **JSON)
    assert r.status_code == 201, r.content
    assert Case.objects.get().extra == {"plate": "蒙C1", "cars": 2}


# --------------------------------------------------------------------------- the case page


def test_the_case_page_shows_the_declared_fields_and_staff_see_the_source(login, world, parking):
    case, _ = intake.report_case(intake.Report(
        title="车辆违停", category=parking, source=Source.HOTLINE, **IN_A1,  # unknown keys pass only here
        extra={"plate": "蒙C1", "period": "夜间", "hotline_id": "H-7", "app_ref": "<b>x</b>"}), reporter=world.resident)
    mine = login(world.resident).get(f"/cases/{case.number}/").content.decode()
    assert "<dt>车牌号</dt><dd class=\"extra-value\">蒙C1</dd>" in mine and "<dt>时段</dt>" in mine
    assert "来源信息" not in mine and "H-7" not in mine
    staff = login(world.dispatcher).get(f"/cases/{case.number}/").content.decode()
    assert "车牌号" in staff and "来源信息" in staff and "<dt>热线工单号</dt><dd>H-7</dd>" in staff
    assert "&lt;b&gt;x&lt;/b&gt;" in staff and "<b>x</b>" not in staff


def test_demo_categories_declare_extra_fields():
    from gongzhi.cases.demo import build_demo_cases
    from gongzhi.core.demo import build_demo_city

    build_demo_city()
    build_demo_cases()
    parking = Category.objects.get(version__is_active=True, code="09009")
    assert [f.name for f in fields_of(parking)] == ["plate", "vehicle"]
    clean_definitions(parking.extra_fields)
    case = Case.objects.get(category=parking)
    assert case.extra["plate"] == "蒙C·D1234"
    noise = Case.objects.get(category__code="06028")
    assert noise.extra["period"].startswith("夜间")
