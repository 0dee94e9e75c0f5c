"""Closing a vote (``results.close_decision``) and the text of its 公示 (``results.result_text``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import presets, results
from gongzhi.deliberation.models import Decision, PaperEntry, Result

from .rulekit import T0, ballot, elector, make_decision

pytestmark = pytest.mark.django_db

TWO_ROUNDS = presets.PRESETS["renovation_two_rounds"]


def two_rounds(world, **extra):
    q1, q2 = TWO_ROUNDS.questions
    return make_decision(world.community_a, ballot_unit="household",
                         questions=[("是否同意实施改造", q1.rule, None), ("是否同意改造方案", q2.rule, 1)], **extra)


def households(decision, n):
    return [elector(decision, f"h{i}", building=str(1 + i % 2)) for i in range(n)]


def test_close_two_rounds_both_pass(world):
    decision = two_rounds(world)
    people = households(decision, 6)
    for who in people[:4]:  # exactly 4/6 = 2/3 of all households agree to both
        ballot(decision, who, {1: "for", 2: "for"})
    ballot(decision, people[4], {1: "against", 2: "abstain"})
    made = results.close_decision(decision, actor=world.dispatcher, now=T0)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.CLOSED and decision.closed_at == T0
    assert [r.passed for r in made] == [True, True]
    first = Result.objects.get(question__position=1, question__decision=decision)
    assert first.figures["all"]["for"]["households"] == 4
    assert first.figures["all"]["electorate"]["households"] == 6
    assert first.figures["all"]["participants"]["households"] == 5
    assert first.figures["all"]["against"]["households"] == 1
    assert first.rule["ratio"] == "2/3"
    assert "≥ 2/3（以上，含本数）" in first.rule_text
    assert first.explanation[0]["ratio"] == "2/3" and first.explanation[0]["met"] is True
    second = Result.objects.get(question__position=2, question__decision=decision)
    assert second.explanation[-1]["requires"] == second.question.requires_id and second.explanation[-1]["met"]
    log = AuditLog.objects.get(action="deliberation.close", object_id=str(decision.pk))
    assert log.after["status"] == "closed"


def test_the_plan_fails_when_the_renovation_failed(world):
    decision = two_rounds(world)
    people = households(decision, 6)
    for who in people[:3]:  # 3/6 agree to renovate, below 2/3 …
        ballot(decision, who, {1: "for", 2: "for"})
    for who in people[3:5]:  # … but 5/6 approve the plan
        ballot(decision, who, {1: "against", 2: "for"})
    first, second = results.close_decision(decision, actor=world.dispatcher)
    assert not first.passed
    assert not second.passed
    assert all(line["met"] for line in second.explanation if "requires" not in line)  # its own rule held
    assert second.explanation[-1]["met"] is False
    assert "未通过，本项不能通过" in second.explanation[-1]["text"]


def test_close_refused_while_paper_entries_are_pending_or_mismatched(world):
    decision = two_rounds(world)
    people = households(decision, 3)
    PaperEntry.objects.create(decision=decision, elector=people[0], choices={"1": "for"}, entered_by=world.worker)
    PaperEntry.objects.create(decision=decision, elector=people[1], choices={"1": "for"}, entered_by=world.worker,
                              status=PaperEntry.Status.MISMATCH)
    PaperEntry.objects.create(decision=decision, elector=people[2], choices={"1": "for"}, entered_by=world.worker,
                              status=PaperEntry.Status.MATCHED)
    with pytest.raises(Conflict) as exc:
        results.close_decision(decision, actor=world.dispatcher)
    assert "2 份书面选票" in exc.value.messages[0]
    assert not Result.objects.exists()
    decision.refresh_from_db()
    assert decision.status == Decision.Status.OPEN
    PaperEntry.objects.filter(decision=decision).update(status=PaperEntry.Status.VOID)
    assert len(results.close_decision(decision, actor=world.dispatcher)) == 2


@pytest.mark.parametrize("username", ["worker", "outsider", "resident", "handler"])
def test_only_managers_close(world, username):
    decision = two_rounds(world)
    with pytest.raises(PermissionDenied):
        results.close_decision(decision, actor=getattr(world, username))
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.OPEN


def test_admin_and_system_may_close(world):
    assert results.close_decision(two_rounds(world), actor=world.admin)
    assert results.close_decision(two_rounds(world), actor=None)


def test_close_twice_or_a_draft_is_a_conflict(world):
    decision = two_rounds(world)
    results.close_decision(decision, actor=world.dispatcher)
    with pytest.raises(Conflict):
        results.close_decision(decision, actor=world.dispatcher)
    assert Result.objects.filter(question__decision=decision).count() == 2
    draft = two_rounds(world, status=Decision.Status.DRAFT)
    with pytest.raises(Conflict):
        results.close_decision(draft, actor=world.dispatcher)


def test_elevator_estate_passes_the_building_does_not(world):
    preset = presets.PRESETS["elevator_two_electorates"]
    decision = make_decision(world.community_a, electorates=[("all", "全体业主", []), ("building", "3号楼", ["3"])],
                             questions=[("是否同意 3 号楼加装电梯", preset.questions[0].rule, None)])
    people = [elector(decision, f"o{i}", building="3" if i < 10 else "5") for i in range(30)]
    for who in people[:8] + people[10:30]:  # 28/30 of the estate agree; 8/10 of building 3 only
        ballot(decision, who, {1: "for"})
    (result,) = results.close_decision(decision, actor=world.dispatcher)
    assert not result.passed
    met = {(line["electorate"], line["count"], line["measure"]): line["met"] for line in result.explanation}
    assert met[("all", "for", "persons")] and met[("all", "participants", "area")]
    assert not met[("building", "for", "persons")]
    assert result.figures["building"]["electorate"]["persons"] == 10
    assert result.figures["building"]["for"]["persons"] == 8
    assert "［3号楼］" in result.rule_text


def test_result_text_is_deterministic_and_complete(world):
    decision = two_rounds(world, secret=True)
    people = households(decision, 6)
    for who in people[:4]:
        ballot(decision, who, {1: "for", 2: "for"})
    ballot(decision, people[4], {1: "against", 2: "abstain"})
    assert "尚未计票" in results.result_text(decision)
    results.close_decision(decision, actor=world.dispatcher, now=T0)
    decision = Decision.objects.get(pk=decision.pk)
    text = results.result_text(decision)
    assert text == results.result_text(Decision.objects.get(pk=decision.pk))
    assert decision.title in text and "（无记名）" in text
    assert "应参与表决：6 人，6 户，面积 600.00 ㎡" in text
    assert "实际参与表决：5 人，5 户，面积 500.00 ㎡" in text
    assert "同意：4 人，4 户，面积 400.00 ㎡" in text
    assert "4 / 6 = 66.67%" in text
    assert text.count("结果：通过") == 2


def test_requires_cycle_or_foreign_question_fails(world):
    decision = make_decision(world.community_a, questions=[("一", presets.cond("for", "persons", "electorate", ">=",
                                                                               "1/2"), None),
                                                            ("二", presets.cond("for", "persons", "electorate", ">=",
                                                                               "1/2"), 1)])
    q1, q2 = decision.questions.order_by("position")
    q1.requires = q2  # a cycle, as no form would allow
    q1.save()
    ballot(decision, elector(decision, "a"), {1: "for", 2: "for"})
    first, second = results.close_decision(decision, actor=world.dispatcher)
    assert not first.passed and not second.passed
    other = two_rounds(world)
    lonely = make_decision(world.community_a, questions=[("三", presets.cond("for", "persons", "electorate", ">=",
                                                                             "1/2"), None)])
    (q,) = lonely.questions.all()
    q.requires = other.questions.get(position=1)
    q.save()
    ballot(lonely, elector(lonely, "b"), {1: "for"})
    (result,) = results.close_decision(lonely, actor=world.dispatcher)
    assert not result.passed and "无效的前提事项" in result.explanation[-1]["text"]
