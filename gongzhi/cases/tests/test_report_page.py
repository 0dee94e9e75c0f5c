"""The phone report page (/report/) through Django's test client: the form, the JSON mode used by
the offline queue, idempotent retries, bad input (never a 500), and the thank-you page's privacy."""

from __future__ import annotations

import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gongzhi.cases.choices import LocateStatus, Source, Status
from gongzhi.cases.models import Case, Category

pytestmark = pytest.mark.django_db
IN_A1 = ("100.05", "30.05")
JSON = {"HTTP_ACCEPT": "application/json"}


def jpeg(name: str = "photo.jpg", size: tuple[int, int] = (64, 48)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def form_data(**overrides) -> dict:
    data = {"title": "小区门口垃圾堆积", "description": "已经三天没人清理", "category": "06010",
            "lon": IN_A1[0], "lat": IN_A1[1], "address": "", "idempotency_key": "key-1"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_renders_for_a_logged_in_user(login, world, directory):
    response = login(world.resident).get("/report/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "上报问题" in html
    assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
    assert 'id="report-map"' in html and 'name="lon"' in html and 'name="lat"' in html
    assert 'data-sw="/report/sw.js"' in html
    # Content-Security-Policy: no inline script, style or handler on the page.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)
    # The map opens on the city (the resident holds no area): lon,lat bounds of the test world.
    assert 'data-bounds="100.000000,30.000000,101.000000,31.000000"' in html


def test_a_grid_worker_sees_the_grid_on_the_map(login, world, directory):
    html = login(world.worker).get("/report/").content.decode()
    assert 'data-bounds="100.000000,30.000000,100.100000,30.100000"' in html
    assert f'data-outline="/areas/{world.grid_a1.pk}/map.geojson"' in html


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get("/report/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post("/report/", form_data(), **JSON)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_report_with_a_photo_makes_a_case_and_thanks_the_reporter(login, world, directory):
    client = login(world.resident)
    response = client.post("/report/", {**form_data(urgent="on"), "photos": [jpeg("a.jpg"), jpeg("b.jpg")]})
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/report/done/{case.number}/"
    assert case.reporter == world.resident and case.source == Source.RESIDENT
    assert case.area == world.grid_a1 and case.category == directory["garbage"] and case.urgent
    assert case.photos.count() == 2
    assert case.reporter_name == "居民甲"
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert case.number in text and case.get_status_display() in text and "上报成功" in text


def test_grid_workers_report_as_a_patrol(login, world, directory):
    login(world.worker).post("/report/", form_data(category="09005"))
    case = Case.objects.get()
    assert case.source == Source.PATROL and case.reporter == world.worker


def test_an_address_without_a_point_goes_to_the_to_be_located_queue(login, world, directory):
    response = login(world.resident).post("/report/", form_data(lon="", lat="", address="幸福路 12 号"))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.locate_status == LocateStatus.TO_LOCATE and case.area is None and case.address == "幸福路 12 号"


def test_errors_keep_everything_the_user_typed(login, world, directory):
    data = form_data(title="", description="井盖丢失，很危险", lon="", lat="", address="", urgent="on",
                     category="09005", idempotency_key="keep-me")
    response = login(world.resident).post("/report/", {**data, "photos": [jpeg()]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写此项" in html  # title
    assert "请在地图上选点或填写地址" in html
    assert "井盖丢失，很危险" in html  # the description is still there
    assert 'value="09005"' in html and "09005 店外经营" in html  # and the category
    assert 'value="keep-me"' in html
    assert re.search(r'name="urgent"[^>]*checked', html)
    assert "请重新选择照片" in html  # photos can't be kept: the page says so
    assert not Case.objects.exists()


def test_a_point_outside_the_city_is_a_clear_error_and_the_point_is_kept(login, world, directory):
    response = login(world.resident).post("/report/", form_data(lon="120.5", lat="31.2"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "不在本市网格范围内" in html
    assert 'value="120.5"' in html and 'value="31.2"' in html and "小区门口垃圾堆积" in html


def test_a_double_tap_makes_one_case(login, world, directory):
    client = login(world.resident)
    first = client.post("/report/", {**form_data(idempotency_key="tap-1"), "photos": [jpeg()]})
    second = client.post("/report/", {**form_data(idempotency_key="tap-1"), "photos": [jpeg()]})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Case.objects.count() == 1 and Case.objects.get().photos.count() == 1
    # Another key is another report.
    client.post("/report/", form_data(idempotency_key="tap-2"))
    assert Case.objects.count() == 2


def test_the_same_key_from_another_user_is_another_case(login, world, directory):
    login(world.resident).post("/report/", form_data(idempotency_key="same"))
    login(world.worker).post("/report/", form_data(idempotency_key="same"))
    assert Case.objects.count() == 2


def test_json_mode_for_the_offline_queue(login, world, directory):
    client = login(world.resident)
    created = client.post("/report/", {**form_data(idempotency_key="q-1"), "photos": [jpeg()]}, **JSON)
    assert created.status_code == 201
    body = created.json()
    case = Case.objects.get()
    assert body["number"] == case.number and body["url"] == f"/report/done/{case.number}/"
    assert body["status"] == Status.REPORTED and body["created"] is True
    again = client.post("/report/", {**form_data(idempotency_key="q-1"), "photos": [jpeg()]}, **JSON)
    assert again.status_code == 200 and again.json()["number"] == case.number and again.json()["created"] is False
    # A retry is answered even if the category has been retired since.
    Category.objects.filter(code="06010").update(is_active=False)
    assert client.post("/report/", form_data(idempotency_key="q-1"), **JSON).status_code == 200
    invalid = client.post("/report/", form_data(title="", idempotency_key="q-2"), **JSON)
    assert invalid.status_code == 400
    error = invalid.json()["error"]
    assert error["code"] == "invalid" and error["message"] and error["fields"]["title"] == ["请填写此项"]
    assert "category" in error["fields"]  # 06010 is retired now
    assert Case.objects.count() == 1


def test_a_file_that_is_not_an_image_is_an_error_not_a_500(login, world, directory):
    client = login(world.resident)
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = client.post("/report/", {**form_data(), "photos": [fake]})
    assert response.status_code == 400
    assert "文件不是可识别的照片" in response.content.decode()
    fake.seek(0)
    response = client.post("/report/", {**form_data(), "photos": [fake]}, **JSON)
    assert response.status_code == 400 and response.json()["error"]["fields"]["photos"] == ["文件不是可识别的照片"]
    assert not Case.objects.exists()


@pytest.mark.parametrize("field,value,message", [
    ("title", "长" * 10_000, "标题不能超过 100 个字符"),
    ("description", "描" * 100_000, "描述不能超过 5000 个字符"),
    ("address", "址" * 5_000, "地址不能超过 200 个字符"),
    ("lon", "abc", "经度格式不正确"),
    ("lon", "nan", "经度格式不正确"),
    ("lat", "1e999", "纬度格式不正确"),
    ("lat", "95", "经纬度超出范围"),
    ("category", "9" * 1000, "该分类不存在或已停用"),
    ("idempotency_key", "k" * 500, "提交编号无效"),
])
def test_bad_input_is_answered_in_chinese(login, world, directory, field, value, message):
    response = login(world.resident).post("/report/", form_data(**{field: value}), **JSON)
    assert response.status_code == 400
    assert message in " ".join(sum(response.json()["error"]["fields"].values(), []))


def test_only_a_latitude_is_an_error(login, world, directory):
    response = login(world.resident).post("/report/", form_data(lon=""), **JSON)
    assert response.status_code == 400 and response.json()["error"]["fields"]["lon"] == ["经度和纬度需同时提供"]


def test_too_many_photos(login, world, directory, settings):
    settings.CASE_PHOTO_MAX_COUNT = 2
    response = login(world.resident).post("/report/", {**form_data(), "photos": [jpeg(), jpeg(), jpeg()]}, **JSON)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["photos"] == ["最多上传 2 张照片"]


def test_an_oversized_photo(login, world, directory, settings):
    settings.CASE_PHOTO_MAX_BYTES = 1024 * 1024
    out = io.BytesIO()
    Image.frombytes("RGB", (900, 900), os.urandom(900 * 900 * 3)).save(out, "JPEG", quality=98)
    assert len(out.getvalue()) > 1024 * 1024
    big = SimpleUploadedFile("big.jpg", out.getvalue(), content_type="image/jpeg")
    response = login(world.resident).post("/report/", {**form_data(), "photos": [big]}, **JSON)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["photos"] == ["照片不能超过 1 MB"]


def test_an_outsider_cannot_open_someone_elses_done_page(login, world, directory):
    login(world.resident).post("/report/", form_data())
    case = Case.objects.get()
    assert login(world.outsider).get(f"/report/done/{case.number}/").status_code == 404
    assert login(world.resident).get(f"/report/done/{case.number}/").status_code == 200
    assert login(world.resident).get("/report/done/no-such-case/").status_code == 404
    assert login(world.resident).get("/report/done/" + "9" * 500 + "/").status_code == 404


def test_category_suggestions(login, world, directory):
    version = directory["version"]
    Category.objects.create(version=version, code="06011", name="垃圾满溢", kind=Category.Kind.MATTER,
                            keywords="垃圾桶 满了")
    Category.objects.create(version=version, code="06012", name="停用的垃圾分类", kind=Category.Kind.MATTER,
                            is_active=False)
    for i in range(30):
        Category.objects.create(version=version, code=f"07{i:03d}", name=f"路灯{i}", kind=Category.Kind.COMPONENT)
    client = login(world.resident)
    codes = [r["code"] for r in client.get("/report/categories/", {"q": "垃圾"}).json()["results"]]
    assert codes == ["06010", "06011"]
    assert [r["code"] for r in client.get("/report/categories/", {"q": "桶"}).json()["results"]] == ["06011"]
    assert [r["code"] for r in client.get("/report/categories/", {"q": "0601"}).json()["results"]] == [
        "06010", "06011"]
    assert len(client.get("/report/categories/", {"q": "路灯"}).json()["results"]) == 20
    assert client.get("/report/categories/", {"q": ""}).json()["results"] == []
    html = client.get("/report/categories/", {"category_q": "垃圾"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-code="06010"' in html and 'data-label="06010 暴露垃圾"' in html
    assert "没有找到" in client.get("/report/categories/", {"q": "火星"}, HTTP_HX_REQUEST="true").content.decode()


def test_the_service_worker_and_the_offline_page(client, world):
    response = client.get("/report/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/report/"
    body = response.content.decode()
    assert body.startswith("self.GONGZHI_SW = ") and '"shell": "/report/"' in body
    assert "/static/gongzhi/report.js" in body and 'addEventListener("sync"' in body
    for part in ("report-queue", "report-extra", "report-map", "report-nearby"):  # report.js's parts
        assert f"/static/gongzhi/{part}.js" in body
    offline = client.get("/report/offline/")
    assert offline.status_code == 200 and "当前没有网络" in offline.content.decode()
