"""Community corrections: the record's life, the five-member team, risk scoring, service hours,
reminders, who may write, and pages that never show the offence, notes or phones in clear."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.notifications.models import Notification
from gongzhi.orgs import services as org_services
from gongzhi.registries import corrections
from gongzhi.registries.models import (
    Correction,
    CorrectionReport,
    Person,
    PlacementBase,
    RiskAssessment,
    TeamMember,
)

OFFENCE = "盗窃罪，有期徒刑一年缓刑二年"
PHONE = "13912345678"
NOTE = "本周在家照顾老人，情绪稳定"

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def judicial(world):
    """A judicial office serving street A, with one staff user (the writer)."""
    dept = org_services.create_department(actor=None, name="东司法所", code="judicial-a", kind="judicial",
                                          areas=[world.street_a], home_area=world.street_a)
    judge = org_services.create_user(actor=None, username="judge", password="x-password-1", display_name="司法甲")
    org_services.add_staff(actor=None, department=dept, user=judge, title="司法助理员")
    return dept, judge


@pytest.fixture
def person(world):
    return Person.objects.create(name="张三", area=world.grid_a1, phone=PHONE)


def _open(judge, person, dept, **kw):
    args = {"department": dept, "kind": Correction.Kind.PROBATION, "offence": OFFENCE,
            "term_start": TODAY - 10 * DAY, "term_end": TODAY + 700 * DAY, "report_every_days": 7}
    args.update(kw)
    return corrections.open_correction(judge, person, **args)


def _team(judge, c, *, except_role=None, family_user=None):
    for role in corrections.FIVE_ROLES:
        if role == except_role:
            continue
        corrections.set_team_member(judge, c, role=role, name=f"成员{role}", phone=PHONE,
                                    user=family_user if role == "family" else None)


def _active(world, judicial, person, **team):
    dept, judge = judicial
    c = _open(judge, person, dept)
    _team(judge, c, **team)
    return corrections.announce(judge, c, on=TODAY - 5 * DAY, record="宣告已完成")


# ------------------------------------------------------------------------------ services


def test_open_checks_department_and_term(world, judicial, person):
    dept, judge = judicial
    with pytest.raises(ValidationError) as err:
        _open(judge, person, world.police_a)
    assert "department" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        _open(judge, person, dept, term_end=TODAY - 20 * DAY)
    assert "term_end" in err.value.message_dict
    c = _open(judge, person, dept)
    assert c.status == Correction.Status.ASSESSMENT and c.offence.reveal() == OFFENCE
    with pytest.raises(ValidationError):  # one open record per person
        _open(judge, person, dept)


def test_announce_refused_until_five_roles(world, judicial, person):
    dept, judge = judicial
    c = _open(judge, person, dept)
    _team(judge, c, except_role="police")
    with pytest.raises(ValidationError) as err:
        corrections.announce(judge, c, on=TODAY, record="宣告")
    assert "派出所民警" in str(err.value)
    c.refresh_from_db()
    assert c.status == Correction.Status.ASSESSMENT and c.next_report_due is None
    corrections.set_team_member(judge, c, role="police", name="民警乙")
    c = corrections.announce(judge, c, on=TODAY - 2 * DAY, record="宣告")
    assert c.status == Correction.Status.ACTIVE
    assert c.next_report_due == TODAY + 5 * DAY
    with pytest.raises(ValidationError):
        corrections.announce(judge, c, on=TODAY, record="再次宣告")


def test_team_member_is_replaced_per_role(world, judicial, person):
    dept, judge = judicial
    c = _open(judge, person, dept)
    corrections.set_team_member(judge, c, role="volunteer", name="志愿者甲")
    corrections.set_team_member(judge, c, role="volunteer", name="志愿者乙")
    assert list(c.team.values_list("name", flat=True)) == ["志愿者乙"]
    with pytest.raises(ValidationError):
        corrections.set_team_member(judge, c, role="boss", name="某人")


def test_report_moves_due_date_and_team_member_may_record(world, judicial, person):
    c = _active(world, judicial, person, family_user=world.resident)
    _, judge = judicial
    before = c.next_report_due
    corrections.record_report(judge, c, kind="written", on=TODAY, note=NOTE)
    c.refresh_from_db()
    assert c.next_report_due == before  # a written report is not the reporting duty
    corrections.record_report(world.resident, c, kind="check_in", on=TODAY, note=NOTE)
    c.refresh_from_db()
    assert c.next_report_due == TODAY + 7 * DAY
    assert c.reports.count() == 2
    with pytest.raises(PermissionDenied):
        corrections.record_report(world.worker, c, kind="phone", on=TODAY)
    with pytest.raises(ValidationError):
        corrections.record_report(judge, c, kind="phone", on=TODAY + DAY)


def test_risk_scoring_levels_and_bad_factors(world, judicial, person):
    dept, judge = judicial
    c = _open(judge, person, dept)
    low = {"offence": 5, "prior": 0, "family": 3, "employment": 5, "attitude": 5, "mental": 0}
    a = corrections.assess_risk(judge, c, on=TODAY, scores=low, note="家庭支持良好")
    assert (a.total, a.level) == (18, RiskAssessment.Level.LOW)
    mid = dict(low, attitude=17)
    assert corrections.assess_risk(judge, c, on=TODAY, scores=mid).level == RiskAssessment.Level.MEDIUM
    high = {k: top for k, (_, top) in corrections.RISK_FACTORS.items()}
    a = corrections.assess_risk(judge, c, on=TODAY, scores=high)
    assert (a.total, a.level) == (100, RiskAssessment.Level.HIGH)
    assert corrections.risk_level(29) == "low" and corrections.risk_level(30) == "medium"
    assert corrections.risk_level(60) == "high"
    for bad in (dict(low, luck=3), dict(low, offence=21), dict(low, prior=-1), dict(low, family="x"),
                {"offence": 1}):
        with pytest.raises(ValidationError):
            corrections.assess_risk(judge, c, on=TODAY, scores=bad)
    assert c.assessments.count() == 3


def test_service_hours_monthly_total(world, judicial, person):
    c = _active(world, judicial, person)
    _, judge = judicial
    base = corrections.create_base(judge, area=world.street_a, name="福利院", kind="service")
    first = TODAY.replace(day=1)
    corrections.record_service_hours(judge, c, base=base, on=first, hours="3.5", activity="打扫")
    corrections.record_service_hours(judge, c, base=None, on=first, hours=2, activity="")
    assert corrections.hours_this_month(c) == (Decimal("5.5"), Decimal("8"))
    with pytest.raises(ValidationError):
        corrections.record_service_hours(judge, c, base=base, on=first, hours=0)
    with pytest.raises(ValidationError):
        corrections.record_service_hours(judge, c, base=base, on=first, hours=25)
    other = PlacementBase.objects.create(area=world.street_b, name="外街基地", kind="service")
    with pytest.raises(ValidationError):
        corrections.record_service_hours(judge, c, base=other, on=first, hours=1)


def test_release_and_revoke_end_reporting(world, judicial, person):
    c = _active(world, judicial, person)
    _, judge = judicial
    c = corrections.release(judge, c, TODAY)
    assert c.status == Correction.Status.RELEASED and c.closed_on == TODAY and c.next_report_due is None
    with pytest.raises(ValidationError):
        corrections.record_report(judge, c, kind="check_in", on=TODAY)
    with pytest.raises(ValidationError):
        corrections.revoke(judge, c, TODAY, "violation")
    other = Person.objects.create(name="李四", area=world.grid_a2)
    c2 = _active(world, judicial, other)
    with pytest.raises(ValidationError):
        corrections.revoke(judge, c2, TODAY, "他说了一些话")
    c2 = corrections.revoke(judge, c2, TODAY, "absconded")
    assert c2.status == Correction.Status.REVOKED and c2.closed_on == TODAY


def test_reminders_once_per_due_date_name_only(world, judicial, person):
    c = _active(world, judicial, person, family_user=world.resident)
    _, judge = judicial
    Correction.objects.filter(pk=c.pk).update(next_report_due=TODAY)
    assert corrections.remind_due() == 1
    assert corrections.remind_due() == 0
    rows = Notification.objects.filter(kind="registries.correction_due")
    assert sorted(rows.values_list("user__username", flat=True)) == ["judge", "resident"]
    for n in rows:
        assert "张三" in n.title and OFFENCE not in n.title + n.body and "盗窃" not in n.body
    corrections.record_report(judge, c, kind="phone", on=TODAY)
    assert corrections.remind_due() == 0  # not due yet
    Correction.objects.filter(pk=c.pk).update(next_report_due=TODAY - DAY)
    assert corrections.remind_due() == 1  # a new due date, a new reminder
    corrections.release(judge, Correction.objects.get(pk=c.pk), TODAY)
    Correction.objects.filter(pk=c.pk).update(next_report_due=TODAY - 2 * DAY)
    assert corrections.remind_due() == 0  # closed records are never reminded


def test_who_may_write(world, judicial, person):
    dept, judge = judicial
    for actor in (world.worker, world.handler, world.dispatcher, world.outsider, world.resident):
        with pytest.raises(PermissionDenied):
            _open(actor, person, dept)
    c = _open(world.admin, person, dept)
    for actor in (world.worker, world.handler, world.outsider):
        with pytest.raises(PermissionDenied):
            corrections.set_team_member(actor, c, role="family", name="某人")
        with pytest.raises(PermissionDenied):
            corrections.create_base(actor, area=world.street_a, name="基地", kind="service")
    # a judicial office of street B does not write in street A
    dept_b = org_services.create_department(actor=None, name="西司法所", code="judicial-b", kind="judicial",
                                            areas=[world.street_b])
    org_services.add_staff(actor=None, department=dept_b, user=world.resident)
    with pytest.raises(PermissionDenied):
        corrections.set_team_member(world.resident, c, role="family", name="某人")


# ------------------------------------------------------------------------------ pages


def test_pages_access(world, judicial, person, login):
    c = _active(world, judicial, person)
    url = reverse("registries:correction", args=[c.pk])
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.worker).get(url).status_code == 404
    assert login(world.handler).get(url).status_code == 200  # police: in the audience, read only
    assert login(world.worker).get(reverse("registries:corrections")).status_code == 403
    r = login(world.handler).get(reverse("registries:corrections"))
    assert r.status_code == 200 and "张三" in r.content.decode()
    r = login(world.handler).post(reverse("registries:correction_report", args=[c.pk]),
                                  {"kind": "phone", "on": TODAY.isoformat()})
    assert r.status_code == 403
    assert not CorrectionReport.objects.filter(correction=c).exists()


def test_detail_masks_offence_notes_and_phones(world, judicial, person, login):
    c = _active(world, judicial, person)
    dept, judge = judicial
    corrections.record_report(judge, c, kind="check_in", on=TODAY, note=NOTE)
    corrections.assess_risk(judge, c, on=TODAY, note="评估意见保密内容",
                            scores={"offence": 5, "prior": 0, "family": 3, "employment": 5, "attitude": 5,
                                    "mental": 0})
    r = login(judge).get(reverse("registries:correction", args=[c.pk]))
    body = r.content.decode()
    assert r.status_code == 200 and r["Cache-Control"].count("private")
    for secret in (OFFENCE, NOTE, PHONE, "评估意见保密内容", "宣告已完成"):
        assert secret not in body
    assert "139****5678" in body and "低风险" in body and "入矫宣告" in body
    assert reverse("registries:reveal", args=["correction", c.pk]) not in body  # no permission to reveal
    from django.contrib.auth.models import Permission

    judge.user_permissions.add(Permission.objects.get(codename="reveal_sensitive"))
    judge = type(judge).objects.get(pk=judge.pk)
    body = login(judge).get(reverse("registries:correction", args=[c.pk])).content.decode()
    assert reverse("registries:reveal", args=["correction", c.pk]) in body


def test_new_page_and_actions_through_forms(world, judicial, person, login):
    dept, judge = judicial
    client = login(judge)
    url = reverse("registries:correction_new") + f"?person={person.pk}"
    assert client.get(url).status_code == 200
    r = client.post(url, {"department": dept.pk, "kind": "probation", "offence": OFFENCE,
                          "term_start": TODAY.isoformat(), "term_end": (TODAY + 365 * DAY).isoformat(),
                          "report_every_days": 7})
    c = Correction.objects.get(person=person)
    assert r.status_code == 302 and r["Location"] == reverse("registries:correction", args=[c.pk])
    assert OFFENCE not in r["Location"]
    r = client.post(reverse("registries:correction_announce", args=[c.pk]),
                    {"on": TODAY.isoformat(), "record": "宣告"})
    assert r.status_code == 400 and "五个一" in r.content.decode()  # refused: the team is not complete
    for role in corrections.FIVE_ROLES:
        r = client.post(reverse("registries:correction_team", args=[c.pk]),
                        {"role": role, "name": f"成员{role}", "phone": PHONE})
        assert r.status_code == 302
    assert TeamMember.objects.filter(correction=c).count() == 5
    r = client.post(reverse("registries:correction_announce", args=[c.pk]),
                    {"on": TODAY.isoformat(), "record": "宣告"})
    assert r.status_code == 302
    scores = {f"score_{k}": 1 for k in corrections.RISK_FACTORS}
    r = client.post(reverse("registries:correction_assess", args=[c.pk]),
                    {"on": TODAY.isoformat(), "note": "", **scores})
    assert r.status_code == 302 and c.assessments.get().total == 6
    # a person outside the writer's area is not found
    far = Person.objects.create(name="王五", area=world.grid_b1)
    assert client.get(reverse("registries:correction_new") + f"?person={far.pk}").status_code == 404


def test_bases_pages(world, judicial, login):
    dept, judge = judicial
    r = login(judge).post(reverse("registries:base_new"), {"area": world.street_a.pk, "name": "蓝天福利院",
                                                             "kind": "service", "address": "某路1号", "contact": "院长"})
    assert r.status_code == 302
    assert "蓝天福利院" in login(judge).get(reverse("registries:bases")).content.decode()
    assert login(world.outsider).get(reverse("registries:bases")).status_code == 403


def test_team_member_with_account_reports_from_the_page_but_sees_no_assessment(world, judicial, person, login):
    c = _active(world, judicial, person, family_user=world.resident)
    _, judge = judicial
    corrections.assess_risk(judge, c, on=TODAY, scores={k: 0 for k in corrections.RISK_FACTORS})
    client = login(world.resident)
    body = client.get(reverse("registries:correction", args=[c.pk])).content.decode()
    assert "张三" in body and "report-form" in body
    assert "assessment-" not in body and "risk-form" not in body and "team-form" not in body
    assert client.get(reverse("registries:corrections")).status_code == 200
    r = client.post(reverse("registries:correction_report", args=[c.pk]),
                    {"kind": "check_in", "on": TODAY.isoformat(), "note": NOTE})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.next_report_due == TODAY + 7 * DAY and c.reports.get().recorded_by == world.resident
    assert client.post(reverse("registries:correction_release", args=[c.pk]),
                       {"on": TODAY.isoformat()}).status_code == 403


def test_list_filters_by_status_and_due(world, judicial, person, login):
    dept, judge = judicial
    due = _active(world, judicial, person)
    Correction.objects.filter(pk=due.pk).update(next_report_due=TODAY - DAY)
    waiting = _open(judge, Person.objects.create(name="李四", area=world.grid_a2), dept)
    client = login(judge)
    url = reverse("registries:corrections")
    body = client.get(url, {"due": "overdue"}).content.decode()
    assert f"correction-{due.pk}" in body and f"correction-{waiting.pk}" not in body
    body = client.get(url, {"status": "assessment"}).content.decode()
    assert f"correction-{waiting.pk}" in body and f"correction-{due.pk}" not in body


def test_new_record_starts_from_the_identity_number_in_the_body(world, judicial, login):
    _, judge = judicial
    number = "150302198001011234"
    person = Person.objects.create(name="赵六", area=world.grid_a2, id_number=number)
    Person.objects.create(name="钱七", area=world.grid_b1, id_number="150302198001015678")  # street B
    client = login(judge)
    url = reverse("registries:correction_new")
    assert client.get(url).status_code == 200
    r = client.post(url, {"id_number": number})
    assert r.status_code == 302 and r["Location"] == f"{url}?person={person.pk}" and number not in r["Location"]
    r = client.post(url, {"id_number": "150302198001015678"})  # outside the judicial office's area
    body = r.content.decode()
    assert r.status_code == 400 and "没有找到" in body and "150302198001015678" not in body and "钱七" not in body
    body = client.get(f"{url}?person={person.pk}").content.decode()
    assert "赵六" in body and "1503**********1234" in body and number not in body
