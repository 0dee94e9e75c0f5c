"""The admin: rolls and meeting cadences are edited (audited); what a vote produced is read-only —
no add, no change, no delete — and a vote shows no elector."""

from __future__ import annotations

import pytest
from django.contrib import admin as django_admin

from gongzhi.core.models import AuditLog
from gongzhi.deliberation import models
from gongzhi.deliberation.models import Decision, Elector, Publication, Question, Result, Vote, VoterRoll

READ_ONLY = [models.Decision, models.Question, models.Elector, models.Participation, models.Vote,
             models.PaperEntry, models.Result, models.Publication, models.Objection]
EDITABLE = [models.VoterRoll, models.Unit, models.Member, models.MeetingSeries]
RULE = {"electorate": "all", "count": "for", "measure": "persons", "base": "participants", "cmp": ">",
        "ratio": "1/2"}


def url(model, suffix="") -> str:
    return f"/admin/deliberation/{model._meta.model_name}/{suffix}"


@pytest.fixture
def decided(world, roll):
    """A secret, closed decision on the roll with one elector, a vote, a result and a publication."""
    decision = Decision.objects.create(area=world.community_a, roll=roll.roll, title="更换门禁", secret=True,
                                       status=Decision.Status.CLOSED)
    question = Question.objects.create(decision=decision, text="同意更换门禁", rule=RULE, rule_text="过半数")
    elector = Elector.objects.create(decision=decision, key="u:1-101", label="秘密投票人甲", unit_codes="1-101")
    vote = Vote.objects.create(question=question, choice="for", building="1")
    result = Result.objects.create(question=question, passed=True, figures={}, rule=RULE, rule_text="过半数")
    publication = Publication.objects.create(kind="result", area=world.community_a, decision=decision, title="公示",
                                             content="结果", content_hash="0" * 64, channel="公告栏",
                                             starts_on="2026-01-01", ends_on="2026-01-07")
    return {"decision": decision, "question": question, "elector": elector, "vote": vote, "result": result,
            "publication": publication}


def test_every_model_of_the_brief_is_registered():
    for model in READ_ONLY + EDITABLE:
        assert django_admin.site.is_registered(model), model


def test_changelists_open(world, login, decided):
    client = login(world.admin)
    for model in READ_ONLY + EDITABLE:
        assert client.get(url(model)).status_code == 200, model


@pytest.mark.parametrize("model", READ_ONLY)
def test_read_only_models_refuse_add_change_and_delete(world, login, decided, model):
    client = login(world.admin)
    obj = model.objects.first()
    assert obj is not None or model in (models.Participation, models.PaperEntry, models.Objection)
    assert client.get(url(model, "add/")).status_code == 403
    assert client.post(url(model, "add/"), {}).status_code == 403
    if obj is not None:
        assert client.get(url(model, f"{obj.pk}/change/")).status_code == 200  # view only
        assert client.post(url(model, f"{obj.pk}/change/"), {}).status_code == 403
        assert client.post(url(model, f"{obj.pk}/delete/"), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()
    response = client.post(url(model), {"action": "delete_selected", "_selected_action": [obj.pk if obj else 0]})
    assert response.status_code in (200, 302) and (obj is None or model.objects.filter(pk=obj.pk).exists())


def test_a_vote_shows_no_elector(world, login, decided):
    client = login(world.admin)
    text = client.get(url(Vote, f"{decided['vote'].pk}/change/")).content.decode()
    assert "同意更换门禁" in text and "秘密投票人甲" not in text and 'name="elector"' not in text
    assert "秘密投票人甲" not in client.get(url(Vote)).content.decode()


def test_a_decision_shows_its_questions_read_only(world, login, decided):
    text = login(world.admin).get(url(Decision, f"{decided['decision'].pk}/change/")).content.decode()
    assert "同意更换门禁" in text and 'name="questions-0-text"' not in text


def test_editing_a_roll_in_the_admin_is_audited(world, login, roll):
    client = login(world.admin)
    response = client.post(url(VoterRoll, "add/"), {"area": world.community_a.pk, "name": "东二花园业主名册",
                                                    "kind": "owners", "note": ""})
    assert response.status_code == 302
    new = VoterRoll.objects.get(name="东二花园业主名册")
    assert AuditLog.objects.filter(action="deliberation.roll.create", object_id=str(new.pk)).exists()
    member = roll.members["孟小四"]
    response = client.post(url(models.Member, f"{member.pk}/change/"), {
        "roll": roll.roll.pk, "unit": member.unit_id, "name": "孟小四", "phone": "", "owner_key": "",
        "user": "", "is_adult": "on", "is_head": "", "is_representative": "", "proxy_name": ""})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_adult
    row = AuditLog.objects.get(action="deliberation.member.update")
    assert row.before == {"is_adult": False} and row.after == {"is_adult": True}


def test_people_without_admin_access_are_sent_to_login(world, login, decided):
    for who in ("dispatcher", "resident"):
        response = login(getattr(world, who)).get(url(Result))
        assert response.status_code == 302 and "login" in response["Location"]
