"""/api/v1/inspections/visits: record (201 with hazards and notices), 400 with field messages, 404 for
what is not the caller's; read one back."""

from __future__ import annotations

import json

import pytest

from gongzhi.inspections.models import Notice, Visit

pytestmark = pytest.mark.django_db
URL = "/api/v1/inspections/visits"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "m")}}}


def body(scene, **extra) -> str:
    return json.dumps({"team": scene.team.pk, "premises": scene.premises.pk, "version": scene.version.pk,
                       "answers": {"extinguisher": "no", "exits": "yes", "licence": "no", "staff": 4},
                       "acknowledged_by": "王老板", **extra})


def post(client, data):
    return client.post(URL, data, content_type="application/json")


def test_record_and_read_a_visit(login, world, scene):
    client = login(world.handler)
    response = post(client, body(scene))
    assert response.status_code == 201, response.content
    data = response.json()
    visit = Visit.objects.get()
    assert data["id"] == visit.pk and data["acknowledged_by"] == "王老板" and data["signed"] is False
    assert {h["item_name"] for h in data["hazards"]} == {"extinguisher", "licence"}
    assert {n["department"] for n in data["notices"]} == {"东派出所", "东市场监管所"}
    police = next(n for n in data["notices"] if n["department"] == "东派出所")
    assert police["number"].startswith("东派出所〔") and police["pdf"] == f"/inspections/notices/{police['id']}.pdf"
    assert data["answers"]["staff"] == 4
    again = client.get(f"{URL}/{visit.pk}")
    assert again.status_code == 200 and again.json()["notices"] == data["notices"]
    assert login(world.outsider).get(f"{URL}/{visit.pk}").status_code == 404
    assert login(world.resident).get(f"{URL}/{visit.pk}").json()["error"]["code"] == "not_found"


def test_bad_answers_give_400_with_field_messages_and_store_nothing(login, world, scene):
    client = login(world.handler)
    response = post(client, body(scene, answers={"extinguisher": "maybe", "exits": "yes", "licence": "yes",
                                                 "staff": 900}))
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "extinguisher" in fields and fields["staff"] == ["人数应在 0 到 500 之间"]
    bad_signature = post(client, body(scene, signature="data:image/png;base64,AAAA"))
    assert bad_signature.status_code == 400 and "signature" in bad_signature.json()["error"]["fields"]
    no_version = post(client, body(scene, version=999999))
    assert no_version.status_code == 400 and "version" in no_version.json()["error"]["fields"]
    missing = post(client, json.dumps({"team": scene.team.pk}))
    assert missing.status_code == 400
    assert not Visit.objects.exists() and not Notice.objects.exists()


def test_not_yours_is_404(login, world, scene):
    assert post(login(world.outsider), body(scene)).status_code == 404
    assert post(login(world.handler), body(scene, team=999999)).status_code == 404
    assert post(login(world.handler), body(scene, premises=999999)).status_code == 404
    assert not Visit.objects.exists()


def test_a_signature_may_be_sent_as_a_png_data_url(login, world, scene):
    from gongzhi.inspections.tests.test_visit_pages import png_data_url

    response = post(login(world.handler), body(scene, signature=png_data_url()))
    assert response.status_code == 201 and response.json()["signed"] is True


@pytest.mark.parametrize("answers", [
    {"extinguisher": {"nested": 1}, "exits": "yes", "licence": "yes", "staff": 1},
    {"extinguisher": ["yes", "no"], "exits": None, "licence": 7, "staff": [1, 2]},
    {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": "x" * 10_000},
    {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": 1e308, "unknown": "?"},
    {"extinguisher": "yes", "exits": "yes", "licence": "yes", "staff": 1, "shopfront": "photo:1"},
])
def test_hostile_answers_are_400_never_500(login, world, scene, answers):
    response = post(login(world.handler), body(scene, answers=answers))
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["fields"] and not Visit.objects.exists()


def test_a_photo_answer_is_refused_in_the_api(login, world, scene):
    response = post(login(world.handler), body(scene, answers={"extinguisher": "yes", "exits": "yes",
                                                               "licence": "yes", "staff": 1, "shopfront": "photo:1"}))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["shopfront"] == ["接口不接收照片，请省略照片项或在网页上传"]
