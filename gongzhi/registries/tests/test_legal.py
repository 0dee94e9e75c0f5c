"""Legal service and mediation: one adviser per community, consultations, mediation numbering and
conclusion rules, who may write, and pages that show parties masked."""

from __future__ import annotations

import datetime
import json
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.registries import legal
from gongzhi.registries.models import Consultation, LegalAdviser, Mediation

TODAY = timezone.localdate()
PHONE = "13987654321"
SUMMARY = "楼上漏水导致楼下天花板损坏"


@pytest.fixture
def judge(world):
    dept = org_services.create_department(actor=None, name="东司法所", code="judicial-a", kind="judicial",
                                          areas=[world.street_a], home_area=world.street_a)
    user = org_services.create_user(actor=None, username="judge", password="x-password-1", display_name="司法甲")
    org_services.add_staff(actor=None, department=dept, user=user)
    return user


def _open(actor, world, **kw):
    args = {"area": world.community_a, "kind": Mediation.Kind.NEIGHBOUR, "summary": SUMMARY}
    args.update(kw)
    return legal.open_mediation(actor, **args)


def test_one_adviser_per_community(world, judge):
    first = legal.appoint_adviser(judge, area=world.community_a, name="律师甲", firm="某律师事务所",
                                  phone="0471-1234567", office_hours="每周三上午")
    second = legal.appoint_adviser(judge, area=world.community_a, name="律师乙", user=world.resident)
    first.refresh_from_db()
    assert first.ended_on == TODAY and second.ended_on is None
    assert legal.current_adviser(world.community_a) == second
    legal.end_adviser(judge, second)
    assert legal.current_adviser(world.community_a) is None
    with pytest.raises(ValidationError):
        legal.end_adviser(judge, second)
    with pytest.raises(PermissionDenied):
        legal.appoint_adviser(world.worker, area=world.community_a, name="某人")
    with pytest.raises(PermissionDenied):
        legal.appoint_adviser(judge, area=world.community_b, name="某人")
    with pytest.raises(ValidationError):
        legal.appoint_adviser(judge, area=world.street_a, name="某人")  # per community, not per street


def test_consultation_by_writer_and_by_adviser(world, judge):
    with pytest.raises(PermissionDenied):
        legal.record_consultation(world.resident, area=world.community_a, topic="劳动", requester="王某",
                                  question="拖欠工资怎么办")
    adviser = legal.appoint_adviser(judge, area=world.community_a, name="律师乙", user=world.resident)
    row = legal.record_consultation(world.resident, area=world.community_a, topic="劳动", requester="王某某",
                                    question="拖欠工资怎么办", advice="可申请劳动仲裁")
    assert row.adviser == adviser and row.recorded_by == world.resident
    assert str(row.requester) == "王**" and row.question.reveal() == "拖欠工资怎么办"
    with pytest.raises(PermissionDenied):  # not their community
        legal.record_consultation(world.resident, area=world.community_b, topic="劳动", requester="王某",
                                  question="问题")
    with pytest.raises(ValidationError):
        legal.record_consultation(judge, area=world.community_a, topic="", requester="王某", question="问题")
    legal.record_consultation(judge, area=world.community_a, topic="物业", requester="李某", question="物业费")
    assert Consultation.objects.count() == 2


def test_mediation_numbering_per_year(world, judge):
    a = _open(judge, world)
    b = _open(judge, world)
    old = _open(judge, world, received_on=datetime.date(2025, 3, 1))
    assert a.number == f"TJ-{TODAY.year}-0001" and b.number == f"TJ-{TODAY.year}-0002"
    assert old.number == "TJ-2025-0001"
    Mediation.objects.create(area=world.community_a, number=f"TJ-{TODAY.year}-0009", kind="other")
    assert _open(judge, world).number == f"TJ-{TODAY.year}-0010"


def test_mediation_number_clash_is_retried(world, judge, monkeypatch):
    first = _open(judge, world)
    calls = []
    real = legal.next_number

    def stale(year):  # the first attempt sees a number a concurrent opening has just taken
        calls.append(year)
        return first.number if len(calls) == 1 else real(year)

    monkeypatch.setattr(legal, "next_number", stale)
    second = _open(judge, world)
    assert second.number == f"TJ-{TODAY.year}-0002" and len(calls) == 2


