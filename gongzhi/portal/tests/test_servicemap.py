"""The 15-minute services map: walking arithmetic, nearby points, the services and the pages."""

from __future__ import annotations

import math

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from gongzhi.core.models import AuditLog
from gongzhi.portal import servicemap
from gongzhi.portal.models import Residency, ServicePoint, ServicePointType

M_PER_DEG_LAT = math.pi * servicemap.EARTH_RADIUS_M / 180


def kind(code):
    return ServicePointType.objects.get(code=code)


def north(area, metres):
    """(lon, lat) ``metres`` north of the area's label point."""
    return area.label_lon, area.label_lat + metres / M_PER_DEG_LAT


def put(area, name, metres, code="clinic", **extra):
    lon, lat = north(area, metres)
    return ServicePoint.objects.create(type=kind(code), name=name, area=area, lon=lon, lat=lat, **extra)


def home(user, area, status=Residency.Status.VERIFIED):
    return Residency.objects.create(user=user, area=area, status=status)


def fields(world, **over):
    lon, lat = north(world.grid_a1, 100)
    data = {"type": kind("clinic"), "name": "东一卫生服务站", "area": world.grid_a1, "lon": lon, "lat": lat,
            "address": "东一路 1 号", "phone": "010-1234", "hours": "8:00–17:00", "description": ""}
    data.update(over)
    return data


# ------------------------------------------------------------------------------ arithmetic


def test_haversine_and_walk_minutes():
    assert servicemap.haversine_m(100, 30, 100, 31) == pytest.approx(M_PER_DEG_LAT, rel=1e-9)
    assert servicemap.haversine_m(0, 0, 1, 0) == pytest.approx(M_PER_DEG_LAT, rel=1e-9)  # on the equator
    # 320 m straight = 400 m walked = 5 minutes; a metre more starts the sixth minute
    assert servicemap.walk_minutes(320) == 5
    assert servicemap.walk_minutes(321) == 6
    assert servicemap.walk_minutes(0) == 0


def test_rings():
    assert [servicemap.ring_radius_m(m) for m in servicemap.RINGS_MINUTES] == [320, 640, 960]
    assert [servicemap.ring_of(m) for m in (0, 5, 6, 10, 11, 15, 16)] == [5, 5, 10, 10, 15, 15, None]


# ------------------------------------------------------------------------------ reads


def test_nearby_sorts_and_cuts_at_fifteen_minutes(world):
    far = put(world.grid_a1, "远处", 900)
    near = put(world.grid_a1, "近处", 100, code="xilin")
    mid = put(world.grid_a1, "中间", 500)
    put(world.grid_a1, "太远", 1000)  # 16 minutes
    rows = servicemap.nearby(world.grid_a1)
    assert [(p, mins) for p, _m, mins in rows] == [(near, 2), (mid, 8), (far, 15)]
    assert rows[0][1] == pytest.approx(100, abs=0.5)
    assert [p for p, *_ in servicemap.nearby(world.grid_a1, minutes=5)] == [near]
    assert [p for p, *_ in servicemap.nearby(world.grid_a1, types=["xilin"])] == [near]


def test_inactive_points_and_types_excluded(world):
    put(world.grid_a1, "停用的点", 100, is_active=False)
    put(world.grid_a1, "充电桩", 200, code="charging")
    kept = put(world.grid_a1, "卫生站", 300)
    ServicePointType.objects.filter(code="charging").update(is_active=False)
    assert [p for p, *_ in servicemap.nearby(world.grid_a1)] == [kept]


def test_origin_from_a_verified_residency_only(world):
    put(world.grid_a1, "卫生站", 100)
    pending = home(world.resident, world.grid_a1, Residency.Status.PENDING)
    assert servicemap.origin_for(world.resident) is None
    assert servicemap.nearby(world.resident) == []
    pending.status = Residency.Status.VERIFIED
    pending.save()
    world.resident.__dict__.pop("_portal_home_paths", None)
    assert servicemap.origin_for(world.resident) == (world.grid_a1.label_lon, world.grid_a1.label_lat,
                                                     world.grid_a1)
    assert [p.name for p, *_ in servicemap.nearby(world.resident)] == ["卫生站"]


# ------------------------------------------------------------------------------ writes


def test_create_point_by_the_grid_worker_is_audited(world):
    point = servicemap.create_point(world.worker, **fields(world))
    assert point.pk and point.area == world.grid_a1 and point.is_active
    log = AuditLog.objects.get(action="portal.point_create", object_id=str(point.pk))
    assert log.after["name"] == "东一卫生服务站"


@pytest.mark.parametrize("who", ["resident", "outsider", "handler"])
def test_create_point_refused_without_publishing_rights(world, who):
    with pytest.raises(PermissionDenied):
        servicemap.create_point(getattr(world, who), **fields(world, area=world.street_a))
    assert not ServicePoint.objects.exists()


def test_bad_coordinates_refused(world):
    lon, lat = north(world.grid_a1, 100)
    for bad in ({"lon": 200}, {"lat": -91}, {"lon": "东经"}, {"lon": float("nan")},
                {"lon": lat, "lat": lon},           # swapped
                {"lon": 100.55, "lat": 30.05}):     # in street B, not in 东一网格
        with pytest.raises(ValidationError) as exc:
            servicemap.create_point(world.worker, **fields(world, **bad))
        assert set(exc.value.message_dict) & {"lon", "lat"}
    # just across the boundary is fine (a station across the street)
    servicemap.create_point(world.worker, **fields(world, lon=100.1 + 100 / 96_000, lat=30.05))
    assert ServicePoint.objects.count() == 1


