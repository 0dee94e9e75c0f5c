"""No bad input in a page, form or API call ends in a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

HUGE = "9" * 30


@pytest.mark.parametrize("url", [
    f"/areas/{HUGE}/", f"/areas/{HUGE}/map.geojson", f"/areas/{HUGE}/export.xlsx", f"/departments/{HUGE}/",
    "/areas/0/", f"/api/v1/areas/{HUGE}", f"/api/v1/departments/{HUGE}", f"/api/v1/areas?parent={HUGE}",
    f"/api/v1/areas?under={HUGE}", f"/api/v1/areas/export.geojson?under={HUGE}",
])
def test_absurd_ids_are_404(login, world, url):
    assert login(world.admin).get(url).status_code in (400, 404)


@pytest.mark.parametrize("url", [
    "/areas/search/?q=" + "%" * 200, "/areas/search/?q=%00", "/areas/search/?q=x&page=abc", "/areas/search/?page=-1&q=a",
    "/people/?page=999999", "/people/?role=%27;drop", "/people/?q=" + "字" * 1000,
    "/api/v1/people?role=" + "x" * 100, "/api/v1/areas?level=" + "x" * 100,
])
def test_odd_queries_are_answered(login, world, url):
    assert login(world.admin).get(url).status_code in (200, 400, 404)


def test_bad_json_and_wrong_types_are_400(login, world):
    client = login(world.admin)
    for body in ["{", "[]", "null", '{"name": 1, "level": []}', "\x00"]:
        response = client.post("/api/v1/areas", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["code"] == "invalid"


def test_language_switch_with_nonsense_is_harmless(client, world):
    response = client.post("/i18n/setlang/", {"language": "<script>", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response["Location"]


def test_unknown_api_path_is_json_404(login, world):
    response = login(world.admin).get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_unknown_export_format_is_404(login, world):
    assert login(world.admin).get(f"/areas/{world.city.pk}/export.exe").status_code == 404


def test_nul_characters_are_refused_everywhere(login, world):
    client = login(world.admin)
    assert client.get("/people/", {"q": "a\x00b"}).status_code == 400
    assert client.post("/accounts/login/", {"username": "\x00", "password": "x"}).status_code == 400
    response = client.post("/api/v1/areas", {"name": "坏\u0000名", "level": "grid", "parent_id": world.community_a.pk},
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
