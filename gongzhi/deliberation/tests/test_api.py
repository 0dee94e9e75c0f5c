"""/api/v1/deliberation: decisions and publications through the read door (outsider 404, a resident
sees only what they are an elector of, never a draft), the schemas (questions with rule text;
results with figures once counted; content hash), the online ballot (once; 403, 409, 400)."""

from __future__ import annotations

import json

import pytest

from gongzhi.deliberation import results, services
from gongzhi.deliberation.models import Decision, Participation, Vote

pytestmark = pytest.mark.django_db
API = "/api/v1/deliberation"


def make(world, roll, *, opened=True, **extra) -> Decision:
    values = dict(actor=world.dispatcher, area=world.community_a, roll=roll.roll, title="更换电梯",
                  preset="civil_code_278_ordinary")
    values.update(extra)
    decision = services.create_decision(**values)
    return services.open_decision(decision, actor=world.dispatcher) if opened else decision


def ballot(client, decision, choices) -> object:
    return client.post(f"{API}/decisions/{decision.pk}/ballot", json.dumps({"choices": choices}),
                       content_type="application/json")


def all_for(decision) -> dict:
    return {str(p): "for" for p in decision.questions.values_list("position", flat=True)}


def test_anonymous_gets_401(client, world, roll):
    decision = make(world, roll)
    for url in (f"{API}/decisions", f"{API}/decisions/{decision.pk}", f"{API}/publications"):
        assert client.get(url).status_code == 401
    assert ballot(client, decision, {"1": "for"}).status_code == 401


