"""The vote pages: who sees what (not yours = 404, a resident not on the roll too), every action
through its page, bad input → 400 with a Chinese message and nothing stored, state conflicts → 409,
malformed ids → 404, secret decisions show nobody's choices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gongzhi.deliberation import results, services
from gongzhi.deliberation.models import (
    Decision,
    Objection,
    PaperEntry,
    Participation,
    Publication,
    Result,
    Vote,
)
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"deliberation:{name}", args=args)


def make(world, roll, *, opened=True, **extra) -> Decision:
    values = dict(actor=world.dispatcher, area=world.community_a, roll=roll.roll, title="楼道加装照明",
                  preset="renovation_two_rounds")
    values.update(extra)
    decision = services.create_decision(**values)
    return services.open_decision(decision, actor=world.dispatcher) if opened else decision


def elector(decision, code):
    return decision.electors.get(unit_codes__contains=code)


def text(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------------ creating


def test_create_page(world, roll, login):
    client = login(world.dispatcher)
    page = client.get(url("decision_create"))
    assert page.status_code == 200 and "两个三分之二" in text(page) and roll.roll.name in text(page)
    response = client.post(url("decision_create"), {
        "area": world.community_a.pk, "roll": roll.roll.pk, "title": "更换单元门", "preset": "renovation_two_rounds",
        "ballot_unit": "", "opens_at": "", "closes_at": "2099-01-01T18:00"})
    decision = Decision.objects.get()
    assert response.status_code == 302 and response.url == url("decision", decision.pk)
    assert decision.questions.count() == 2 and decision.status == "draft" and decision.closes_at.year == 2099


@pytest.mark.parametrize("data, message", [
    ({"title": ""}, "请填写表决事项"),
    ({"preset": "nope"}, "未知的规则模板"),
    ({"preset": "elevator_two_electorates"}, "请填写"),
    ({"preset": "elevator_two_electorates", "building": "9"}, "名册中没有楼栋"),
    ({"closes_at": "soon"}, "请填写正确的日期和时间"),
    ({"opens_at": "2099-01-02T08:00", "closes_at": "2099-01-01T08:00"}, "截止时间应晚于开始时间"),
    ({"area": "999999"}, "请选择您能管理的区域"),
    ({"roll": "x"}, "请选择您能看到的名册"),
])
def test_create_page_refuses_bad_input(world, roll, login, data, message):
    client = login(world.dispatcher)
    post = {"area": world.community_a.pk, "roll": roll.roll.pk, "title": "更换单元门",
            "preset": "renovation_two_rounds", **data}
    response = client.post(url("decision_create"), post)
    assert response.status_code == 400 and message in text(response)
    assert not Decision.objects.exists()


def test_create_page_roll_of_another_area(world, roll, login):
    client = login(world.dispatcher)
    response = client.post(url("decision_create"), {"area": world.grid_a1.pk, "roll": roll.roll.pk, "title": "x",
                                                    "preset": "renovation_two_rounds"})
    assert response.status_code == 400 and "名册应属于该区域或其下级区域" in text(response)


@pytest.mark.parametrize("who", ["resident", "worker", "handler", "outsider"])
def test_create_page_is_for_managers(world, roll, login, who):
    assert login(getattr(world, who)).get(url("decision_create")).status_code == 403


# ------------------------------------------------------------------------------------ seeing


def test_who_sees_the_decision(world, roll, login, client):
    draft = make(world, roll, opened=False)
    assert login(world.resident).get(url("decision", draft.pk)).status_code == 404  # a draft is not theirs yet
    decision = make(world, roll)
    for who, status in (("dispatcher", 200), ("admin", 200), ("handler", 200), ("resident", 200),
                        ("worker", 200), ("outsider", 404)):
        assert login(getattr(world, who)).get(url("decision", decision.pk)).status_code == status, who
    stranger = org_services.create_user(actor=None, username="stranger", password="x-correct-horse")
    assert login(stranger).get(url("decision", decision.pk)).status_code == 404
    client.logout()
    assert client.get(url("decision", decision.pk)).status_code == 302


@pytest.mark.parametrize("pk", ["0", "99999999", "9" * 30])
def test_malformed_ids_are_404(world, roll, login, pk):
    client = login(world.dispatcher)
    assert client.get(f"/deliberation/decisions/{pk}/").status_code == 404
    assert client.post(f"/deliberation/decisions/{pk}/vote/").status_code == 404
    assert client.get(f"/deliberation/publications/{pk}/").status_code == 404
    assert client.post(f"/deliberation/objections/{pk}/answer/").status_code == 404


def test_staff_page_shows_rules_sizes_and_forms(world, roll, login):
    decision = make(world, roll)
    page = text(login(world.dispatcher).get(url("decision", decision.pk)))
    assert "户数" in page and "应参与：8 人 · 6 户 · 525.50 ㎡" in page
    assert 'id="paper-form"' in page and 'id="close-decision"' in page
    assert 'id="ballot-form"' not in page  # the dispatcher is not on the roll
    for who in ("handler", "worker"):  # they enter ballots, but do not manage
        page = text(login(getattr(world, who)).get(url("decision", decision.pk)))
        assert 'id="paper-form"' in page and 'id="close-decision"' not in page and 'id="ballot-form"' not in page


# ------------------------------------------------------------------------------------ voting


def test_resident_votes_once(world, roll, login):
    decision = make(world, roll)
    client = login(world.resident)
    page = text(client.get(url("decision", decision.pk)))
    assert 'id="ballot-form"' in page and 'id="paper-form"' not in page and "525.50" not in page
    response = client.post(url("decision_vote", decision.pk), {"ballot-q1": "for", "ballot-q2": "against"})
    assert response.status_code == 302
    page = text(client.get(url("decision", decision.pk)))
    assert "您已投票" in page and 'id="ballot-form"' not in page
    again = client.post(url("decision_vote", decision.pk), {"ballot-q1": "for", "ballot-q2": "for"})
    assert again.status_code == 409 and "您已经投过票" in text(again)
    assert Vote.objects.filter(question__decision=decision).count() == 2


def test_an_attendee_signed_in_still_votes_on_the_page(world, roll, login):
    decision = make(world, roll)
    mine = decision.electors.get(user=world.resident)
    services.record_sign_in(decision, actor=world.dispatcher, elector=mine)  # 到会登记, no ballot yet
    client = login(world.resident)
    assert 'id="ballot-form"' in text(client.get(url("decision", decision.pk)))
    response = client.post(url("decision_vote", decision.pk), {"ballot-q1": "for", "ballot-q2": "for"})
    assert response.status_code == 302
    participation = Participation.objects.get(decision=decision, elector=mine)
    assert participation.voted and participation.attended and participation.channel == "online"


@pytest.mark.parametrize("data", [{}, {"ballot-q1": "for"}, {"ballot-q1": "for", "ballot-q2": "yes"}])
def test_ballot_bad_input(world, roll, login, data):
    decision = make(world, roll)
    response = login(world.resident).post(url("decision_vote", decision.pk), data)
    assert response.status_code == 400 and "请选择同意、反对或弃权" in text(response)
    assert not Participation.objects.exists()


def test_staff_not_on_the_roll_cannot_vote(world, roll, login):
    decision = make(world, roll)
    response = login(world.dispatcher).post(url("decision_vote", decision.pk), {"ballot-q1": "for",
                                                                                "ballot-q2": "for"})
    assert response.status_code == 403


# ------------------------------------------------------------------------------------ paper entry


def paper(client, decision, who, **choices):
    data = {"paper-elector": who.pk, "paper-channel": "paper", "paper-q1": "for", "paper-q2": "for"}
    data.update({f"paper-{k}": v for k, v in choices.items()})
    return client.post(url("decision_paper", decision.pk), data)


def test_paper_double_entry_through_the_page(world, roll, login):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    assert paper(login(world.dispatcher), decision, target).status_code == 302
    page = text(login(world.dispatcher).get(url("decision", decision.pk)))
    assert 'id="pending"' in page and "待另一人复核" in page
    same = paper(login(world.dispatcher), decision, target)
    assert same.status_code == 409 and "须由另一人复核录入" in text(same)
    assert paper(login(world.admin), decision, target).status_code == 302
    assert Participation.objects.get(elector=target).channel == "paper"


def test_paper_mismatch_listed_and_voided(world, roll, login):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    paper(login(world.dispatcher), decision, target)
    paper(login(world.admin), decision, target, q2="against")
    client = login(world.dispatcher)
    page = text(client.get(url("decision", decision.pk)))
    assert 'id="mismatches"' in page and "两次录入不一致" in page
    no_reason = client.post(url("decision_void", decision.pk), {"void-elector": target.pk, "void-reason": ""})
    assert no_reason.status_code == 400 and "请填写作废原因" in text(no_reason)
    wrong = client.post(url("decision_void", decision.pk), {"void-elector": 99999, "void-reason": "x"})
    assert wrong.status_code == 400
    closing = client.post(url("decision_close", decision.pk))
    assert closing.status_code == 409 and "不一致" in text(closing)
    assert client.post(url("decision_void", decision.pk), {"void-elector": target.pk,
                                                           "void-reason": "核对原票"}).status_code == 302
    assert PaperEntry.objects.filter(status="void").count() == 2
    handler = login(world.handler).post(url("decision_void", decision.pk), {"void-elector": target.pk,
                                                                              "void-reason": "x"})
    assert handler.status_code == 403


@pytest.mark.parametrize("data, message", [
    ({"paper-elector": ""}, "请选择选民"),
    ({"paper-elector": "abc"}, "请选择该表决的选民"),
    ({"paper-channel": "fax"}, "请选择书面或入户"),
    ({"paper-q2": ""}, "请选择同意、反对或弃权"),
])
def test_paper_bad_input(world, roll, login, data, message):
    decision = make(world, roll)
    post = {"paper-elector": elector(decision, "2-201").pk, "paper-channel": "paper", "paper-q1": "for",
            "paper-q2": "for", **data}
    response = login(world.dispatcher).post(url("decision_paper", decision.pk), post)
    assert response.status_code == 400 and message in text(response)
    assert not PaperEntry.objects.exists()


def test_paper_for_an_online_voter_conflicts(world, roll, login):
    decision = make(world, roll)
    services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    response = paper(login(world.dispatcher), decision, elector(decision, "1-101"))
    assert response.status_code == 409 and "已经投过票" in text(response)


def test_secret_paper_and_sign_in_pages(world, roll, login):
    decision = make(world, roll, secret=True)
    client = login(world.dispatcher)
    page = text(client.get(url("decision", decision.pk)))
    assert 'id="sign-in-form"' in page and 'name="paper-elector"' not in page
    data = {"paper-serial": "S-7", "paper-channel": "paper", "paper-q1": "against", "paper-q2": "for",
            "paper-building": "1", "paper-floor_area": "90"}
    missing = client.post(url("decision_paper", decision.pk), {**data, "paper-serial": ""})
    assert missing.status_code == 400 and "请填写选票编号" in text(missing)
    assert client.post(url("decision_paper", decision.pk), data).status_code == 302
    assert login(world.admin).post(url("decision_paper", decision.pk), data).status_code == 302
    sign = login(world.handler).post(url("decision_sign_in", decision.pk),
                                     {"signin-elector": elector(decision, "1-102").pk})
    assert sign.status_code == 302
    assert not Vote.objects.filter(elector__isnull=False).exists()
    assert login(world.handler).post(url("decision_sign_in", decision.pk),
                                     {"signin-elector": ""}).status_code == 400


# ------------------------------------------------------------------------------------ state changes


def test_open_close_publish_through_the_pages(world, roll, login):
    decision = make(world, roll, opened=False)
    client = login(world.dispatcher)
    assert client.post(url("decision_open", decision.pk)).status_code == 302
    again = client.post(url("decision_open", decision.pk))
    assert again.status_code == 409 and "只有草稿状态的表决可以开始" in text(again)
    decision.refresh_from_db()
    services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    assert login(world.resident).post(url("decision_close", decision.pk)).status_code == 403
    client = login(world.dispatcher)  # one test client: log the manager in again
    assert client.post(url("decision_close", decision.pk)).status_code == 302
    assert Result.objects.filter(question__decision=decision).count() == 2
    page = text(client.get(url("decision", decision.pk)))
    assert 'id="result-1"' in page and 'id="publish-form"' in page and "未通过" in page
    resident_page = text(login(world.resident).get(url("decision", decision.pk)))
    assert 'id="result-1"' not in resident_page  # not before the 公示
    bad = login(world.dispatcher).post(url("decision_publish", decision.pk), {"publish-channel": "",
                                                                              "publish-days": "0"})
    assert bad.status_code == 400 and "请填写公示渠道" in text(bad) and "公示期应为 1 到 366 天" in text(bad)
    assert login(world.handler).post(url("decision_publish", decision.pk), {
        "publish-channel": "公告栏", "publish-days": "7"}).status_code == 403
    client = login(world.dispatcher)
    response = client.post(url("decision_publish", decision.pk), {"publish-channel": "小区公告栏",
                                                                  "publish-days": "7"})
    publication = Publication.objects.get(decision=decision)
    assert response.status_code == 302 and response.url == url("publication", publication.pk)
    decision.refresh_from_db()
    assert decision.status == "published"
    resident_page = text(login(world.resident).get(url("decision", decision.pk)))
    assert 'id="result-1"' in resident_page and url("publication", publication.pk) in resident_page
    twice = login(world.dispatcher).post(url("decision_publish", decision.pk),
                                         {"publish-channel": "x", "publish-days": "7"})
    assert twice.status_code == 409


def test_cancel_page(world, roll, login):
    decision = make(world, roll)
    client = login(world.dispatcher)
    empty = client.post(url("decision_cancel", decision.pk), {"cancel-reason": ""})
    assert empty.status_code == 400 and "请填写撤销原因" in text(empty)
    assert login(world.resident).post(url("decision_cancel", decision.pk),
                                      {"cancel-reason": "x"}).status_code == 403
    assert login(world.dispatcher).post(url("decision_cancel", decision.pk),
                                        {"cancel-reason": "方案调整"}).status_code == 302
    decision.refresh_from_db()
    assert decision.status == "cancelled"


# ------------------------------------------------------------------------------------ publications


@pytest.fixture
def published(world, roll):
    decision = make(world, roll)
    services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    results.close_decision(decision, actor=world.dispatcher)
    return services.publish_result(decision, actor=world.dispatcher, channel="小区公告栏", days=7)


def test_publication_page_and_objections(world, published, login):
    resident = login(world.resident)
    page = text(resident.get(url("publication", published.pk)))
    assert published.content_hash in page and "内容与哈希一致" in page and "表决结果公示" in page
    empty = resident.post(url("publication_object", published.pk), {"objection-text": " "})
    assert empty.status_code == 400 and "请填写异议内容" in text(empty)
    assert resident.post(url("publication_object", published.pk),
                         {"objection-text": "2-201 的票数有误"}).status_code == 302
    objection = Objection.objects.get()
    assert login(world.resident).post(url("objection_answer", objection.pk),
                                      {f"answer-{objection.pk}-answer": "x"}).status_code == 403
    manager = login(world.dispatcher)
    bad = manager.post(url("objection_answer", objection.pk), {f"answer-{objection.pk}-answer": ""})
    assert bad.status_code == 400 and "请填写答复" in text(bad)
    assert manager.post(url("objection_answer", objection.pk),
                        {f"answer-{objection.pk}-answer": "已核对原票，无误"}).status_code == 302
    again = manager.post(url("objection_answer", objection.pk), {f"answer-{objection.pk}-answer": "再答"})
    assert again.status_code == 409
    assert "已核对原票，无误" in text(login(world.resident).get(url("publication", published.pk)))


def test_publication_is_not_for_outsiders(world, published, login):
    stranger = org_services.create_user(actor=None, username="stranger", password="x-correct-horse")
    for user in (world.outsider, stranger):
        assert login(user).get(url("publication", published.pk)).status_code == 404
        assert login(user).post(url("publication_object", published.pk), {"objection-text": "x"}).status_code == 404
    assert login(world.handler).get(url("publication", published.pk)).status_code == 200


def test_secret_pages_never_show_choices(world, roll, login):
    decision = make(world, roll, secret=True)
    services.cast_online(decision, actor=world.resident, choices={1: "against", 2: "abstain"})
    page = text(login(world.dispatcher).get(url("decision", decision.pk)))
    assert "弃权" not in page.split('id="paper-form"')[0]
    results.close_decision(decision, actor=world.dispatcher)
    own = text(login(world.resident).get(url("decision", decision.pk)))
    assert "您已投票" in own and "choice-against" not in own
