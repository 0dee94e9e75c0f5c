"""The read door: a user from another street gets nothing of any resource, and "not yours" looks
exactly like "does not exist" (the same 404)."""

from __future__ import annotations

import json
import re

import pytest

from gongzhi.areas.models import Area
from gongzhi.core.scoping import jurisdiction
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Department, Membership

pytestmark = pytest.mark.django_db


def test_jurisdiction_is_the_union_of_role_and_department_subtrees(world):
    assert jurisdiction(world.worker).paths == (world.grid_a1.path,)
    assert jurisdiction(world.dispatcher).paths == (world.street_a.path,)
    assert jurisdiction(world.handler).paths == (world.street_a.path,)
    assert jurisdiction(world.resident).empty
    assert jurisdiction(world.admin).everything


def test_the_one_statement_grants_match_the_orm(world, django_assert_num_queries):
    """``jurisdiction`` reads memberships, departments and the departments' areas in one hand-written
    statement: the same rows the ORM gives, including an inactive department (kept in
    ``department_ids``, its areas not served) and an ended role (gone)."""
    from gongzhi.core.scoping import _grants
    from gongzhi.orgs.models import Role, Staff

    user = world.handler
    other = Department.objects.create(name="停用的部门", code="closed", is_active=False)
    other.areas.add(world.street_b)
    Staff.objects.create(user=user, department=other)
    org_services.assign_role(actor=None, user=user, area=world.grid_b1, role=Role.objects.get(code="grid_worker"))
    ended = org_services.assign_role(actor=None, user=user, area=world.street_b,
                                     role=Role.objects.get(code="dispatcher"))
    org_services.end_role(ended, actor=None)
    for person in (user, world.worker, world.dispatcher, world.resident, world.outsider):
        with django_assert_num_queries(1):
            memberships, department_ids, served = _grants(person.pk)
        expected = list(Membership.objects.active().filter(user=person).values_list(
            "area__path", "role__code", "role__sees_subtree", "role__is_command_center"))
        assert sorted(memberships) == sorted(expected)
        assert department_ids == frozenset(Staff.objects.filter(user=person).values_list("department_id", flat=True))
        assert sorted(served) == sorted(Area.objects.filter(departments__in=department_ids,
                                                            departments__is_active=True).values_list("path", flat=True))
    assert jurisdiction(user).department_ids == {world.police_a.pk, other.pk}
    assert world.street_b.path not in jurisdiction(user).paths and world.grid_b1.path in jurisdiction(user).paths


def test_visible_areas_per_actor(world):
    assert set(Area.objects.visible_to(world.dispatcher)) == set(world.areas_of_a())
    assert set(Area.objects.visible_to(world.worker)) == {world.grid_a1}
    assert set(Area.objects.visible_to(world.outsider)) == {world.grid_b1}
    assert not Area.objects.visible_to(world.resident).exists()


def test_ended_role_closes_the_door(world):
    membership = Membership.objects.get(user=world.worker)
    org_services.end_role(membership, actor=world.admin)
    world.worker.refresh_from_db()
    assert not Area.objects.visible_to(world.worker).exists()


def test_departments_visible_from_inside_the_street_only(world):
    assert set(Department.objects.visible_to(world.worker)) == {world.police_a}
    assert world.police_a not in set(Department.objects.visible_to(world.outsider))


def normalised(response, url: str) -> bytes:
    """The body without what differs per request anyway: the CSRF token and the echoed URL."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    return body.replace(url.encode(), b"URL")


def area_urls(area):
    return [f"/areas/{area.pk}/", f"/areas/{area.pk}/map.geojson", f"/areas/{area.pk}/export.xlsx",
            f"/areas/{area.pk}/export.geojson", f"/api/v1/areas/{area.pk}",
            f"/api/v1/areas?parent={area.pk}", f"/api/v1/areas?under={area.pk}",
            f"/api/v1/areas/export.geojson?under={area.pk}"]


def test_outsider_gets_the_same_404_as_for_a_missing_area(world, login):
    client = login(world.outsider)
    missing = Area(pk=987654)
    for area in [world.street_a, world.community_a, world.grid_a1, world.city]:
        for url, missing_url in zip(area_urls(area), area_urls(missing), strict=True):
            response = client.get(url)
            assert response.status_code == 404, url
            assert normalised(response, url) == normalised(client.get(missing_url), missing_url), url
    response = client.get(f"/departments/{world.police_a.pk}/")
    assert response.status_code == 404
    assert client.get(f"/api/v1/departments/{world.police_a.pk}").status_code == 404


def test_outsider_lists_searches_and_exports_nothing_of_street_a(world, login):
    client = login(world.outsider)
    names_a = {a.name for a in world.areas_of_a()} | {"东派出所", "调度甲", "网格员甲", "民警甲"}
    pages = [
        "/", "/areas/", "/areas/search/?q=东", "/areas/search/?q=990101001", "/people/", "/people/?q=甲",
        "/departments/", "/api/v1/areas?q=东", "/api/v1/areas", "/api/v1/people", "/api/v1/people?q=甲",
        "/api/v1/departments", "/api/v1/areas/export.geojson", f"/areas/{world.grid_b1.pk}/export.geojson",
    ]
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        text = response.content.decode()
        leaked = {n for n in names_a if n in text}
        assert not leaked, (url, leaked)
    lookup = client.get("/api/v1/areas/lookup", {"lon": 100.05, "lat": 30.05})  # inside grid A1
    assert lookup.status_code == 404


def test_insiders_see_their_street(world, login):
    client = login(world.dispatcher)
    data = client.get(f"/api/v1/areas?under={world.street_a.pk}").json()
    assert {item["name"] for item in data["items"]} == {a.name for a in world.areas_of_a()}
    assert client.get(f"/areas/{world.grid_a2.pk}/").status_code == 200
    geo = json.loads(client.get(f"/areas/{world.street_a.pk}/export.geojson").content)
    assert {f["properties"]["name"] for f in geo["features"]} == {a.name for a in world.areas_of_a()}
    assert client.get("/api/v1/areas/lookup", {"lon": 100.05, "lat": 30.05}).json()["name"] == "东一网格"


def test_anonymous_gets_nothing(client, world):
    assert client.get(f"/areas/{world.street_a.pk}/").status_code == 302
    response = client.get("/api/v1/areas")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