def test_visibility_of_decisions(login, world, roll):
    draft = make(world, roll, opened=False, title="草稿事项")
    opened = make(world, roll, title="更换电梯")
    ids = lambda who: {d["id"] for d in login(getattr(world, who)).get(f"{API}/decisions").json()["items"]}  # noqa: E731
    assert ids("dispatcher") == ids("admin") == ids("handler") == {draft.pk, opened.pk}
    assert ids("resident") == {opened.pk}  # 林一凡's account is an elector; the draft is nobody's business
    assert ids("worker") == {draft.pk, opened.pk}  # works inside the community: enters door-to-door ballots
    assert ids("outsider") == set()
    assert login(world.outsider).get(f"{API}/decisions/{opened.pk}").status_code == 404
    response = login(world.resident).get(f"{API}/decisions/{draft.pk}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_filters(login, world, roll):
    draft = make(world, roll, opened=False)
    opened = make(world, roll)
    client = login(world.dispatcher)
    items = client.get(f"{API}/decisions", {"status": "draft"}).json()["items"]
    assert [d["id"] for d in items] == [draft.pk]
    assert client.get(f"{API}/decisions", {"mine": "true"}).json()["items"] == []
    mine = login(world.resident).get(f"{API}/decisions", {"mine": "true"}).json()
    assert [d["id"] for d in mine["items"]] == [opened.pk] and mine["count"] == 1
    assert client.get(f"{API}/decisions", {"status": "bogus"}).status_code == 400


def test_malformed_and_missing_ids(login, world, roll):
    client = login(world.admin)
    for url in (f"{API}/decisions/0", f"{API}/decisions/99999999999999999999", f"{API}/publications/0",
                f"{API}/publications/12345"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"{API}/decisions/abc").status_code == 404


def test_decision_detail_schema_before_and_after_counting(login, world, roll):
    decision = make(world, roll)
    client = login(world.resident)
    body = client.get(f"{API}/decisions/{decision.pk}").json()
    assert body["title"] == "更换电梯" and body["status"] == "open" and body["area"] == "东一社区"
    assert body["me"] == {"elector": True, "voted": False}
    assert body["electorates"] and body["electorates"][0]["key"] == "all"
    question = body["questions"][0]
    assert question["position"] == 1 and question["rule_text"] and isinstance(question["rule"], dict)
    assert question["result"] is None
    assert ballot(client, decision, all_for(decision)).status_code == 201
    results.close_decision(decision, actor=world.dispatcher)
    body = client.get(f"{API}/decisions/{decision.pk}").json()
    assert body["status"] == "closed" and body["me"] == {"elector": True, "voted": True}
    result = body["questions"][0]["result"]
    assert isinstance(result["passed"], bool) and result["rule_text"]
    assert "all" in result["figures"] and result["explanation"]
    assert login(world.dispatcher).get(f"{API}/decisions/{decision.pk}").json()["me"]["elector"] is False


def test_ballot_once(login, world, roll):
    decision = make(world, roll)
    client = login(world.resident)
    response = ballot(client, decision, all_for(decision))
    assert response.status_code == 201
    assert response.json()["decision_id"] == decision.pk and response.json()["channel"] == "online"
    assert Participation.objects.filter(decision=decision).count() == 1
    votes = Vote.objects.filter(question__decision=decision).count()
    response = ballot(client, decision, all_for(decision))
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    assert Vote.objects.filter(question__decision=decision).count() == votes


def test_ballot_refusals(login, world, roll):
    decision = make(world, roll)
    assert ballot(login(world.dispatcher), decision, all_for(decision)).status_code == 403  # staff, not elector
    assert ballot(login(world.outsider), decision, all_for(decision)).status_code == 404
    client = login(world.resident)
    response = ballot(client, decision, {"1": "maybe"})
    assert response.status_code == 400 and "choices" in response.json()["error"]["fields"]
    assert ballot(client, decision, {}).status_code == 400
    assert client.post(f"{API}/decisions/{decision.pk}/ballot", "{", content_type="application/json"
                       ).status_code == 400
    draft = make(world, roll, opened=False)
    assert ballot(login(world.dispatcher), draft, all_for(draft)).status_code == 403
    assert not Participation.objects.exists()


def test_ballot_after_closing_is_409(login, world, roll):
    decision = make(world, roll)
    results.close_decision(decision, actor=world.dispatcher)
    response = ballot(login(world.resident), decision, all_for(decision))
    assert response.status_code == 409


def test_publications(login, world, roll):
    decision = make(world, roll)
    results.close_decision(decision, actor=world.dispatcher)
    publication = services.publish_result(decision, actor=world.dispatcher, channel="小区公告栏")
    for who in ("resident", "dispatcher", "handler", "admin", "worker"):  # the worker works inside 东一社区
        client = login(getattr(world, who))
        items = client.get(f"{API}/publications").json()["items"]
        assert [p["id"] for p in items] == [publication.pk], who
        body = client.get(f"{API}/publications/{publication.pk}").json()
        assert body["content_hash"] == publication.content_hash and len(body["content_hash"]) == 64
        assert body["content_intact"] is True and body["content"] == publication.content
        assert body["decision_id"] == decision.pk and body["kind"] == "result" and body["objections"] == 0
    for who in ("outsider",):
        client = login(getattr(world, who))
        assert client.get(f"{API}/publications").json()["items"] == []
        assert client.get(f"{API}/publications/{publication.pk}").status_code == 404
    client = login(world.dispatcher)
    assert client.get(f"{API}/publications", {"kind": "topic"}).json()["items"] == []
    assert len(client.get(f"{API}/publications", {"decision": decision.pk}).json()["items"]) == 1


def test_openapi_documents_the_router(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/deliberation/decisions", "/api/v1/deliberation/decisions/{decision_id}",
                 "/api/v1/deliberation/decisions/{decision_id}/ballot", "/api/v1/deliberation/publications",
                 "/api/v1/deliberation/publications/{publication_id}"):
        assert path in schema["paths"], path
    assert "409" in schema["paths"]["/api/v1/deliberation/decisions/{decision_id}/ballot"]["post"]["responses"]


def test_fuzz_objects_are_visible_to_the_dispatcher(login, world):
    from .fuzz_objects import decision_in_street_a

    ids = decision_in_street_a(world)
    client = login(world.dispatcher)
    assert client.get(f"{API}/decisions/{ids['decision_id']}").status_code == 200
    assert client.get(f"{API}/publications/{ids['publication_id']}").status_code == 200


@pytest.mark.parametrize("query", ["decision=9223372036854775808", "decision=37525146260680596258816",
                                   "decision=0", "kind=nope"])
def test_publication_filters_out_of_range_are_400(login, world, query):
    response = login(world.dispatcher).get(f"{API}/publications?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
