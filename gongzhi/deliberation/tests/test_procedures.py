"""四议三公开 (procedures.py): four stages in order, each stage's rule from the presets evaluated on its
numbers, rejection, the three publications in order, attendance lists with signatures, permissions."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import procedures
from gongzhi.deliberation.models import Attendee, Decision, Procedure, Publication, Stage
from gongzhi.deliberation.presets import STAGE_PRESETS

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def proc(world) -> Procedure:
    return procedures.start_procedure(actor=world.dispatcher, area=world.community_a, title="村道硬化工程",
                                      description="东一社区 3 组村道约 800 米硬化，预算 40 万元")


def stage(procedure: Procedure, position: int) -> Stage:
    return procedure.stages.get(position=position)


def passing(procedure: Procedure, position: int, actor, *, held=10, **extra) -> Stage:
    numbers = {"eligible": 9, "present": 9, "votes_for": 9, "votes_against": 0, "minutes": "一致同意",
               "held_on": days_ago(held)}
    numbers.update(extra)
    return procedures.record_stage(stage(procedure, position), actor=actor, **numbers)


def png(width=40, height=20) -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 255)).save(out, "PNG")
    return SimpleUploadedFile("sig.png", out.getvalue(), content_type="image/png")


# ------------------------------------------------------------------------------------ start


def test_a_procedure_starts_with_its_four_stages_in_order_each_with_its_preset_rule(world, proc):
    stages = list(proc.stages.order_by("position"))
    assert [s.kind for s in stages] == ["proposal", "committees", "party_members", "villagers"]
    assert [s.position for s in stages] == [1, 2, 3, 4]
    for s in stages:
        assert s.rule == STAGE_PRESETS[s.kind].rule
        assert s.rule_text and s.passed is None
    assert proc.status == Procedure.Status.RUNNING
    assert AuditLog.objects.filter(action="deliberation.start_procedure", object_id=str(proc.pk)).count() == 1


@pytest.mark.parametrize("who", ["worker", "outsider", "resident", "handler"])
def test_only_managers_of_the_area_start_a_procedure(world, who):
    with pytest.raises(PermissionDenied):
        procedures.start_procedure(actor=getattr(world, who), area=world.community_a, title="议题")


def test_a_procedure_needs_a_title(world):
    with pytest.raises(ValidationError) as exc:
        procedures.start_procedure(actor=world.dispatcher, area=world.community_a, title="  ")
    assert "title" in exc.value.message_dict


# ------------------------------------------------------------------------------------ stage order


def test_stages_are_recorded_in_order(world, proc):
    with pytest.raises(Conflict, match="村党组织提议"):
        passing(proc, 2, world.dispatcher)
    first = passing(proc, 1, world.dispatcher)
    assert first.passed is True and first.recorded_by == world.dispatcher
    with pytest.raises(Conflict, match="不能重复提交"):
        passing(proc, 1, world.dispatcher)
    with pytest.raises(Conflict, match="村两委会商议"):
        passing(proc, 3, world.dispatcher)
    assert procedures.current_stage(proc).position == 2


def test_a_stage_cannot_be_held_before_the_previous_one_nor_in_the_future(world, proc):
    passing(proc, 1, world.dispatcher, held=5)
    with pytest.raises(ValidationError) as exc:
        passing(proc, 2, world.dispatcher, held=6)
    assert "held_on" in exc.value.message_dict
    with pytest.raises(ValidationError):
        passing(proc, 2, world.dispatcher, held=-1)
    assert passing(proc, 2, world.dispatcher, held=5).passed  # the same day is fine


def test_all_four_passing_decides_the_matter(world, proc):
    for position in (1, 2, 3, 4):
        passing(proc, position, world.dispatcher, held=10 - position)
    proc.refresh_from_db()
    assert proc.status == Procedure.Status.DECIDED
    assert procedures.current_stage(proc) is None
    assert AuditLog.objects.filter(action="deliberation.record_stage").count() == 4


# ------------------------------------------------------------------------------------ the party members' meeting


def to_party_members(proc, actor):
    passing(proc, 1, actor, held=10)
    passing(proc, 2, actor, held=9)
    return stage(proc, 3)


def test_exactly_two_thirds_present_and_more_than_half_approving_passes(world, proc):
    s = to_party_members(proc, world.dispatcher)
    done = procedures.record_stage(s, actor=world.dispatcher, held_on=days_ago(8), eligible=30, present=20,
                                   votes_for=11, votes_against=9, minutes="审议")
    assert done.passed is True
    assert [line["met"] for line in done.explanation] == [True, True]
    assert done.explanation[0]["numerator"] == "20" and done.explanation[0]["denominator"] == "30"


def test_one_fewer_than_two_thirds_present_fails_and_rejects_the_matter(world, proc):
    s = to_party_members(proc, world.dispatcher)
    done = procedures.record_stage(s, actor=world.dispatcher, held_on=days_ago(8), eligible=30, present=19,
                                   votes_for=19, minutes="到会人数不足")
    assert done.passed is False
    assert [line["met"] for line in done.explanation] == [False, True]
    proc.refresh_from_db()
    assert proc.status == Procedure.Status.REJECTED
    with pytest.raises(Conflict):
        passing(proc, 4, world.dispatcher, held=7)
    assert procedures.current_stage(proc) is None


def test_exactly_half_approving_fails_more_than_half(world, proc):
    s = to_party_members(proc, world.dispatcher)
    done = procedures.record_stage(s, actor=world.dispatcher, held_on=days_ago(8), eligible=30, present=20,
                                   votes_for=10, votes_against=10, minutes="意见分歧")
    assert done.passed is False
    assert [line["met"] for line in done.explanation] == [True, False]
    proc.refresh_from_db()
    assert proc.status == Procedure.Status.REJECTED


def test_a_rejected_matter_may_be_taken_up_again_as_a_new_procedure(world, proc):
    procedures.record_stage(stage(proc, 1), actor=world.dispatcher, held_on=days_ago(3), eligible=7, present=3,
                            votes_for=3, minutes="到会不足半数")
    proc.refresh_from_db()
    assert proc.status == Procedure.Status.REJECTED
    again = procedures.start_procedure(actor=world.dispatcher, area=world.community_a, title=proc.title)
    assert passing(again, 1, world.dispatcher).passed


# ------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize(("numbers", "field"), [
    ({"eligible": 0}, "eligible"),
    ({"eligible": True}, "eligible"),
    ({"eligible": "9"}, "eligible"),
    ({"eligible": 5, "present": 6}, "present"),
    ({"present": -1}, "present"),
    ({"present": None}, "present"),
    ({"votes_for": 6, "votes_against": 4}, "votes_for"),
    ({"votes_for": None}, "votes_for"),
    ({"minutes": ""}, "minutes"),
    ({"minutes": "x" * 20001}, "minutes"),
    ({"held_on": "2026-01-01"}, "held_on"),
    ({"eligible": 10**9}, "eligible"),
])
def test_bad_numbers_are_refused_with_a_message_at_their_field(world, proc, numbers, field):
    values = {"eligible": 9, "present": 9, "votes_for": 5, "votes_against": 0, "minutes": "记录",
              "held_on": days_ago(1), **numbers}
    with pytest.raises(ValidationError) as exc:
        procedures.record_stage(stage(proc, 1), actor=world.dispatcher, **values)
    assert field in exc.value.message_dict
    assert stage(proc, 1).passed is None


@pytest.mark.parametrize("who", ["worker", "outsider", "resident"])
def test_only_managers_record_a_stage(world, proc, who):
    with pytest.raises(PermissionDenied):
        passing(proc, 1, getattr(world, who))


# ------------------------------------------------------------------------------------ attendance


def test_present_is_counted_from_the_attendance_list_and_signatures_are_kept(world, proc):
    attendees = [{"name": "赵一", "role": "书记", "present": True, "signature": png()},
                 {"name": "钱二", "role": "委员", "present": True},
                 {"name": "孙三", "role": "委员", "present": False}]
    done = procedures.record_stage(stage(proc, 1), actor=world.dispatcher, held_on=days_ago(1), eligible=3,
                                   present=None, votes_for=2, minutes="提议", attendees=attendees)
    assert done.present == 2 and done.passed is True
    rows = list(Attendee.objects.filter(stage=done).order_by("pk"))
    assert [(a.name, a.present) for a in rows] == [("赵一", True), ("钱二", True), ("孙三", False)]
    assert rows[0].signature.name.endswith(".png") and not rows[1].signature
    with rows[0].signature.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_present_count_that_disagrees_with_the_list_is_refused(world, proc):
    with pytest.raises(ValidationError) as exc:
        procedures.record_stage(stage(proc, 1), actor=world.dispatcher, held_on=days_ago(1), eligible=3, present=3,
                                votes_for=2, minutes="提议", attendees=[{"name": "赵一", "present": True}])
    assert "present" in exc.value.message_dict
    assert not Attendee.objects.exists()


@pytest.mark.parametrize("attendees", [
    [{"name": "", "present": True}],
    [{"name": "赵" * 65}],
    ["赵一"],
    "赵一",
    [{"name": "赵一", "signature": SimpleUploadedFile("x.png", b"not an image", content_type="image/png")}],
    [{"name": "赵一", "signature": SimpleUploadedFile("x.gif", b"GIF89a" + b"\0" * 20)}],
])
def test_a_bad_attendance_list_is_refused(world, proc, attendees):
    with pytest.raises(ValidationError) as exc:
        procedures.record_stage(stage(proc, 1), actor=world.dispatcher, held_on=days_ago(1), eligible=3,
                                votes_for=1, present=1, minutes="提议", attendees=attendees)
    assert "attendees" in exc.value.message_dict


# ------------------------------------------------------------------------------------ 三公开


def publish(proc, kind, actor, **extra):
    values = {"content": f"{kind} 内容", "channel": "村务公开栏", "starts_on": timezone.localdate(), "days": 7}
    values.update(extra)
    return procedures.publish(proc, actor=actor, kind=kind, **values)


def test_the_three_publications_follow_the_stages_in_order(world, proc):
    d = world.dispatcher
    with pytest.raises(Conflict, match="村党组织提议"):
        publish(proc, "topic", d)
    passing(proc, 1, d, held=10)
    with pytest.raises(Conflict):
        publish(proc, "decision", d)
    with pytest.raises(ValidationError) as exc:
        publish(proc, "topic", d, starts_on=days_ago(11))  # before the proposal was made
    assert "starts_on" in exc.value.message_dict
    topic = procedures.publish_topic(proc, actor=d, content="议题：村道硬化", channel="村务公开栏",
                                     starts_on=days_ago(9), days=5)
    assert topic.kind == "topic" and topic.procedure == proc
    assert topic.ends_on == days_ago(9) + datetime.timedelta(days=4)
    with pytest.raises(Conflict, match="已于"):
        publish(proc, "topic", d)
    with pytest.raises(Conflict):
        publish(proc, "implementation", d)
    for position in (2, 3, 4):
        passing(proc, position, d, held=9 - position)
    with pytest.raises(Conflict, match="决议公开"):
        publish(proc, "implementation", d)
    decision = procedures.publish_decision(proc, actor=d, content=procedures.default_content(proc, "decision"),
                                           channel="村务公开栏", starts_on=days_ago(4))
    assert "决议通过" in decision.content
    with pytest.raises(ValidationError):
        publish(proc, "implementation", d, starts_on=days_ago(5))  # before the decision's publication
    done = procedures.publish_implementation(proc, actor=d, content="已完工，验收合格", channel="村务公开栏")
    proc.refresh_from_db()
    assert proc.status == Procedure.Status.IMPLEMENTED
    assert done.kind == "implementation"
    assert list(Publication.objects.filter(procedure=proc).order_by("pk").values_list("kind", flat=True)) == [
        "topic", "decision", "implementation"]
    assert AuditLog.objects.filter(action="deliberation.publish").count() == 3
    assert procedures.next_publication(proc, {"topic", "decision", "implementation"}) is None


def test_a_rejected_matter_is_not_published(world, proc):
    passing(proc, 1, world.dispatcher, held=5)
    publish(proc, "topic", world.dispatcher)
    procedures.record_stage(stage(proc, 2), actor=world.dispatcher, held_on=days_ago(2), eligible=9, present=9,
                            votes_for=3, minutes="未通过")
    with pytest.raises(Conflict):
        publish(proc, "decision", world.dispatcher)
    proc.refresh_from_db()
    assert procedures.next_publication(proc, {"topic"}) is None


def test_publishing_needs_a_manager_and_content(world, proc):
    passing(proc, 1, world.dispatcher)
    with pytest.raises(PermissionDenied):
        publish(proc, "topic", world.worker)
    with pytest.raises(ValidationError):
        publish(proc, "topic", world.dispatcher, content="")
    with pytest.raises(ValidationError):
        publish(proc, "topic", world.dispatcher, days=0)
    with pytest.raises(ValidationError):
        publish(proc, "result", world.dispatcher)


# ------------------------------------------------------------------------------------ the ballot


def test_a_ballot_of_the_area_may_be_linked_until_the_procedure_ends(world, proc):
    from gongzhi.deliberation.tests.conftest import make_roll

    roll = make_roll(world.community_a).roll
    ballot = Decision.objects.create(area=world.community_a, roll=roll, title="村道硬化表决")
    elsewhere = Decision.objects.create(area=world.community_b, roll=make_roll(world.community_b, name="西").roll,
                                        title="别处的表决")
    with pytest.raises(ValidationError):
        procedures.link_decision(proc, actor=world.dispatcher, decision=elsewhere)
    with pytest.raises(PermissionDenied):
        procedures.link_decision(proc, actor=world.worker, decision=ballot)
    assert procedures.link_decision(proc, actor=world.dispatcher, decision=ballot).decision == ballot
    assert procedures.link_decision(proc, actor=world.dispatcher, decision=None).decision is None
    procedures.record_stage(stage(proc, 1), actor=world.dispatcher, held_on=days_ago(1), eligible=5, present=1,
                            votes_for=1, minutes="不足")
    with pytest.raises(Conflict):
        procedures.link_decision(proc, actor=world.dispatcher, decision=ballot)
