"""The premises registry's services: location → grid, the read door, history, licences, photos."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from gongzhi.core.models import AuditLog
from gongzhi.premises import queries, services
from gongzhi.premises.models import Premises

IN_A1 = (100.05, 30.05)
IN_B1 = (100.55, 30.05)
OUTSIDE = (120.0, 10.0)


def shop(world, types, actor=None, point=IN_A1, **extra):
    lon, lat = point if point else (None, None)
    return services.create_premises(actor=actor or world.admin, name=extra.pop("name", "凤凰便民超市"),
                                    type=types["shop"], lon=lon, lat=lat, **extra)


def test_a_point_places_the_premises_in_its_grid(world, types):
    p = shop(world, types, operator_name="韩立新", contact_phone="13900002001")
    assert p.area == world.grid_a1 and p.area_path == world.grid_a1.path


def test_a_point_outside_the_city_is_a_clear_error(world, types):
    with pytest.raises(ValidationError) as info:
        shop(world, types, point=OUTSIDE)
    assert "不在本市范围内" in str(info.value.message_dict["lon"])
    assert not Premises.objects.exists()


def test_no_point_means_to_be_located(world, types):
    p = shop(world, types, actor=world.worker, point=None)
    assert p.area is None
    assert list(Premises.objects.visible_to(world.worker)) == [p]  # its registrant sees it
    assert not Premises.objects.visible_to(world.dispatcher).exists()


def test_half_a_point_and_a_bad_phone_are_refused(world, types):
    with pytest.raises(ValidationError):
        services.create_premises(actor=world.admin, name="x", type=types["shop"], lon=100.05)
    with pytest.raises(ValidationError) as info:
        shop(world, types, contact_phone="call me")
    assert "contact_phone" in info.value.message_dict


def test_the_read_door(world, types):
    a = shop(world, types)
    b = shop(world, types, name="西边的店", point=IN_B1)
    assert set(Premises.objects.visible_to(world.dispatcher)) == {a}
    assert set(Premises.objects.visible_to(world.worker)) == {a}
    assert set(Premises.objects.visible_to(world.handler)) == {a}
    assert set(Premises.objects.visible_to(world.outsider)) == {b}
    assert not Premises.objects.visible_to(world.resident).exists()


def test_writes_stay_inside_the_jurisdiction(world, types):
    with pytest.raises(PermissionDenied):
        shop(world, types, actor=world.worker, point=IN_B1)
    with pytest.raises(PermissionDenied):
        shop(world, types, actor=world.resident)
    p = shop(world, types, actor=world.worker)
    with pytest.raises(PermissionDenied):  # moved out of the worker's grid: refused and rolled back
        services.update_premises(p, actor=world.worker, lon=IN_B1[0], lat=IN_B1[1])
    p.refresh_from_db()
    assert p.area == world.grid_a1
    with pytest.raises(PermissionDenied):
        services.update_premises(p, actor=world.outsider, name="改名")


def test_every_change_is_in_the_history(world, types):
    p = shop(world, types, actor=world.worker, licences=[{"kind": "business", "number": "91150302MA0N",
                                                          "valid_until": "2027-06-30"}])
    services.update_premises(p, actor=world.worker, risk_level="high", name="凤凰超市")
    services.update_premises(p, actor=world.worker, risk_level="high")  # no change, no row
    licence = p.licences.get()
    services.update_licence(licence, actor=world.worker, kind="business", number="91150302MA0N",
                            valid_until=datetime.date(2028, 1, 1))
    services.remove_licence(licence, actor=world.worker)
    rows = list(queries.history(p))
    assert [r.action for r in rows] == ["premises.licence_remove", "premises.licence_update", "premises.update",
                                        "premises.licence_add", "premises.create"]
    assert rows[2].before == {"name": "凤凰便民超市", "risk_level": "low"}
    assert rows[2].after == {"name": "凤凰超市", "risk_level": "high"}
    assert {r.actor_name for r in rows} == {"worker"}


def test_licences_expiring_soon(world, types):
    today = timezone.localdate()
    soon = shop(world, types, name="快到期", licences=[{"kind": "food", "number": "JY1",
                                                      "valid_until": today + datetime.timedelta(days=10)}])
    shop(world, types, name="还早", licences=[{"kind": "food", "number": "JY2",
                                             "valid_until": today + datetime.timedelta(days=200)}])
    expired = shop(world, types, name="已过期", licences=[{"kind": "fire", "number": "XF3",
                                                        "valid_until": today - datetime.timedelta(days=1)}])
    assert [lic.premises for lic in queries.expiring_licences(world.dispatcher)] == [expired, soon]
    assert set(queries.search(world.dispatcher, queries.Filters(expiring=30))) == {soon, expired}
    assert not queries.expiring_licences(world.outsider).exists()


def test_filters(world, types):
    a = shop(world, types, risk_level="high")
    b = services.create_premises(actor=world.admin, name="群租房", type=types["group_rental"], lon=100.15, lat=30.05)
    assert list(queries.search(world.dispatcher, queries.Filters(type="group_rental"))) == [b]
    assert list(queries.search(world.dispatcher, queries.Filters(risk="high"))) == [a]
    assert list(queries.search(world.dispatcher, queries.Filters(area=world.grid_a2.pk))) == [b]


def test_photos_are_checked_and_re_encoded(world, types, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    p = shop(world, types)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(out, "PNG")
    photo = services.add_photo(p, SimpleUploadedFile("shop.png", out.getvalue()), actor=world.admin, caption="门头")
    assert photo.image.name.endswith(".jpg") and (photo.width, photo.height) == (64, 48)
    with pytest.raises(ValidationError):
        services.add_photo(p, SimpleUploadedFile("x.jpg", b"<html><script>alert(1)</script>"), actor=world.admin)
    assert AuditLog.objects.filter(action="premises.photo_add", object_id=str(p.pk)).count() == 1
