"""The cases API: report (JSON and multipart), read, every transition, and the error codes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gongzhi.cases.models import Case

pytestmark = pytest.mark.django_db
IN_A1 = {"lon": 100.05, "lat": 30.05}


def jpeg(name="p.jpg") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buf, "JPEG")
    buf.seek(0)
    buf.name = name
    return buf


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def test_report_then_the_whole_loop_over_the_api(login, world, directory, supervisor, client):
    resident = login(world.resident)
    r = post(resident, "/api/v1/cases", {"title": "垃圾", "category_code": directory["garbage"].code, **IN_A1,
                                          "idempotency_key": "k1"})
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    assert post(resident, "/api/v1/cases", {"title": "垃圾", **IN_A1, "idempotency_key": "k1"}).status_code == 200
    assert Case.objects.count() == 1

    dispatcher = login(world.dispatcher)
    assert "file" in dispatcher.get(f"/api/v1/cases/{number}").json()["allowed_actions"]
    assert post(dispatcher, f"/api/v1/cases/{number}/file").status_code == 200
    r = post(dispatcher, f"/api/v1/cases/{number}/dispatch", {"department_id": world.police_a.pk})
    assert r.json()["status"] == "dispatched"
    handler = login(world.handler)
    assert post(handler, f"/api/v1/cases/{number}/accept").status_code == 200
    r = handler.post(f"/api/v1/cases/{number}/handle", {"note": "已清理", "photos": [jpeg()]})
    assert r.status_code == 200, r.content
    assert login(supervisor).post(f"/api/v1/cases/{number}/verify", {"passed": True},
                                  content_type="application/json").json()["status"] == "closed"
    r = post(login(world.resident), f"/api/v1/cases/{number}/rate", {"rating": "satisfied"})
    assert r.json()["rating"] == "satisfied"
    events = login(world.resident).get(f"/api/v1/cases/{number}/events").json()
    assert [e["action"] for e in events] == ["report", "file", "dispatch", "accept", "handle", "verify", "rate"]


def test_multipart_report_with_a_photo(login, world, directory):
    r = login(world.resident).post("/api/v1/cases/with-photos", {"title": "井盖缺失", **IN_A1, "photos": [jpeg()]})
    assert r.status_code == 201, r.content
    case = Case.objects.get(number=r.json()["number"])
    assert case.photos.count() == 1


def test_a_non_image_photo_is_refused_and_nothing_is_written(login, world, directory):
    fake = io.BytesIO(b"<svg onload=alert(1)></svg>")
    fake.name = "x.jpg"
    r = login(world.resident).post("/api/v1/cases/with-photos", {"title": "x", **IN_A1, "photos": [fake]})
    assert r.status_code == 400 and "photos" in r.json()["error"]["fields"]
    assert Case.objects.count() == 0


def test_error_codes(login, world, directory):
    resident = login(world.resident)
    number = post(resident, "/api/v1/cases", {"title": "x", **IN_A1}).json()["number"]
    assert post(resident, f"/api/v1/cases/{number}/file").status_code == 403
    assert post(login(world.outsider), f"/api/v1/cases/{number}/file").status_code == 404
    dispatcher = login(world.dispatcher)
    assert post(dispatcher, f"/api/v1/cases/{number}/file").status_code == 400  # no category yet
    assert post(dispatcher, f"/api/v1/cases/{number}/file", {"category_code": "06010"}).status_code == 200
    r = post(dispatcher, f"/api/v1/cases/{number}/file", {"category_code": "06010"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert post(resident, "/api/v1/cases", {"title": "远方", "lon": 120, "lat": 20}).status_code == 400
    assert post(resident, "/api/v1/cases", {"title": "", **IN_A1}).status_code == 400
    assert post(dispatcher, f"/api/v1/cases/{number}/dispatch", {"department_id": 10**12}).status_code == 404


def test_outsiders_see_no_cases(login, world, directory):
    post(login(world.resident), "/api/v1/cases", {"title": "x", **IN_A1})
    assert login(world.outsider).get("/api/v1/cases").json()["count"] == 0
    assert login(world.dispatcher).get("/api/v1/cases").json()["count"] == 1
    assert login(world.resident).get("/api/v1/cases").json()["count"] == 1  # their own


def test_the_count_stops_at_the_limit(login, world, directory, monkeypatch):
    from gongzhi.core.api import Pagination

    resident = login(world.resident)
    for i in range(3):
        post(resident, "/api/v1/cases", {"title": f"第{i}件", **IN_A1})
    page = login(world.dispatcher).get("/api/v1/cases?page_size=2").json()
    assert (page["count"], page["count_exact"], len(page["items"])) == (3, True, 2)
    monkeypatch.setattr(Pagination, "COUNT_LIMIT", 2)
    page = login(world.dispatcher).get("/api/v1/cases?page_size=2&page=2").json()
    assert (page["count"], page["count_exact"], len(page["items"])) == (3, False, 1)  # "more than 2"
