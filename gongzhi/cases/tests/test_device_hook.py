"""Device alerts webhook: signed JSON → a case; resends are idempotent; bad input never a 500."""

from __future__ import annotations

import json

import pytest

from gongzhi.cases.choices import Source
from gongzhi.cases.hooks import MAX_BODY, sign
from gongzhi.cases.models import Case

pytestmark = pytest.mark.django_db
URL = "/hooks/devices/camera/"
SECRET = "camera-secret-1"
IN_A1 = (100.05, 30.05)


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.DEVICE_WEBHOOK_SECRETS = {"camera": SECRET, "access": "another", "off": ""}


def alert(**overrides) -> dict:
    return {"alert_id": "cam-7-20261123-0001", "title": "占道经营", "description": "摄像头识别到店外经营",
            "lon": IN_A1[0], "lat": IN_A1[1], "address": "东一路口", "category_code": "09005", "urgent": False,
            "occurred_at": "2026-11-23T08:15:00+08:00", **overrides}


def post(client, body, *, url: str = URL, secret: str | None = SECRET, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature is not None:
        headers["HTTP_X_GONGZHI_SIGNATURE"] = signature
    elif secret is not None:
        headers["HTTP_X_GONGZHI_SIGNATURE"] = sign(secret, raw)
    return client.post(url, data=raw, content_type="application/json", **headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"} and body["error"]["code"] == code
    return body["error"]


def test_valid_alert_creates_a_case_and_a_resend_returns_it(client, world, directory):
    response = post(client, alert())
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    case = Case.objects.get(number=number)
    assert case.source == Source.DEVICE and case.category == directory["street"] and case.area == world.grid_a1
    assert case.reporter.username == "device-camera" and not case.reporter.has_usable_password()
    assert case.extra["device_source"] == "camera" and case.extra["occurred_at"].startswith("2026-11-23T08:15")

    again = post(client, alert())
    assert again.status_code == 200 and again.json()["number"] == number and again.json()["created"] is False
    assert Case.objects.count() == 1
    other = post(client, alert(alert_id="cam-7-20261123-0002", category_code=None, title=None, urgent=True))
    assert other.status_code == 201 and other.json()["number"] != number
    created = Case.objects.get(number=other.json()["number"])
    assert created.urgent and created.title == "设备告警"


def test_address_without_point_goes_to_be_located(client, world, directory):
    response = post(client, alert(lon=None, lat=None))
    assert response.status_code == 201 and response.json()["locate_status"] == "to_locate"


def test_bad_or_missing_signature_is_401(client, world, directory):
    assert_error(post(client, alert(), secret="wrong"), 401, "unauthenticated")
    assert_error(post(client, alert(), secret=None), 401, "unauthenticated")
    assert_error(post(client, alert(), signature="sha256=" + "0" * 64), 401, "unauthenticated")
    assert_error(post(client, alert(), signature="签名"), 401, "unauthenticated")
    # the other source's secret doesn't open this one
    assert_error(post(client, alert(), secret="another"), 401, "unauthenticated")
    assert Case.objects.count() == 0


def test_unknown_source_is_404(client, world):
    assert_error(post(client, alert(), url="/hooks/devices/drone/"), 404, "not_found")
    assert_error(post(client, alert(), url="/hooks/devices/off/", secret=""), 404, "not_found")


def test_malformed_json_and_wrong_types_are_400(client, world, directory):
    assert_error(post(client, b'{"alert_id": "x", '), 400, "invalid")
    assert_error(post(client, b"\xff\xfe"), 400, "invalid")
    assert_error(post(client, b"[1, 2]"), 400, "invalid")
    assert_error(post(client, b"[" * 5000 + b"]" * 5000), 400, "invalid")
    fields = assert_error(post(client, alert(lon="east", urgent="yes", occurred_at="yesterday", title=["x"],
                                             alert_id=None)), 400, "invalid")["fields"]
    assert set(fields) == {"lon", "urgent", "occurred_at", "title", "alert_id"}
    fields = assert_error(post(client, alert(category_code="00000")), 400, "invalid")["fields"]
    assert "category_code" in fields
    fields = assert_error(post(client, alert(lon=1e400)), 400, "invalid")["fields"]
    assert "lon" in fields
    assert_error(post(client, alert(description="a\x00b")), 400, "invalid")
    assert_error(post(client, alert(alert_id="x" * 101)), 400, "invalid")
    assert Case.objects.count() == 0


def test_oversize_body_is_413(client, world):
    body = json.dumps(alert(description="x" * MAX_BODY)).encode()
    assert_error(post(client, body), 413, "too_large")


def test_point_outside_the_city_is_400_with_a_clear_message(client, world, directory):
    error = assert_error(post(client, alert(lon=120.0, lat=31.0)), 400, "invalid")
    assert "不在本市网格范围内" in error["message"] and "lon" in error["fields"]
    assert Case.objects.count() == 0


def test_only_post(client, world):
    response = client.get(URL)
    assert response.status_code == 405 and response["Allow"] == "POST"