def test_update_and_deactivate(world):
    point = servicemap.create_point(world.dispatcher, **fields(world))
    lon, lat = north(world.grid_a2, 50)
    servicemap.update_point(world.dispatcher, point, **fields(world, area=world.grid_a2, lon=lon, lat=lat,
                                                              name="新名称"))
    point.refresh_from_db()
    assert (point.name, point.area) == ("新名称", world.grid_a2)
    with pytest.raises(PermissionDenied):  # the grid worker of 东一网格 does not manage 东二网格
        servicemap.update_point(world.worker, point, **fields(world))
    with pytest.raises(PermissionDenied):
        servicemap.deactivate_point(world.outsider, point)
    servicemap.deactivate_point(world.dispatcher, point)
    point.refresh_from_db()
    assert not point.is_active
    assert servicemap.nearby(world.grid_a2) == []


def test_import_merchants_places_them_at_the_label_point_once(world):
    from gongzhi.points.models import Merchant

    shop = Merchant.objects.create(name="东一理发店", area=world.grid_a1, phone="13900000000")
    Merchant.objects.create(name="歇业的店", area=world.grid_a1, is_active=False)
    Merchant.objects.create(name="西边的店", area=world.grid_b1)
    with pytest.raises(PermissionDenied):
        servicemap.import_merchants(world.outsider, world.grid_a1)
    result = servicemap.import_merchants(world.worker, world.grid_a1)
    [point] = result.created
    assert (point.merchant, point.type.code, point.lon, point.lat, point.phone) == (
        shop, "xilin", world.grid_a1.label_lon, world.grid_a1.label_lat, "13900000000")
    assert servicemap.import_merchants(world.worker, world.grid_a1).created == []


# ------------------------------------------------------------------------------ pages


def test_points_json_shape(world, login):
    put(world.grid_a1, "卫生站", 100)
    put(world.grid_a1, "喜邻小店", 400, code="xilin", hours="9:00–21:00")
    home(world.resident, world.grid_a1)
    data = login(world.resident).get(reverse("portal:map_points")).json()
    assert data["type"] == "FeatureCollection"
    assert data["origin"] == {"lon": world.grid_a1.label_lon, "lat": world.grid_a1.label_lat, "area": "东一网格"}
    assert data["rings"] == [{"minutes": 5, "radius_m": 320.0}, {"minutes": 10, "radius_m": 640.0},
                             {"minutes": 15, "radius_m": 960.0}]
    first, second = data["features"]
    assert first["geometry"]["type"] == "Point"
    assert first["properties"]["name"] == "卫生站" and first["properties"]["ring"] == 5
    assert second["properties"].items() >= {"type": "xilin", "color": "#d35400", "minutes": 7, "ring": 10,
                                            "hours": "9:00–21:00"}.items()
    assert {t["code"] for t in data["types"]} >= {"clinic", "xilin"}
    filtered = login(world.resident).get(reverse("portal:map_points") + "?type=xilin").json()
    assert [f["properties"]["name"] for f in filtered["features"]] == ["喜邻小店"]


def test_points_json_without_home_is_empty(world, login):
    put(world.grid_a1, "卫生站", 100)
    data = login(world.outsider).get(reverse("portal:map_points")).json()
    assert data["origin"] is None and data["features"] == []
    data = login(world.outsider).get(reverse("portal:map_points") + f"?area={world.grid_a1.pk}").json()
    assert [f["properties"]["name"] for f in data["features"]] == ["卫生站"]


def test_map_page_lists_points_by_ring_for_a_resident(world, login):
    put(world.grid_a1, "东一卫生站", 100, hours="8:00–17:00", phone="010-1111")
    put(world.grid_a1, "喜邻小店", 400, code="xilin")
    put(world.grid_a1, "很远的站", 2000)
    home(world.resident, world.grid_a1)
    response = login(world.resident).get(reverse("portal:map"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="services-map"' in html and "15 分钟内" in html
    five, ten = html.index('id="ring-5"'), html.index('id="ring-10"')
    assert five < html.index("东一卫生站") < ten < html.index("喜邻小店")
    assert "8:00–17:00" in html and 'href="tel:010-1111"' in html
    assert "很远的站" not in html
    assert "<script>" not in html  # CSP: no inline script


def test_map_page_without_home_asks_for_one(world, login):
    response = login(world.resident).get(reverse("portal:map"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="map-no-home"' in html and 'id="services-map"' not in html
    assert f'href="{reverse("portal:residency")}"' in html


def test_management_views(world, login):
    point = put(world.grid_a1, "东一卫生站", 100)
    assert login(world.resident).get(reverse("portal:points")).status_code == 403
    assert login(world.outsider).get(reverse("portal:point_edit", args=[point.pk])).status_code == 404
    assert login(world.outsider).post(reverse("portal:point_deactivate", args=[point.pk])).status_code == 404
    assert login(world.handler).get(reverse("portal:point_edit", args=[point.pk])).status_code == 403
    listing = login(world.worker).get(reverse("portal:points"))
    assert listing.status_code == 200 and "东一卫生站" in listing.content.decode()

    client = login(world.worker)
    lon, lat = north(world.grid_a1, 200)
    data = {"type": kind("legal").pk, "name": "法律服务点", "area": world.grid_a1.pk, "lon": lon, "lat": lat}
    assert client.post(reverse("portal:point_new"), data).status_code == 302
    assert ServicePoint.objects.filter(name="法律服务点", area=world.grid_a1).exists()
    refused = client.post(reverse("portal:point_new"), data | {"lon": 100.55})
    assert refused.status_code == 400 and "不在" in refused.content.decode()

    assert client.post(reverse("portal:point_deactivate", args=[point.pk])).status_code == 302
    point.refresh_from_db()
    assert not point.is_active
