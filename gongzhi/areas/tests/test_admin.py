"""The Django admin for areas writes through the services (audit rows, index stamp) and shows
validation problems as form errors, never as a server error."""

from __future__ import annotations

import json

from django.contrib.auth.models import Permission
from django.urls import reverse

from gongzhi.areas import services
from gongzhi.areas.models import Area, AreaIndexStamp, AreaLevel
from gongzhi.conftest import square
from gongzhi.core.models import AuditLog

BOW_TIE = {"type": "Polygon", "coordinates": [[[100.0, 30.1], [100.1, 30.2], [100.1, 30.1], [100.0, 30.2],
                                                [100.0, 30.1]]]}


def add_data(world, **overrides) -> dict:
    data = {
        "level": AreaLevel.objects.get(slug="grid").pk,
        "parent": world.community_a.pk,
        "name": "东三网格",
        "name_en": "",
        "code": "990101001001003",
        "geometry": json.dumps(square(100.0, 30.1, 0.1)),
        "attributes": "{}",
    }
    data.update(overrides)
    return data


def test_superuser_adds_an_area_through_the_admin(world, login):
    client = login(world.admin)
    assert client.get(reverse("admin:areas_area_add")).status_code == 200
    assert client.get(reverse("admin:areas_arealevel_changelist")).status_code == 200
    stamp = AreaIndexStamp.objects.get(pk=1).version

    response = client.post(reverse("admin:areas_area_add"), add_data(world))

    assert response.status_code == 302, response.content.decode()
    area = Area.objects.get(code="990101001001003")
    assert area.parent == world.community_a and area.path == f"{world.community_a.path}{area.pk}/"
    assert area.label_lon is not None
    log = AuditLog.objects.get(action="area.create", object_id=str(area.pk))
    assert log.actor == world.admin
    assert AreaIndexStamp.objects.get(pk=1).version > stamp


def test_invalid_polygon_is_a_form_error(world, login):
    client = login(world.admin)
    count = Area.objects.count()

    response = client.post(reverse("admin:areas_area_add"), add_data(world, geometry=json.dumps(BOW_TIE)))

    assert response.status_code == 200
    assert "边界无效" in response.content.decode()
    assert Area.objects.count() == count


def test_other_problems_are_form_errors_too(world, login):
    client = login(world.admin)
    cases = [
        (add_data(world, geometry=json.dumps(square(100.5, 30.5, 0.1))), "超出上级区域"),
        (add_data(world, geometry="{not json"), "JSON"),
        (add_data(world, code="990101002001009"), "应以上级编码"),
        (add_data(world, name="东一网格"), "已有名为"),
        (add_data(world, parent=""), "只有最高层级的区域可以没有上级"),
    ]
    for data, message in cases:
        response = client.post(reverse("admin:areas_area_add"), data)
        assert response.status_code == 200, message
        assert message in response.content.decode(), message
    assert not Area.objects.filter(name="东三网格").exists()


def test_change_renames_and_moves_through_the_services(world, login):
    client = login(world.admin)
    url = reverse("admin:areas_area_change", args=[world.grid_a2.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "parent": world.community_a.pk, "name": "东二网格（改）", "name_en": "", "code": world.grid_a2.code,
        "geometry": json.dumps(world.grid_a2.geometry), "attributes": "{}",
    }
    assert client.post(url, data).status_code == 302
    world.grid_a2.refresh_from_db()
    assert world.grid_a2.name == "东二网格（改）"
    assert AuditLog.objects.filter(action="area.update", object_id=str(world.grid_a2.pk)).exists()

    # Moving under the area itself is refused on the form.
    street_url = reverse("admin:areas_area_change", args=[world.street_a.pk])
    data = {"parent": world.grid_a1.pk, "name": world.street_a.name, "name_en": "", "code": world.street_a.code,
            "geometry": json.dumps(world.street_a.geometry), "attributes": "{}"}
    response = client.post(street_url, data)
    assert response.status_code == 200 and "不能把区域移到它自己或它的下级之下" in response.content.decode()


def test_areas_with_children_cannot_be_deleted(world, login):
    client = login(world.admin)
    response = client.get(reverse("admin:areas_area_delete", args=[world.community_a.pk]))
    assert response.status_code == 403

    # grid B1 is held by the outsider's role (PROTECT): the admin explains instead of deleting.
    response = client.post(reverse("admin:areas_area_delete", args=[world.grid_b1.pk]), {"post": "yes"})
    assert response.status_code == 200 and Area.objects.filter(pk=world.grid_b1.pk).exists()

    leaf = services.create_area(actor=None, level=world.grid_b1.level, parent=world.community_b, name="西二网格",
                                code="990101002001002", geometry=square(100.6, 30.0, 0.1))
    stamp = AreaIndexStamp.objects.get(pk=1).version
    response = client.post(reverse("admin:areas_area_delete", args=[leaf.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Area.objects.filter(pk=leaf.pk).exists()
    assert AuditLog.objects.filter(action="area.delete", object_id=str(leaf.pk)).exists()
    assert AreaIndexStamp.objects.get(pk=1).version > stamp


def test_staff_sees_only_their_jurisdiction(world, login):
    dispatcher = world.dispatcher
    dispatcher.is_staff = True
    dispatcher.save(update_fields=["is_staff"])
    dispatcher.user_permissions.add(Permission.objects.get(codename="view_area"))
    client = login(dispatcher)

    response = client.get(reverse("admin:areas_area_changelist"))

    assert response.status_code == 200
    shown = {a.name for a in response.context["cl"].result_list}
    assert shown == {a.name for a in world.areas_of_a()}
    assert client.get(reverse("admin:areas_area_change", args=[world.grid_b1.pk])).status_code == 302


def test_move_and_rename_in_one_save(world, login):
    """Moving b2 under grid A2 while renaming it to a name taken in its old parent: the admin moves
    first, then renames (the other order would clash)."""
    building = AreaLevel.objects.get(slug="building")
    services.create_area(actor=None, level=building, parent=world.grid_a1, name="1号楼")
    b2 = services.create_area(actor=None, level=building, parent=world.grid_a1, name="2号楼")
    client = login(world.admin)
    data = {"parent": world.grid_a2.pk, "name": "1号楼", "name_en": "", "code": "", "geometry": "",
            "attributes": "{}"}

    response = client.post(reverse("admin:areas_area_change", args=[b2.pk]), data)

    assert response.status_code == 302, response.content.decode()
    b2.refresh_from_db()
    assert (b2.parent, b2.name) == (world.grid_a2, "1号楼") and b2.path.startswith(world.grid_a2.path)
    actions = list(AuditLog.objects.filter(object_id=str(b2.pk)).order_by("id").values_list("action", flat=True))
    assert actions == ["area.create", "area.move", "area.update"]
