"""The area API: reads through the read door, writes through the services, bad input is a 400."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from gongzhi.conftest import square
from gongzhi.core.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(world):
    """The street-A dispatcher, allowed to edit areas (inside their street only)."""
    world.dispatcher.user_permissions.add(*Permission.objects.filter(codename__in=["add_area", "change_area"]))
    return world.dispatcher


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_create_a_grid_with_a_polygon(login, world, editor):
    client = login(editor)
    response = post(client, "/api/v1/areas", {
        "name": "东三网格", "level": "grid", "parent_id": world.community_a.pk, "code": "990101001001003",
        "geometry": square(100.0, 30.1, 0.05)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["level"]["slug"] == "grid" and body["label_lon"] is not None
    assert AuditLog.objects.filter(action="area.create", object_id=str(body["id"])).exists()
    # The new polygon is found by point lookup straight away (the index stamp moved).
    assert client.get("/api/v1/areas/lookup", {"lon": 100.02, "lat": 30.12}).json()["id"] == body["id"]


@pytest.mark.parametrize("payload, field", [
    ({"geometry": {"type": "Polygon", "coordinates": [[[100, 30], [100.01, 30], [100.01, 30.01], [100, 30.01]]]}},
     "geometry"),  # not closed
    ({"geometry": {"type": "Polygon", "coordinates": [[[100, 30], [100.01, 30.01], [100.01, 30], [100, 30.01],
                                                      [100, 30]]]}}, "geometry"),  # bow-tie
    ({"geometry": square(110.0, 30.0, 0.01)}, "geometry"),  # outside the parent
    ({"geometry": {"type": "Point", "coordinates": [100, 30]}}, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": "nonsense"}}, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[1e400, 30], [100, 30], [100, 31], [1e400, 30]]]}}, "geometry"),
    ({"code": "12345"}, "code"),  # a grid code has 15 digits
    ({"code": "990101002001009"}, "code"),  # does not extend the parent's code
    ({"code": "990101001001001"}, "code"),  # taken
    ({"name": "东一网格"}, "name"),  # a sibling has that name
    ({"level": "street"}, "level"),  # a street can't sit under a community
    ({"level": "nonsense"}, "level"),
    ({"name": ""}, "name"),
    ({"name": "x" * 300}, "name"),
    ({"attributes": "not a dict"}, "attributes"),
])
def test_bad_area_input_is_a_400_naming_the_field(login, world, editor, payload, field):
    data = {"name": "新网格", "level": "grid", "parent_id": world.community_a.pk, **payload}
    response = post(login(editor), "/api/v1/areas", data)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()


def test_writes_stay_inside_the_jurisdiction(login, world, editor):
    client = login(editor)
    response = post(client, "/api/v1/areas", {"name": "越界", "level": "grid", "parent_id": world.community_b.pk})
    assert response.status_code == 404
    patch = client.patch(f"/api/v1/areas/{world.grid_b1.pk}", {"name": "改名"}, content_type="application/json")
    assert patch.status_code == 404
    world.grid_b1.refresh_from_db()
    assert world.grid_b1.name == "西一网格"


def test_patch_renames_and_keeps_what_is_not_sent(login, world, editor):
    client = login(editor)
    response = client.patch(f"/api/v1/areas/{world.grid_a1.pk}", {"name": "东一网格（新）"},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    world.grid_a1.refresh_from_db()
    assert world.grid_a1.name == "东一网格（新）" and world.grid_a1.geometry is not None
    row = AuditLog.objects.get(action="area.update", object_id=str(world.grid_a1.pk))
    assert row.before == {"name": "东一网格"} and row.after == {"name": "东一网格（新）"}


def test_without_the_permission_writes_are_forbidden(login, world):
    response = post(login(world.worker), "/api/v1/areas", {"name": "x", "level": "building",
                                                           "parent_id": world.grid_a1.pk})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_openapi_document_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/areas" in spec["paths"] and "/api/v1/me/tokens" in spec["paths"]