def test_conclude_rules(world, judge):
    m = _open(judge, world, mediator=world.worker)
    legal.add_party(judge, m, side="applicant", name="赵某某", phone=PHONE)
    legal.record_session(world.worker, m, on=TODAY, place="社区调解室", note="双方同意赔偿")
    m.refresh_from_db()
    assert m.status == Mediation.Status.MEDIATING
    with pytest.raises(ValidationError) as err:
        legal.conclude(world.worker, m, status="agreed", agreement="")
    assert "agreement" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        legal.conclude(world.worker, m, status="failed", outcome="")
    assert "outcome" in err.value.message_dict
    with pytest.raises(ValidationError):
        legal.conclude(world.worker, m, status="mediating", outcome="x")
    m = legal.conclude(world.worker, m, status="agreed", agreement="乙方赔偿甲方两千元")
    assert m.status == Mediation.Status.AGREED and m.closed_on == TODAY
    assert m.agreement.reveal() == "乙方赔偿甲方两千元"
    with pytest.raises(ValidationError):
        legal.conclude(judge, m, status="withdrawn", outcome="撤回")
    with pytest.raises(ValidationError):
        legal.record_session(judge, m, on=TODAY, note="再谈")
    other = _open(judge, world)
    other = legal.conclude(judge, other, status="withdrawn", outcome="申请人撤回")
    assert other.outcome.reveal() == "申请人撤回" and str(other.outcome) != "申请人撤回"  # sealed, masked
    row = AuditLog.objects.get(action="registries.mediation_conclude", object_id=str(other.pk))
    assert "申请人撤回" not in json.dumps(row.after, ensure_ascii=False)


def test_who_may_handle_a_mediation(world, judge):
    m = _open(judge, world, mediator=world.worker)
    for actor in (world.handler, world.outsider, world.dispatcher, world.resident):
        with pytest.raises(PermissionDenied):
            legal.record_session(actor, m, on=TODAY, note="记录")
        with pytest.raises(PermissionDenied):
            legal.conclude(actor, m, status="failed", outcome="不成")
    with pytest.raises(PermissionDenied):
        _open(world.worker, world)  # a mediator handles their own case only
    with pytest.raises(PermissionDenied):
        _open(world.handler, world)


def test_pages_mask_parties_and_refuse_outsiders(world, judge, login):
    m = _open(judge, world, mediator=world.worker)
    legal.add_party(judge, m, side="applicant", name="赵某某", phone=PHONE)
    legal.record_session(judge, m, on=TODAY, note="双方情绪激动")
    url = reverse("registries:mediation", args=[m.pk])
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.handler).get(url).status_code == 404
    assert login(world.handler).get(reverse("registries:mediations")).status_code == 403
    for user in (judge, world.worker):  # the writer; the mediator (tied to the case)
        r = login(user).get(url)
        body = r.content.decode()
        assert r.status_code == 200 and "private" in r["Cache-Control"]
        assert "赵**" in body and "139****4321" in body
        for secret in ("赵某某", PHONE, SUMMARY, "双方情绪激动"):
            assert secret not in body
    body = login(world.worker).get(reverse("registries:mediations")).content.decode()
    assert m.number in body


def test_mediation_pages_flow(world, judge, login):
    client = login(judge)
    r = client.post(reverse("registries:mediation_new"), {"area": world.community_a.pk, "kind": "family",
                                                          "received_on": TODAY.isoformat(), "summary": SUMMARY,
                                                          "mediator": "worker"})
    m = Mediation.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("registries:mediation", args=[m.pk])
    assert m.mediator == world.worker
    r = login(world.worker).post(reverse("registries:mediation_conclude", args=[m.pk]), {"status": "agreed"})
    assert r.status_code == 400 and "conclude-form" in r.content.decode()  # refused: no agreement text
    m.refresh_from_db()
    assert m.status == Mediation.Status.RECEIVED
    r = login(world.worker).post(reverse("registries:mediation_conclude", args=[m.pk]),
                                 {"status": "failed", "outcome": "双方分歧较大"})
    assert r.status_code == 302
    m.refresh_from_db()
    assert m.status == Mediation.Status.FAILED
    r = login(world.handler).post(reverse("registries:mediation_session", args=[m.pk]),
                                  {"on": TODAY.isoformat(), "note": "x"})
    assert r.status_code == 404


