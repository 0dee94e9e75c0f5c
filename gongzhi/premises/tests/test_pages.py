"""Pages and the API, per fixed actor (the outsider gets nothing of street A)."""

from __future__ import annotations

import json

import pytest

from gongzhi.premises import services
from gongzhi.premises.models import Premises


@pytest.fixture
def premises(world, types):
    return services.create_premises(actor=world.admin, name="凤凰便民超市", type=types["shop"], lon=100.05, lat=30.05,
                                    operator_name="韩立新", licences=[{"kind": "business", "number": "9115"}])


def test_list_and_detail_per_actor(login, world, premises):
    for user, status in [(world.dispatcher, 200), (world.worker, 200), (world.handler, 200), (world.outsider, 404),
                         (world.resident, 404)]:
        client = login(user)
        page = client.get("/premises/")
        assert page.status_code == 200
        assert ("凤凰便民超市" in page.content.decode()) is (status == 200)
        assert client.get(f"/premises/{premises.pk}/").status_code == status


def test_create_edit_and_history_pages(login, world, types):
    client = login(world.worker)
    response = client.post("/premises/new/", {"name": "老街坊面馆", "type": types["restaurant"].pk, "lon": "100.05",
                                              "lat": "30.05", "risk_level": "medium", "is_active": "on"})
    p = Premises.objects.get(name="老街坊面馆")
    assert response.status_code == 302 and p.area == world.grid_a1
    client.post(f"/premises/{p.pk}/edit/", {"name": "老街坊面馆", "type": types["restaurant"].pk, "lon": "100.05",
                                            "lat": "30.05", "risk_level": "high", "is_active": "on"})
    page = client.get(f"/premises/{p.pk}/").content.decode()
    assert "登记" in page and "risk_level: medium → high" in page
    outside = client.post("/premises/new/", {"name": "外地", "type": types["shop"].pk, "lon": "120", "lat": "10",
                                             "risk_level": "low"})
    assert outside.status_code == 200 and "不在本市范围内" in outside.content.decode()


def test_the_resident_may_not_register(login, world, types):
    assert login(world.resident).get("/premises/new/").status_code == 403


def test_api_list_detail_create(login, world, premises, types):
    client = login(world.dispatcher)
    listed = client.get("/api/v1/premises?type=shop").json()
    assert listed["count"] == 1 and listed["items"][0]["area_id"] == world.grid_a1.pk
    detail = client.get(f"/api/v1/premises/{premises.pk}").json()
    assert detail["licences"][0]["number"] == "9115"
    created = client.post("/api/v1/premises", json.dumps({"name": "群租房甲", "type": "group_rental", "lon": 100.15,
                                                          "lat": 30.05, "risk_level": "high"}),
                          content_type="application/json")
    assert created.status_code == 201 and created.json()["area_id"] == world.grid_a2.pk
    outside = client.post("/api/v1/premises", json.dumps({"name": "外地", "type": "shop", "lon": 120, "lat": 10}),
                          content_type="application/json")
    assert outside.status_code == 400 and "lon" in outside.json()["error"]["fields"]
    assert login(world.outsider).get(f"/api/v1/premises/{premises.pk}").status_code == 404


def test_admin_writes_through_the_services(login, world, types):
    client = login(world.admin)
    response = client.post("/admin/premises/premises/add/", {
        "name": "星光KTV", "type": types["entertainment"].pk, "lon": "100.05", "lat": "30.05", "risk_level": "high",
        "is_active": "on", "licences-TOTAL_FORMS": "0", "licences-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content.decode()[:2000]
    p = Premises.objects.get(name="星光KTV")
    assert p.area == world.grid_a1
    from gongzhi.core.models import AuditLog

    assert AuditLog.objects.filter(action="premises.create", object_id=str(p.pk)).exists()
    assert client.get(f"/admin/premises/premises/{p.pk}/change/").status_code == 200
    assert client.get("/admin/premises/premisestype/").status_code == 200


def test_licences_are_added_and_removed_on_the_page(login, world, premises):
    client = login(world.worker)
    client.post(f"/premises/{premises.pk}/licences/", {"kind": "food", "number": "JY115", "valid_until": "2027-01-31"})
    licence = premises.licences.get(kind="food")
    assert login(world.outsider).post(f"/premises/licences/{licence.pk}/delete/").status_code == 404
    client = login(world.worker)
    assert client.post(f"/premises/licences/{licence.pk}/delete/").status_code == 302
    assert not premises.licences.filter(kind="food").exists()
