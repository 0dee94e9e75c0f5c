"""Every Open311 endpoint in both formats, and hostile input answered as the spec says."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.cases.choices import Status
from gongzhi.cases.models import Case, Category
from gongzhi.open311.models import ApiClient, SubmittedRequest

from .conftest import BASE, IN_A1, error_codes, jpeg, parse

pytestmark = pytest.mark.django_db
FORMATS = ["json", "xml"]


def post(client, keys, fmt="json", HTTP_ACCEPT_LANGUAGE="zh-hans", **data):
    payload = {"api_key": keys.app_key, "service_code": "06010", "description": "路口垃圾堆积\n已经三天", **IN_A1}
    payload.update(data)
    return client.post(f"{BASE}/requests.{fmt}", {k: v for k, v in payload.items() if v is not None},
                       HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE)


# --------------------------------------------------------------------------- discovery and services


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_both_formats(client, directory, fmt):
    response = client.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    body = parse(response)
    if fmt == "json":
        assert body["endpoints"][0]["url"] == "http://testserver/open311/v2"
        assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
        assert body["key_service"] and body["changeset"].endswith("+08:00")
    else:
        assert body.tag == "discovery"
        assert [f.text for f in body.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]
        assert body.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_lists_the_active_directory_grouped(client, directory, fmt):
    body = parse(client.get(f"{BASE}/services.{fmt}"))
    if fmt == "json":
        assert isinstance(body, list)
        by_code = {s["service_code"]: s for s in body}
        assert by_code["06010"] == {"service_code": "06010", "service_name": "暴露垃圾",
                                    "description": "环卫环保 · 管理事项", "metadata": False, "type": "realtime",
                                    "keywords": "垃圾,堆放", "group": "环卫环保"}
        assert by_code["09009"]["metadata"] is True
    else:
        assert body.tag == "services"
        services = {s.findtext("service_code"): s for s in body.findall("service")}
        assert services["09009"].findtext("metadata") == "true"
        assert services["06010"].findtext("group") == "环卫环保"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_definition_gives_the_extra_fields_as_attributes(client, directory, fmt):
    response = client.get(f"{BASE}/services/09009.{fmt}")
    assert response.status_code == 200
    body = parse(response)
    if fmt == "json":
        assert body["service_code"] == "09009"
        plate, kind, cars, since = body["attributes"]
        assert plate["code"] == "plate" and plate["datatype"] == "string" and plate["required"] is True
        assert plate["order"] == 1 and plate["variable"] is True and plate["description"] == "车牌号"
        assert kind["datatype"] == "singlevaluelist"
        assert kind["values"] == [{"key": "小汽车", "name": "小汽车"}, {"key": "货车", "name": "货车"}]
        assert cars["datatype"] == "number" and since["datatype"] == "datetime"
    else:
        assert body.tag == "service_definition"
        assert body.findtext("service_code") == "09009"
        attrs = body.findall("attributes/attribute")
        assert [a.findtext("code") for a in attrs] == ["plate", "kind", "cars", "since"]
        assert [v.findtext("key") for v in attrs[1].findall("values/value")] == ["小汽车", "货车"]


def test_a_local_code_with_a_dot_has_its_definition(client, directory):
    from gongzhi.cases.models import Category

    Category.objects.create(version=directory["version"], code="12345.01", name="噪音投诉", kind=Category.Kind.LOCAL)
    response = client.get(f"{BASE}/services/12345.01.xml")
    assert response.status_code == 200 and parse(response).findtext("service_code") == "12345.01"


def test_get_requests_costs_a_fixed_number_of_queries(client, keys, django_assert_max_num_queries):
    make(client, keys, 8)
    for fmt in FORMATS:  # the cases (with category, department, area, link) and their public photos
        with django_assert_max_num_queries(2):
            assert client.get(f"{BASE}/requests.{fmt}").status_code == 200
    with django_assert_max_num_queries(3):  # + the events' photos … and the events
        assert len(client.get(f"{BASE}/servicerequestupdates.json").json()) == 8


def test_the_admin_issues_a_key_once_and_stores_only_its_hash(client, world, directory):
    client.force_login(world.admin)
    response = client.post("/admin/open311/apiclient/add/", {"name": "网格通 App", "contact": "信息中心",
                                                             "rate_limit": "600/m"}, follow=True)
    assert response.status_code == 200
    app = ApiClient.objects.get(name="网格通 App")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m for m in shown if "o311_" in m).split("<code>")[1].split("</code>")[0]
    assert ApiClient.hash(raw) == app.key_digest and app.user.username == f"open311-{app.pk}"
    assert raw not in str(ApiClient.objects.filter(pk=app.pk).values().get())
    assert client.post("/admin/open311/apiclient/", {"action": "revoke", "_selected_action": [app.pk]}).status_code == 302
    app.refresh_from_db()
    assert app.revoked_at is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_service_is_404(client, directory, fmt):
    response = client.get(f"{BASE}/services/99999.{fmt}")
    assert response.status_code == 404
    assert error_codes(response) == ["404"]


# --------------------------------------------------------------------------- POST requests


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_report_becomes_a_case_waiting_for_the_command_center(client, keys, world, fmt):
    response = post(client, keys, fmt, first_name="三", last_name="张", phone="13900000000",
                    email="zhang@example.com", account_id="acc-1")
    assert response.status_code == 201
    body = parse(response)
    number = body[0]["service_request_id"] if fmt == "json" else body.findtext("request/service_request_id")
    case = Case.objects.get(number=number)
    assert case.status == Status.REPORTED and case.area == world.grid_a1
    assert case.title == "路口垃圾堆积" and case.description == "路口垃圾堆积\n已经三天"
    assert case.reporter == keys.app.user and case.reporter_name == "张 三" and case.reporter_phone == "13900000000"
    assert case.events.get().action == "report"
    submitted = SubmittedRequest.objects.get(case=case)
    assert submitted.client == keys.app and submitted.email == "zhang@example.com"
    if fmt == "json":
        assert body[0]["account_id"] == "acc-1" and "token" not in body[0]


def test_the_idempotency_key_makes_a_retry_return_the_first_case(client, keys):
    first = post(client, keys, idempotency_key="abc-1")
    again = post(client, keys, idempotency_key="abc-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert Case.objects.count() == 1


def test_attributes_are_checked_and_stored_as_the_cases_extra_fields(client, keys):
    response = client.post(f"{BASE}/requests.json", {
        "api_key": keys.app_key, "service_code": "09009", "description": "占用消防通道", **IN_A1,
        "attribute[plate]": "蒙C12345", "attribute[kind]": "货车", "attribute[cars]": "2",
        "attribute[since]": "2026-11-23T08:00:00+08:00"})
    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert case.extra == {"plate": "蒙C12345", "kind": "货车", "cars": 2, "since": "2026-11-23"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("attributes, words", [
    ({}, "attribute[plate]"),  # required
    ({"attribute[plate]": "蒙C1", "attribute[kind]": "飞机"}, "attribute[kind]"),
    ({"attribute[plate]": "蒙C1", "attribute[cars]": "很多"}, "attribute[cars]"),
    ({"attribute[plate]": "蒙C1", "attribute[since]": "昨天"}, "attribute[since]"),
    ({"attribute[plate]": "蒙C1", "attribute[colour]": "红"}, "attribute[colour]"),
    ({"attribute[plate]": "蒙C1", "attribute[kind][]": ["小汽车", "货车"]}, "attribute[kind]"),
    ({"attribute[plate]": "x" * 13}, "attribute[plate]"),
    ({"attribute[pl ate": "x"}, "attribute[pl ate"),
])
def test_bad_attribute_values_are_400_naming_the_attribute(client, keys, fmt, attributes, words):
    response = client.post(f"{BASE}/requests.{fmt}", {"api_key": keys.app_key, "service_code": "09009",
                                                      "description": "乱停车", **IN_A1, **attributes})
    assert response.status_code == 400
    assert set(error_codes(response)) == {"400"}
    assert words in response.content.decode()
    assert not Case.objects.exists()


def test_address_id_places_the_report_in_that_grid(client, keys, world):
    response = post(client, keys, lat=None, long=None, address_id=world.grid_a2.code)
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.area == world.grid_a2 and case.address == "东二网格"


def test_an_address_alone_goes_to_the_to_locate_queue(client, keys):
    response = post(client, keys, lat=None, long=None, address_string="东大街 12 号")
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.area is None and case.locate_status == "to_locate" and case.address == "东大街 12 号"


def test_a_photo_upload_is_checked_and_published_without_exif(client, keys):
    response = client.post(f"{BASE}/requests.json", {"api_key": keys.app_key, "service_code": "06010",
                                                     "description": "垃圾", **IN_A1, "media": jpeg()})
    assert response.status_code == 201
    number = response.json()[0]["service_request_id"]
    item = client.get(f"{BASE}/requests/{number}.json").json()[0]
    photo = Case.objects.get(number=number).photos.get()
    assert item["media_url"] == f"http://testserver/open311/v2/media/{photo.pk}.jpg"
    image = client.get(f"/open311/v2/media/{photo.pk}.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content) == photo.public.open("rb").read()


def test_a_file_that_is_not_a_photo_is_refused(client, keys):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.jpg", b"<html><script>alert(1)</script>", content_type="image/jpeg")
    response = client.post(f"{BASE}/requests.json", {"api_key": keys.app_key, "service_code": "06010",
                                                     "description": "垃圾", **IN_A1, "media": bad})
    assert response.status_code == 400 and "media" in response.json()[0]["description"]
    assert not Case.objects.exists()


def test_a_media_url_is_kept_and_published(client, keys):
    response = post(client, keys, media_url="https://img.example.org/a.jpg")
    number = response.json()[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["media_url"] == "https://img.example.org/a.jpg"
    assert post(client, keys, media_url="javascript:alert(1)").status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("data, status", [
    ({"api_key": None}, 403),
    ({"api_key": ""}, 403),
    ({"api_key": "o311_wrong"}, 403),
    ({"api_key": "x" * 5000}, 403),
    ({"service_code": None}, 400),
    ({"service_code": "99999"}, 404),
    ({"service_code": "0" * 300}, 404),
    ({"lat": None, "long": None}, 400),  # missing location
    ({"long": None}, 400),
    ({"lat": "abc"}, 400),
    ({"lat": "nan", "long": "inf"}, 400),
    ({"lat": "95", "long": "100.05"}, 400),
    ({"lat": "39.9", "long": "116.4"}, 400),  # outside the city
    ({"lat": None, "long": None, "address_id": "nope"}, 400),
    ({"description": "长" * 4001}, 400),
    ({"media_url": "ftp://x/y"}, 400),
    ({"jurisdiction_id": "elsewhere.example"}, 404),
    ({"idempotency_key": "k" * 101}, 400),
])
def test_hostile_posts_are_answered_as_the_spec_says(client, keys, fmt, data, status):
    response = post(client, keys, fmt, **data)
    assert response.status_code == status, response.content
    assert set(error_codes(response)) == {str(status)}
    assert not Case.objects.exists()


def test_errors_speak_english_when_asked(client, keys):
    response = post(client, keys, api_key="wrong", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and response["Content-Language"] == "en"
    assert post(client, keys, api_key="wrong")["Content-Language"] == "zh-hans"


def test_several_problems_are_listed_at_once(client, keys):
    response = post(client, keys, lat="abc", description="长" * 4001, media_url="nope")
    assert response.status_code == 400
    assert len(response.json()) == 3


def test_a_revoked_key_is_403(client, keys, world):
    from gongzhi.open311 import services

    services.revoke_client(keys.app, actor=world.admin)
    assert post(client, keys).status_code == 403


def test_xml_bodies_are_not_accepted(client, keys):
    response = client.post(f"{BASE}/requests.xml", f"<service_request><api_key>{keys.app_key}</api_key>"
                           "</service_request>", content_type="text/xml")
    assert response.status_code == 400
    assert parse(response).tag == "errors"


def test_control_characters_are_dropped_and_the_xml_stays_well_formed(client, keys):
    response = post(client, keys, description="垃圾\x01\x02堆积\x1b[31m\ufffe", title="标题\x0b")
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.description == "垃圾堆积[31m" and case.title == "标题"
    # A case written elsewhere with characters XML 1.0 forbids still gives a well-formed document.
    Case.objects.filter(pk=case.pk).update(title="坏\x07字符\x1f", address="地址\x0c\ufffe")
    xml = client.get(f"{BASE}/requests/{case.number}.xml")
    assert parse(xml).findtext("request/description") == "坏字符"
    assert parse(xml).findtext("request/address") == "地址"


def test_a_nul_in_a_form_is_refused_before_anything(client, keys):
    response = post(client, keys, description="垃圾\x00")
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_a_batch_client_gets_a_token_that_resolves_to_the_case(client, world, directory):
    from gongzhi.open311 import services

    _batch, raw = services.issue_client(actor=world.admin, name="12345 热线", batch=True)
    response = client.post(f"{BASE}/requests.xml", {"api_key": raw, "service_code": "06010",
                                                    "description": "垃圾", **IN_A1})
    assert response.status_code == 201
    body = parse(response)
    token = body.findtext("request/token")
    assert token and body.find("request/service_request_id") is None
    number = Case.objects.get().number
    for fmt in FORMATS:
        resolved = parse(client.get(f"{BASE}/tokens/{token}.{fmt}"))
        got = resolved[0]["service_request_id"] if fmt == "json" else resolved.findtext("request/service_request_id")
        assert got == number
        missing = client.get(f"{BASE}/tokens/nosuchtoken.{fmt}")
        assert missing.status_code == 404 and error_codes(missing) == ["404"]


def test_posts_over_the_clients_rate_are_429(client, keys, settings):
    settings.RATELIMIT_ENABLED = True
    ApiClient.objects.filter(pk=keys.app.pk).update(rate_limit="2/m")
    codes = [post(client, keys, description=f"垃圾 {i}").status_code for i in range(3)]
    assert codes == [201, 201, 429]


def test_guessing_keys_is_rate_limited_per_address(client, keys, settings):
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_LOGIN = "3/m"
    codes = [post(client, keys, api_key=f"o311_guess{i}").status_code for i in range(4)]
    assert codes == [403, 403, 403, 429]


def test_the_session_is_not_needed_and_csrf_does_not_apply(keys):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, keys).status_code == 201


def test_the_command_issues_and_revokes_a_key(world, directory):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("open311_key", "巡查 App", "--department", "police-a", stdout=out)
    raw = out.getvalue().strip()
    client = ApiClient.objects.get(name="巡查 App")
    assert raw.startswith("o311_") and client.key_digest == ApiClient.hash(raw) and raw not in client.key_prefix
    assert client.user.staff_posts.get().department == world.police_a
    call_command("open311_key", "巡查 App", "--revoke", stdout=io.StringIO())
    client.refresh_from_db()
    assert client.revoked_at is not None


# --------------------------------------------------------------------------- GET requests


def make(client, keys, n: int) -> list[str]:
    return [post(client, keys, description=f"垃圾 {i}").json()[0]["service_request_id"] for i in range(n)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_lists_public_fields_only(client, keys, fmt):
    post(client, keys, first_name="三", last_name="张", phone="13900000000", email="zhang@example.com",
         account_id="acc-secret", device_id="dev-secret", description="垃圾堆积\n私密的描述：我家门牌 3 号")
    response = client.get(f"{BASE}/requests.{fmt}")
    assert response.status_code == 200
    text = response.content.decode()
    for secret in ("张", "13900000000", "zhang@example.com", "acc-secret", "dev-secret", "私密", "城市 App"):
        assert secret not in text
    body = parse(response)
    case = Case.objects.get()
    if fmt == "json":
        (item,) = body
        assert item["service_request_id"] == case.number and item["status"] == "open"
        assert item["description"] == "垃圾堆积" and item["service_code"] == "06010"
        assert item["lat"] == 30.05 and item["long"] == 100.05 and item["address_id"] == "990101001001001"
        assert item["requested_datetime"].endswith("+08:00") and item["status_notes"] == "待受理"
        assert set(item) == {"service_request_id", "status", "status_notes", "service_name", "service_code",
                             "description", "agency_responsible", "service_notice", "requested_datetime",
                             "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                             "lat", "long", "media_url"}
    else:
        assert body.tag == "service_requests"
        (item,) = body.findall("request")
        assert item.findtext("service_request_id") == case.number and item.findtext("long") == "100.05"


def test_get_requests_filters(client, keys, world):
    from gongzhi.cases import services as case_services

    numbers = make(client, keys, 3)
    closed = Case.objects.get(number=numbers[0])
    case_services.not_file_case(closed, actor=world.dispatcher, reason="重复")
    old = Case.objects.get(number=numbers[1])
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=120))

    def got(**params):
        return sorted(r["service_request_id"] for r in client.get(f"{BASE}/requests.json", params).json())

    assert got() == sorted([numbers[0], numbers[2]])  # the last 90 days
    assert got(status="closed") == [numbers[0]]
    assert got(status="open") == [numbers[2]]
    assert got(status="open,closed") == sorted([numbers[0], numbers[2]])
    assert got(status="") == sorted([numbers[0], numbers[2]])  # empty is as if absent
    assert got(service_code="09009") == []
    assert got(service_request_id=f"{numbers[1]},{numbers[2]}", status="closed") == sorted(numbers[1:])  # overrides
    start = (timezone.now() - datetime.timedelta(days=130)).isoformat()
    end = (timezone.now() - datetime.timedelta(days=100)).isoformat()
    assert got(start_date=start, end_date=end) == [numbers[1]]
    assert got(start_date=start) == [numbers[1]]  # start + 90 days
    assert len(client.get(f"{BASE}/requests.json", {"page_size": 1}).json()) == 1
    assert len(client.get(f"{BASE}/requests.json", {"page_size": 1, "page": 2}).json()) == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("params", [
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # over 90 days
    {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},  # end before start
    {"start_date": "yesterday"},
    {"end_date": "2026-13-45"},
    {"status": "pending"},
    {"page_size": "0"},
    {"page_size": "5000"},
    {"page": "-1"},
    {"service_request_id": ",".join(str(i) for i in range(1001))},
    {"end_date": "0001-01-01T00:00:00Z"},
    {"start_date": "9999-12-31T23:59:59Z"},
    {"start_date": "1" * 41},
])
def test_bad_filters_are_400(client, directory, fmt, params):
    response = client.get(f"{BASE}/requests.{fmt}", params)
    assert response.status_code == 400
    assert error_codes(response) == ["400"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request_is_a_one_element_list_and_an_unknown_one_404(client, keys, fmt):
    (number,) = make(client, keys, 1)
    body = parse(client.get(f"{BASE}/requests/{number}.{fmt}"))
    if fmt == "json":
        assert [r["service_request_id"] for r in body] == [number]
    else:
        assert [r.findtext("service_request_id") for r in body.findall("request")] == [number]
    missing = client.get(f"{BASE}/requests/990101-20260101-9999.{fmt}")
    assert missing.status_code == 404 and error_codes(missing) == ["404"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id(client, keys, world, fmt, settings):
    assert client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ""}).status_code == 200
    assert client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "990100"}).status_code == 200  # the city's code
    assert client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "127.0.0.1"}).status_code == 200  # SITE_URL
    wrong = client.get(f"{BASE}/requests.{fmt}", {"jurisdiction_id": "sfgov.org"})
    assert wrong.status_code == 404 and error_codes(wrong) == ["404"]
    settings.OPEN311_JURISDICTIONS = ["wuhai.gov.cn"]
    assert client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "WUHAI.gov.cn"}).status_code == 200
    assert client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "990100"}).status_code == 404


def test_an_unknown_format_or_method(client, keys):
    assert client.get(f"{BASE}/services.csv").status_code == 404
    response = client.delete(f"{BASE}/requests.json")
    assert response.status_code == 405 and error_codes(response) == ["405"]
    assert client.post(f"{BASE}/services.xml").status_code == 405


# --------------------------------------------------------------------------- servicerequestupdates


@pytest.mark.parametrize("fmt", FORMATS)
def test_updates_list_each_step_of_a_case(client, keys, world, fmt):
    from gongzhi.cases import services as case_services

    (number,) = make(client, keys, 1)
    case = Case.objects.get(number=number)
    case_services.file_case(case, actor=world.dispatcher)
    response = client.get(f"{BASE}/servicerequestupdates.{fmt}")
    assert response.status_code == 200
    body = parse(response)
    if fmt == "json":
        assert [(u["service_request_id"], u["status"]) for u in body] == [(number, "open"), (number, "investigating")]
        assert body[1]["description"] == "立案 · 已立案待派遣" and body[1]["updated_datetime"].endswith("+08:00")
    else:
        assert body.tag == "service_request_updates"
        assert [u.findtext("status") for u in body.findall("request_update")] == ["open", "investigating"]


def test_updates_bad_window_is_400(client, directory):
    response = client.get(f"{BASE}/servicerequestupdates.json", {"start_date": "2026-01-01", "end_date": "2026-12-01"})
    assert response.status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_without_a_department_may_not_post_updates(client, keys, fmt):
    (number,) = make(client, keys, 1)
    response = client.post(f"{BASE}/servicerequestupdates.{fmt}", {
        "api_key": keys.app_key, "service_request_id": number, "update_id": "1", "status": "FIXED",
        "updated_datetime": "2026-11-23T08:00:00+08:00", "description": "已清理"})
    assert response.status_code == 403 and error_codes(response) == ["403"]


@pytest.mark.parametrize("data, status", [
    ({"api_key": None}, 403),
    ({"api_key": "o311_bad"}, 403),
    ({"service_request_id": "990101-20260101-9999"}, 404),
    ({"status": "DUPLICATE"}, 400),
    ({"status": None}, 400),
    ({"update_id": None}, 400),
    ({"updated_datetime": "soon"}, 400),
    ({"description": "x" * 4001}, 400),
])
def test_bad_update_posts(client, keys, world, data, status):
    (number,) = make(client, keys, 1)
    payload = {"api_key": keys.police_key, "service_request_id": number, "update_id": "u1", "status": "IN_PROGRESS",
               "updated_datetime": "2026-11-23T08:00:00+08:00", "description": "已出警"}
    payload.update(data)
    response = client.post(f"{BASE}/servicerequestupdates.xml", {k: v for k, v in payload.items() if v is not None})
    assert response.status_code == status, response.content
    assert set(error_codes(response)) == {str(status)}


def test_a_department_can_only_move_its_own_cases(client, keys, world):
    (number,) = make(client, keys, 1)  # reported, not dispatched to anyone
    response = client.post(f"{BASE}/servicerequestupdates.json", {
        "api_key": keys.police_key, "service_request_id": number, "update_id": "u1", "status": "FIXED",
        "updated_datetime": "2026-11-23T08:00:00+08:00", "description": "已清理"})
    assert response.status_code == 403
    assert Case.objects.get(number=number).status == Status.REPORTED


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_category_marked_not_public_is_never_published(client, keys, fmt):
    (number,) = make(client, keys, 1)
    Category.objects.filter(code="06010").update(is_public=False)
    listed = client.get(f"{BASE}/requests.{fmt}")
    assert listed.status_code == 200 and number not in listed.content.decode()
    one = client.get(f"{BASE}/requests/{number}.{fmt}")
    assert one.status_code == 404 and error_codes(one) == ["404"]  # as if it did not exist
    updates = client.get(f"{BASE}/servicerequestupdates.{fmt}")
    assert updates.status_code == 200 and number not in updates.content.decode()
    Category.objects.filter(code="06010").update(is_public=True)
    assert number in client.get(f"{BASE}/requests.{fmt}").content.decode()
