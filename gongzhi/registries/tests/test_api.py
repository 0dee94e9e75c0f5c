"""/api/v1/registries: masked people through the read door, exact search in the body, the reveal
(401/403/404/400, one access-log row, no value echoed in an error), the access log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from gongzhi.conftest import PASSWORD
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.registries.models import AccessLog, Person

ID = "150302198001017777"
BASE = "/api/v1/registries"


@pytest.fixture
def person(world):
    return Person.objects.create(name="甲乙", area=world.grid_a1, id_number=ID, phone="13877770000",
                                 address="东一路 9 号 3 单元")


@pytest.fixture
def officer(world):
    user = org_services.create_user(actor=None, username="officer", password=PASSWORD, display_name="核查员")
    group = Group.objects.create(name="可查看完整信息")
    group.permissions.add(Permission.objects.get(codename="reveal_sensitive"))
    user.groups.add(group)
    org_services.assign_role(actor=None, user=user, area=world.community_a, role=Role.objects.get(code="grid_head"))
    return user


def test_people_are_masked_and_scoped(world, person, login):
    client = login(world.worker)
    data = client.get(f"{BASE}/people").json()
    assert data["count"] == 1
    item = data["items"][0]
    assert item["id_number"] == "1503**********7777" and item["phone"] == "138****0000"
    one = client.get(f"{BASE}/people/{person.pk}")
    assert ID not in one.content.decode() and "no-store" in one["Cache-Control"]
    assert login(world.outsider).get(f"{BASE}/people").json()["count"] == 0
    assert login(world.outsider).get(f"{BASE}/people/{person.pk}").status_code == 404
    assert login(world.dispatcher).get(f"{BASE}/people/{person.pk}").status_code == 404


def test_search_by_identity_number_in_the_body(world, person, login):
    client = login(world.worker)
    found = client.post(f"{BASE}/people/search", {"id_number": "150302 19800101777 7"},
                        content_type="application/json")
    assert [p["id"] for p in found.json()] == [person.pk] and ID not in found.content.decode()
    assert login(world.outsider).post(f"{BASE}/people/search", {"id_number": ID},
                                      content_type="application/json").json() == []


def test_reveal_statuses_and_one_log_row(world, person, officer, client, login):
    path = f"{BASE}/reveal/person/{person.pk}"
    body = {"purpose": "visit", "reason": "走访前核对住址"}
    assert client.post(path, body, content_type="application/json").status_code == 401
    assert login(world.worker).post(path, body, content_type="application/json").status_code == 403
    assert login(world.outsider).post(path, body, content_type="application/json").status_code == 404
    assert login(officer).post(f"{BASE}/reveal/nothing/{person.pk}", body,
                               content_type="application/json").status_code == 404
    bad = login(officer).post(path, {"purpose": ID, "reason": ID}, content_type="application/json")
    assert bad.status_code == 400 and ID not in bad.content.decode()
    assert set(bad.json()["error"]["fields"]) == {"purpose"}
    assert not AccessLog.objects.exists()
    ok = login(officer).post(path, body, content_type="application/json")
    assert ok.status_code == 200 and "no-store" in ok["Cache-Control"]
    data = ok.json()
    assert {f["name"]: f["value"] for f in data["fields"]}["id_number"] == ID
    row = AccessLog.objects.get()
    assert data["access_log_id"] == row.pk and row.user == officer and row.fields == ["id_number", "phone", "address"]
    log = login(officer).get(f"{BASE}/access-log").json()
    assert [r["id"] for r in log["items"]] == [row.pk] and log["items"][0]["reason"] == "走访前核对住址"
    assert login(world.worker).get(f"{BASE}/access-log").json()["count"] == 0


def test_no_registry_answer_is_kept_by_a_browser_or_proxy(world, person, login):
    """Every answer under the registries' paths is no-store — the paginated lists, whose decorator drops
    the view's own headers, the pages and the 404s too (core.middleware, PRIVATE_PATH_PREFIXES)."""
    client = login(world.worker)
    for url in (f"{BASE}/people", f"{BASE}/access-log", "/registries/people/", "/registries/reveal/person/0/"):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], (url, response.status_code)
    assert "no-store" not in (client.get("/cases/mine/").get("Cache-Control") or "")
