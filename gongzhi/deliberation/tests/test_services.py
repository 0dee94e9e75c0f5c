"""Decisions and ballots (services): creating from a preset or explicit rules, freezing the roll per
ballot unit (owners merged, co-owners as one), online ballots once, secret storage, paper double
entry (match, mismatch, the same clerk, void), online against paper, who may."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import services
from gongzhi.deliberation.models import Decision, Elector, Member, PaperEntry, Participation, Vote, VoterRoll
from gongzhi.orgs import services as org_services

from .conftest import TOTAL_AREA, make_roll

pytestmark = pytest.mark.django_db
RULE = {"electorate": "all", "count": "for", "measure": "households", "base": "electorate", "cmp": ">=",
        "ratio": "2/3"}


def make(world, roll, *, actor=None, opened=True, **extra) -> Decision:
    values = dict(actor=actor or world.dispatcher, area=world.community_a, roll=roll.roll, title="加装充电桩",
                  preset="renovation_two_rounds")
    values.update(extra)
    decision = services.create_decision(**values)
    return services.open_decision(decision, actor=world.dispatcher) if opened else decision


def elector(decision, code) -> Elector:
    return decision.electors.get(unit_codes__contains=code)


# ------------------------------------------------------------------------------------ creating


def test_create_from_preset(world, roll):
    decision = make(world, roll, opened=False)
    assert decision.status == Decision.Status.DRAFT
    assert decision.ballot_unit == "household"
    first, second = decision.questions.order_by("position")
    assert "加装充电桩" in first.text and second.requires == first
    assert first.rule_text and first.preset == "renovation_two_rounds"
    assert list(decision.electorates.values_list("key", flat=True)) == ["all"]
    assert AuditLog.objects.filter(action="deliberation.decision.create", object_id=str(decision.pk)).exists()


def test_create_with_explicit_rules_and_electorates(world, roll):
    decision = make(world, roll, opened=False, preset=None, ballot_unit="owner",
                    questions=[{"text": "同意吗", "rule": {**RULE, "electorate": "b2"}}],
                    electorates=[{"key": "all", "name": "全体", "buildings": []},
                                 {"key": "b2", "name": "2号楼", "buildings": ["2"]}])
    assert decision.electorates.get(key="b2").buildings == ["2"]
    assert "2号楼" in decision.questions.get().rule_text


@pytest.mark.parametrize("extra, field", [
    ({"title": " "}, "title"),
    ({"preset": "nope"}, "preset"),
    ({"preset": None, "questions": [{"text": "x", "rule": {"count": "for"}}]}, "questions"),
    ({"preset": None, "questions": [{"text": "x", "rule": {**RULE, "electorate": "b9"}}]}, "questions"),
    ({"preset": None, "questions": [{"text": "x", "rule": RULE, "requires": 1}]}, "questions"),
    ({"preset": None, "questions": []}, "questions"),
    ({"preset": "elevator_two_electorates"}, "building"),
    ({"preset": "elevator_two_electorates", "building": "9"}, "buildings"),
    ({"ballot_unit": "cat"}, "ballot_unit"),
])
def test_create_refuses_bad_input(world, roll, extra, field):
    with pytest.raises(ValidationError) as caught:
        make(world, roll, opened=False, **extra)
    assert field in caught.value.message_dict
    assert not Decision.objects.exists()


def test_elevator_preset_takes_the_building(world, roll):
    decision = make(world, roll, opened=False, preset="elevator_two_electorates", building="2")
    assert decision.electorates.get(key="building").buildings == ["2"]
    assert decision.ballot_unit == "owner"


def test_roll_must_be_of_the_area(world, roll):
    other = make_roll(world.community_b, name="西边名册")
    with pytest.raises(ValidationError) as caught:
        make(world, other, opened=False, actor=world.admin)
    assert "roll" in caught.value.message_dict
    with pytest.raises(ValidationError):  # a roll above the decision's area
        make(world, roll, opened=False, area=world.grid_a1)


@pytest.mark.parametrize("who", ["worker", "resident", "outsider", "handler"])
def test_only_managers_create_open_cancel(world, roll, who):
    user = getattr(world, who)
    with pytest.raises(PermissionDenied):
        make(world, roll, opened=False, actor=user)
    draft = make(world, roll, opened=False)
    with pytest.raises(PermissionDenied):
        services.open_decision(draft, actor=user)
    with pytest.raises(PermissionDenied):
        services.cancel_decision(draft, actor=user)


# ------------------------------------------------------------------------------------ freezing


def test_freeze_owners_merges_units_and_counts_co_owners_once(world, roll):
    decision = make(world, roll, ballot_unit="owner")
    electors = list(decision.electors.order_by("key"))
    assert len(electors) == 5  # 6 units, 韩三石 owns two
    han = elector(decision, "2-101")
    assert (han.persons, han.households, han.floor_area, han.building) == (1, 2, Decimal("220.00"), "1")
    assert han.unit_codes == "1-201、2-101"
    chen = elector(decision, "1-102")
    assert (chen.persons, chen.households, chen.floor_area) == (1, 1, Decimal("90.00"))
    assert "陈二木" in chen.label and "何二妹" in chen.label
    assert elector(decision, "2-102").representatives == 1
    assert elector(decision, "1-101").user == world.resident
    assert sum(e.floor_area for e in electors) == TOTAL_AREA
    assert sum(e.households for e in electors) == 6


def test_owners_merge_by_name_and_phone_without_a_key(world, roll):
    roll.members["韩三石"].unit.members.update(owner_key="")
    Member.objects.filter(roll=roll.roll, name="韩三石").update(owner_key="")
    decision = make(world, roll, ballot_unit="owner")
    assert decision.electors.count() == 5
    Member.objects.filter(roll=roll.roll, name="韩三石", unit__code="2-101").update(phone="13900000099")
    assert make(world, roll, ballot_unit="owner").electors.count() == 6


def test_freeze_households(world, roll):
    decision = make(world, roll, ballot_unit="household")
    assert decision.electors.count() == 6
    assert elector(decision, "1-102").persons == 2
    assert elector(decision, "2-102").persons == 1  # the minor does not count
    assert elector(decision, "2-201").persons == 2
    assert elector(decision, "2-101").floor_area == Decimal("120.00")


def test_freeze_persons_and_representatives(world, roll):
    persons = make(world, roll, ballot_unit="person")
    assert persons.electors.count() == 8
    assert sum(e.households for e in persons.electors.all()) == 6
    assert all(e.floor_area == 0 and e.persons == 1 for e in persons.electors.all())
    representatives = make(world, roll, ballot_unit="representative")
    assert list(representatives.electors.values_list("label", "representatives")) == [("孟四川", 1)]


def test_frozen_means_frozen_and_members_are_linked_by_phone(world, roll):
    voter = org_services.create_user(actor=None, username="chen", password="x-correct-horse", display_name="陈",
                                     phone="13900000002")
    decision = make(world, roll, ballot_unit="household")
    assert elector(decision, "1-102").user == voter
    assert Member.objects.get(name="陈二木").user == voter
    roll.units["1-101"].delete()
    assert decision.electors.count() == 6


def test_open_guards(world, roll):
    decision = make(world, roll)
    with pytest.raises(Conflict):
        services.open_decision(decision, actor=world.dispatcher)
    empty = VoterRoll.objects.create(area=world.community_a, name="空名册")
    draft = services.create_decision(actor=world.dispatcher, area=world.community_a, roll=empty, title="空",
                                      preset="renovation_two_rounds")
    with pytest.raises(ValidationError) as caught:
        services.open_decision(draft, actor=world.dispatcher)
    assert "roll" in caught.value.message_dict
    assert Decision.objects.get(pk=draft.pk).status == Decision.Status.DRAFT


# ------------------------------------------------------------------------------------ online ballots


def test_online_ballot_once(world, roll):
    decision = make(world, roll)
    participation = services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "against"})
    assert participation.channel == "online"
    votes = Vote.objects.filter(question__decision=decision)
    assert sorted(votes.values_list("question__position", "choice")) == [(1, "for"), (2, "against")]
    assert all(v.elector_id == participation.elector_id for v in votes)
    with pytest.raises(Conflict, match="您已经投过票"):
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    assert votes.count() == 2
    row = AuditLog.objects.get(action="deliberation.vote")
    assert row.after["choices"] == {"1": "for", "2": "against"}


@pytest.mark.parametrize("choices", [{1: "for"}, {1: "for", 2: "maybe"}, {1: "for", 3: "for"}, {"x": "for"}, []])
def test_online_ballot_refuses_incomplete_choices(world, roll, choices):
    decision = make(world, roll)
    with pytest.raises(ValidationError) as caught:
        services.cast_online(decision, actor=world.resident, choices=choices)
    assert "choices" in caught.value.message_dict
    assert not Participation.objects.exists()


def test_online_ballot_only_for_electors_and_while_open(world, roll):
    decision = make(world, roll, opened=False)
    with pytest.raises(PermissionDenied):  # a draft has no electors yet
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    decision = services.open_decision(decision, actor=world.dispatcher)
    with pytest.raises(PermissionDenied):
        services.cast_online(decision, actor=world.dispatcher, choices={1: "for", 2: "for"})
    decision.closes_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    decision.save()
    with pytest.raises(Conflict, match="截止"):
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    decision.closes_at, decision.opens_at = None, datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    decision.save()
    with pytest.raises(Conflict, match="尚未开始"):
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    services.cancel_decision(decision, actor=world.dispatcher, reason="重新组织")
    with pytest.raises(Conflict):
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})


def test_secret_ballot_stores_no_elector_on_votes(world, roll):
    decision = make(world, roll, secret=True)
    services.cast_online(decision, actor=world.resident, choices={1: "against", 2: "for"})
    assert Participation.objects.filter(decision=decision, elector__user=world.resident).count() == 1
    assert not Vote.objects.filter(question__decision=decision, elector__isnull=False).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM deliberation_vote v JOIN deliberation_question q ON q.id = v.question_id "
                       "WHERE q.decision_id = %s AND v.elector_id IS NOT NULL", [decision.pk])
        assert cursor.fetchone()[0] == 0
    vote = Vote.objects.get(question__decision=decision, question__position=1)
    assert (vote.building, vote.households, vote.floor_area) == ("1", 1, Decimal("80.00"))
    row = AuditLog.objects.get(action="deliberation.vote")
    assert "choices" not in row.after and "against" not in str(row.after)
    with pytest.raises(Conflict):
        services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})


# ------------------------------------------------------------------------------------ paper ballots


def test_double_entry_match_records_the_ballot(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    first = services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "for"})
    assert first.status == PaperEntry.Status.PENDING
    assert not Participation.objects.filter(elector=target).exists()
    second = services.enter_paper(decision, actor=world.admin, elector=target, choices={"1": "for", "2": "for"})
    assert second.status == PaperEntry.Status.MATCHED
    assert PaperEntry.objects.get(pk=first.pk).status == PaperEntry.Status.MATCHED
    participation = Participation.objects.get(elector=target)
    assert (participation.channel, participation.recorded_by) == ("paper", world.admin)
    assert Vote.objects.filter(elector=target, choice="for").count() == 2
    with pytest.raises(Conflict):
        services.enter_paper(decision, actor=world.admin, elector=target, choices={1: "for", 2: "for"})


def test_a_grid_worker_enters_ballots_of_their_community(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    services.enter_paper(decision, actor=world.worker, elector=target, choices={1: "for", 2: "for"}, channel="door")
    entry = services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "for"},
                                 channel="door")
    assert entry.status == PaperEntry.Status.MATCHED
    assert Participation.objects.get(elector=target).channel == "door"
    with pytest.raises(PermissionDenied):  # a worker does not manage
        services.void_paper_entries(decision, target, actor=world.worker, reason="x")


def test_same_clerk_twice_is_refused(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "for"})
    with pytest.raises(Conflict, match="另一人"):
        services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "for"})
    assert PaperEntry.objects.count() == 1


def test_mismatch_is_flagged_then_voided_and_entered_again(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "for"})
    second = services.enter_paper(decision, actor=world.admin, elector=target, choices={1: "for", 2: "against"},
                                  channel="paper")
    assert second.status == PaperEntry.Status.MISMATCH
    assert PaperEntry.objects.filter(status=PaperEntry.Status.MISMATCH).count() == 2
    assert not Vote.objects.exists() and not Participation.objects.exists()
    with pytest.raises(Conflict, match="不一致"):
        services.enter_paper(decision, actor=world.admin, elector=target, choices={1: "for", 2: "for"})
    with pytest.raises(PermissionDenied):
        services.void_paper_entries(decision, target, actor=world.resident, reason="看错了")
    with pytest.raises(ValidationError):
        services.void_paper_entries(decision, target, actor=world.dispatcher, reason=" ")
    assert services.void_paper_entries(decision, target, actor=world.dispatcher, reason="核对原票") == 2
    assert PaperEntry.objects.filter(status=PaperEntry.Status.VOID).count() == 2
    row = AuditLog.objects.get(action="deliberation.paper.void")
    assert row.note == "核对原票" and len(row.before["entries"]) == 2
    services.enter_paper(decision, actor=world.dispatcher, elector=target, choices={1: "for", 2: "against"})
    services.enter_paper(decision, actor=world.admin, elector=target, choices={1: "for", 2: "against"})
    assert Participation.objects.filter(elector=target).count() == 1
    with pytest.raises(Conflict):
        services.void_paper_entries(decision, target, actor=world.dispatcher, reason="再作废")


def test_online_and_paper_exclude_each_other(world, roll):
    decision = make(world, roll)
    mine = elector(decision, "1-101")
    services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    with pytest.raises(Conflict):
        services.enter_paper(decision, actor=world.dispatcher, elector=mine, choices={1: "for", 2: "for"})
    other = make(world, roll)
    services.enter_paper(other, actor=world.dispatcher, elector=elector(other, "1-101"), choices={1: "for", 2: "for"})
    with pytest.raises(Conflict, match="书面选票"):
        services.cast_online(other, actor=world.resident, choices={1: "against", 2: "against"})
    services.enter_paper(other, actor=world.admin, elector=elector(other, "1-101"), choices={1: "for", 2: "for"})
    with pytest.raises(Conflict):
        services.cast_online(other, actor=world.resident, choices={1: "against", 2: "against"})


def test_paper_entry_permissions_and_input(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")
    for who in ("resident", "outsider"):  # the worker's grid lies inside the community: may (door to door)
        with pytest.raises(PermissionDenied):
            services.enter_paper(decision, actor=getattr(world, who), elector=target, choices={1: "for", 2: "for"})
    with pytest.raises(ValidationError) as caught:
        services.enter_paper(decision, actor=world.admin, elector=None, choices={1: "for", 2: "for"})
    assert "elector" in caught.value.message_dict
    foreign = make(world, roll)
    with pytest.raises(ValidationError):
        services.enter_paper(decision, actor=world.admin, elector=elector(foreign, "2-201"),
                             choices={1: "for", 2: "for"})
    with pytest.raises(ValidationError) as caught:
        services.enter_paper(decision, actor=world.admin, elector=target, choices={1: "for", 2: "for"}, channel="x")
    assert "channel" in caught.value.message_dict


def test_secret_paper_pairs_by_serial_and_sign_in_records_who(world, roll):
    decision = make(world, roll, secret=True)
    target = elector(decision, "2-102")
    with pytest.raises(ValidationError):
        services.enter_paper(decision, actor=world.dispatcher, elector=target, serial="A-1",
                             choices={1: "for", 2: "for"})
    with pytest.raises(ValidationError) as caught:
        services.enter_paper(decision, actor=world.dispatcher, choices={1: "for", 2: "for"})
    assert "serial" in caught.value.message_dict
    services.enter_paper(decision, actor=world.dispatcher, serial="A-1", choices={1: "for", 2: "against"},
                         building="2", floor_area="60")
    entry = services.enter_paper(decision, actor=world.admin, serial="A-1", choices={1: "for", 2: "against"},
                                 building="2", floor_area="60.00")
    assert entry.status == PaperEntry.Status.MATCHED and entry.elector_id is None
    votes = Vote.objects.filter(question__decision=decision)
    assert votes.count() == 2 and not votes.filter(elector__isnull=False).exists()
    assert votes.get(question__position=1).floor_area == Decimal("60.00")
    assert not Participation.objects.exists()
    services.record_sign_in(decision, actor=world.admin, elector=target)
    with pytest.raises(Conflict):
        services.record_sign_in(decision, actor=world.admin, elector=target)
    for row in AuditLog.objects.filter(action__startswith="deliberation.paper"):
        assert "against" not in str(row.after)
    # a mismatch by serial, voided by serial
    services.enter_paper(decision, actor=world.dispatcher, serial="A-2", choices={1: "for", 2: "for"})
    services.enter_paper(decision, actor=world.admin, serial="A-2", choices={1: "against", 2: "for"})
    assert services.void_paper_entries(decision, "A-2", actor=world.dispatcher, reason="字迹不清") == 2
    services.enter_paper(decision, actor=world.dispatcher, serial="A-2", choices={1: "for", 2: "for"})
    assert services.enter_paper(decision, actor=world.admin, serial="A-2",
                                choices={1: "for", 2: "for"}).status == PaperEntry.Status.MATCHED


def test_a_villagers_meeting_counts_its_attendance_sheet_and_ballots_as_attendance(world, roll):
    """村民会议: > 1/2 of the adults present, > 1/2 of those present agree. The sign-in sheet of a
    non-secret decision registers attendees without a ballot; a ballot counts as attendance too."""
    from gongzhi.deliberation import results, tally

    decision = make(world, roll, preset="villagers_meeting")
    electors = list(decision.electors.order_by("key"))
    n = len(electors)
    present, voters = electors[: n // 2 + 1], electors[: n // 2 + 1][:2]
    for e in present[2:]:
        services.record_sign_in(decision, actor=world.worker, elector=e)
    with pytest.raises(Conflict):
        services.record_sign_in(decision, actor=world.worker, elector=present[-1])
    for e in voters:  # typed in twice; their ballots make them attendees as well
        for clerk in (world.admin, world.dispatcher):
            services.enter_paper(decision, actor=clerk, elector=e, choices={1: "for"})
    services.enter_paper(decision, actor=world.admin, elector=present[-1], choices={1: "for"})
    services.enter_paper(decision, actor=world.dispatcher, elector=present[-1], choices={1: "for"})  # attendee votes
    figures = next(iter(tally.figures(decision).values()))["all"]
    assert figures["attendees"]["persons"] == len(present) and figures["participants"]["persons"] == 3
    with pytest.raises(Conflict):
        services.enter_paper(decision, actor=world.admin, elector=present[-1], choices={1: "for"})
    [result] = results.close_decision(decision, actor=world.dispatcher)
    assert len(present) < 6 and result.passed  # 3 of the attendees agree: > 1/2 of those present


def test_cancel(world, roll):
    decision = make(world, roll)
    services.cancel_decision(decision, actor=world.dispatcher, reason="方案调整")
    decision.refresh_from_db()
    assert decision.status == Decision.Status.CANCELLED
    with pytest.raises(Conflict):
        services.cancel_decision(decision, actor=world.dispatcher)


def test_publish_needs_a_closed_decision(world, roll):
    decision = make(world, roll)
    with pytest.raises(Conflict):
        services.publish_result(decision, actor=world.dispatcher, channel="小区公告栏")


def test_publish_result_after_closing(world, roll):
    from gongzhi.deliberation import publicity, results

    decision = make(world, roll)
    services.cast_online(decision, actor=world.resident, choices={1: "for", 2: "for"})
    results.close_decision(decision, actor=world.dispatcher)
    with pytest.raises(PermissionDenied):
        services.publish_result(decision, actor=world.handler, channel="小区公告栏")
    with pytest.raises(ValidationError) as caught:
        services.publish_result(decision, actor=world.dispatcher, channel=" ")
    assert "channel" in caught.value.message_dict
    publication = services.publish_result(decision, actor=world.dispatcher, channel="小区公告栏", days=7)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.PUBLISHED
    assert publication.kind == "result" and publication.decision == decision and publicity.verify(publication)
    assert "加装充电桩" in publication.content and (publication.ends_on - publication.starts_on).days == 6
    assert AuditLog.objects.filter(action="deliberation.decision.publish").exists()
    with pytest.raises(Conflict):
        services.publish_result(decision, actor=world.dispatcher, channel="小区公告栏")
    with pytest.raises(Conflict):
        services.cancel_decision(decision, actor=world.dispatcher)


# ------------------------------------------------------------------------------------ races (PostgreSQL)


def _parallel(fns):
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def run(i):
        try:
            barrier.wait()
            try:
                results[i] = ("ok", fns[i]())
            except Exception as exc:  # noqa: BLE001 - the test inspects what each attempt got
                results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


transactional = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="needs PostgreSQL's concurrent connections")


@pytest.mark.parametrize("secret", [False, True])
@transactional
@on_postgresql
def test_parallel_online_ballots_count_once(world, roll, secret):
    decision = make(world, roll, secret=secret)
    results = _parallel([lambda: services.cast_online(Decision.objects.get(pk=decision.pk), actor=world.resident,
                                                      choices={1: "for", 2: "for"})] * 8)
    assert [r[0] for r in results].count("ok") == 1
    assert all(isinstance(r[1], Conflict) for r in results if r[0] == "error")
    assert Participation.objects.filter(decision=decision).count() == 1
    assert Vote.objects.filter(question__decision=decision).count() == 2


@transactional
@on_postgresql
def test_parallel_paper_entries_record_one_ballot(world, roll):
    decision = make(world, roll)
    target = elector(decision, "2-201")

    def entry(clerk):
        return lambda: services.enter_paper(Decision.objects.get(pk=decision.pk), actor=clerk, elector=target,
                                            choices={1: "for", 2: "against"}).status

    results = _parallel([entry(world.dispatcher), entry(world.admin)] * 4)
    assert sorted(r[1] for r in results if r[0] == "ok") == ["matched", "pending"]
    assert all(isinstance(r[1], Conflict) for r in results if r[0] == "error")
    assert Participation.objects.filter(elector=target).count() == 1
    assert Vote.objects.filter(elector=target).count() == 2