def test_legal_page_shows_advisers_to_everyone_and_consultations_masked(world, judge, login):
    legal.appoint_adviser(judge, area=world.community_a, name="律师甲", firm="某律师事务所", phone="0471-1234567",
                          office_hours="每周三上午")
    legal.record_consultation(judge, area=world.community_a, topic="婚姻家庭", requester="钱某某",
                              question="离婚财产如何分割")
    body = login(world.resident).get(reverse("registries:legal")).content.decode()
    assert "律师甲" in body and "0471-1234567" in body and "每周三上午" in body
    assert "婚姻家庭" not in body  # consultations: only for their audience
    body = login(judge).get(reverse("registries:legal")).content.decode()
    assert "婚姻家庭" in body and "钱**" in body
    assert "钱某某" not in body and "离婚财产如何分割" not in body
    assert login(world.resident).get(reverse("registries:consultation_new")).status_code == 403
    r = login(judge).post(reverse("registries:consultation_new"), {
        "area": world.community_a.pk, "on": TODAY.isoformat(), "topic": "劳动", "requester": "孙某",
        "question": "加班费", "advice": ""})
    assert r.status_code == 302 and Consultation.objects.count() == 2
    r = login(judge).post(reverse("registries:adviser_new"), {"area": world.community_a.pk, "name": "律师丙"})
    assert r.status_code == 302
    assert LegalAdviser.objects.filter(ended_on__isnull=True).get().name == "律师丙"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real race needs PostgreSQL's unique index waits")
@pytest.mark.django_db(transaction=True)
def test_two_mediations_opened_at_the_same_moment_get_two_numbers(world, judge):
    barrier = threading.Barrier(2)
    numbers: list[str] = []
    lock = threading.Lock()

    def open_one(summary):
        try:
            barrier.wait(timeout=10)
            m = _open(None, world, summary=summary)
            with lock:
                numbers.append(m.number)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one, args=(s,)) for s in ("纠纷一", "纠纷二")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(numbers) == [f"TJ-{TODAY.year}-0001", f"TJ-{TODAY.year}-0002"]


OUTCOME = "王某拒绝赔偿李某的漏水损失"


def _raw_outcome(mediation) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT outcome FROM {Mediation._meta.db_table} WHERE id = %s", [mediation.pk])
        return cursor.fetchone()[0]


def test_the_outcome_is_sealed_masked_and_shown_only_through_the_reveal_door(world, judge, login):
    from django.contrib.auth.models import Permission

    from gongzhi.registries import crypto
    from gongzhi.registries.models import AccessLog

    m = legal.conclude(judge, _open(judge, world), status="failed", outcome=OUTCOME)
    assert _raw_outcome(m).startswith(crypto.PREFIX) and OUTCOME not in _raw_outcome(m)
    c = login(judge)
    page = c.get(reverse("registries:mediation", args=[m.pk])).content.decode()
    assert "结果" in page and OUTCOME not in page
    url = reverse("registries:reveal", args=["mediation", m.pk])
    assert c.get(url).status_code == 403  # the permission first
    judge.user_permissions.add(Permission.objects.get(codename="reveal_sensitive"))
    c = login(type(judge).objects.get(pk=judge.pk))
    for body in ({}, {"purpose": "legal"}, {"purpose": "legal", "reason": "x"}):
        answer = c.post(url, body)
        assert answer.status_code == 200 and OUTCOME not in answer.content.decode()  # a purpose and a reason
    assert OUTCOME in c.post(url, {"purpose": "legal", "reason": "调解回访核对"}).content.decode()
    assert "outcome" in AccessLog.objects.get(object_type="registries.mediation", object_id=str(m.pk)).fields


def test_the_migration_seals_stored_outcomes_and_unseals_them_backwards(world, judge):
    import importlib

    from django.apps import apps

    from gongzhi.registries import crypto

    migration = importlib.import_module("gongzhi.registries.migrations.0004_mediation_outcome_sealed")
    editor = type("Editor", (), {"connection": connection})()
    m = _open(judge, world)
    with connection.cursor() as cursor:  # a row as the plain column held it
        cursor.execute(f"UPDATE {Mediation._meta.db_table} SET outcome = %s WHERE id = %s", [OUTCOME, m.pk])
    migration.seal(apps, editor)
    token = _raw_outcome(m)
    assert token.startswith(crypto.PREFIX) and Mediation.objects.get(pk=m.pk).outcome.reveal() == OUTCOME
    migration.seal(apps, editor)  # again: nothing sealed twice
    assert _raw_outcome(m) == token
    migration.unseal(apps, editor)
    assert _raw_outcome(m) == OUTCOME
