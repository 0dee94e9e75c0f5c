"""Demo data for the registries in 新城社区's 凤凰小巷 (invented people only; identity numbers are
made up with a valid check digit and belong to nobody).

- twelve residents in six households over the three grids, one floating resident with a stay;
- key persons: a released prisoner and a person with a severe mental disorder, the grid worker
  ``fh-gridworker`` responsible, one visit overdue;
- a person under community correction (司法所 ``fhl-judicial``), the five-member team, reports and a
  risk assessment;
- two households in difficulty with plans and help, a relief batch with one household issued;
- the community's legal adviser, a consultation, a neighbour dispute in mediation;
- visits by the grid worker.

Who sees it whole: the groups 敏感信息查看 (``fhl-judicial``, ``fhl-police``, ``xc-secretary``: reveal
after stating a purpose, ask for exports) and 敏感信息导出审批 (``leader``: approve exports). The grid
worker sees masked values only. Called by ``gongzhi demo``; nothing twice."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import Department, User

from . import assistance, corrections, keypersons, legal, relief, residents, visits
from .models import DifficultyKind, Household, KeyCategory, Person, TeamMember

COMMUNITY = "新城社区"
GRIDS = ("凤凰小巷一网格", "凤凰小巷二网格", "凤凰小巷三网格")
REVEAL_GROUP = "敏感信息查看"
APPROVE_GROUP = "敏感信息导出审批"
REVEALERS = ("fhl-judicial", "fhl-police", "xc-secretary")
APPROVERS = ("leader",)

# household number, building, [(name, relation, birth date, sex digit, phone)]
HOUSEHOLDS = [
    ("1-101", "凤凰小巷1号楼", [("柴立新", "户主", "19630412", 3, "13700001101"), ("柴刘氏", "配偶", "19650730", 2, "")]),
    ("1-202", "凤凰小巷1号楼", [("敖春来", "户主", "19790106", 5, "13700001202")]),
    ("3-102", "凤凰小巷3号楼", [("邝海生", "户主", "19850921", 7, "13700003102"), ("邝小禾", "子", "20120315", 1, "")]),
    ("4-201", "凤凰小巷4号楼", [("阙凤兰", "户主", "19480802", 4, "13700004201")]),
    ("5-101", "凤凰小巷5号楼", [("晏志勇", "户主", "19900227", 9, "13700005101"), ("晏周敏", "配偶", "19911111", 6, ""),
                                ("晏可欣", "女", "20180909", 8, "")]),
    ("6-202", "凤凰小巷6号楼", [("訾宝华", "户主", "19720514", 3, "13700006202"), ("訾宏亮", "子", "19980618", 5, "")]),
]


def _id(birth: str, n: int, sex: int) -> str:
    first = f"150302{birth}{n:02d}{sex}"
    return first + residents.id_check_digit(first)


def _users(*names: str) -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=names)}


def _groups(users: dict[str, User]) -> None:
    reveal, _ = Group.objects.get_or_create(name=REVEAL_GROUP)
    reveal.permissions.add(*Permission.objects.filter(content_type__app_label="registries",
                                                      codename__in=("reveal_sensitive", "export_sensitive")))
    approve, _ = Group.objects.get_or_create(name=APPROVE_GROUP)
    approve.permissions.add(*Permission.objects.filter(content_type__app_label="registries",
                                                       codename="approve_export"))
    for name in REVEALERS:
        if name in users:
            users[name].groups.add(reveal)
    for name in APPROVERS:
        if name in users:
            users[name].groups.add(approve)


def build_demo_registries(*, stdout: TextIO | None = None) -> int:
    """Returns the number of people registered (0 when the demo city is missing or this ran before)."""
    community = Area.objects.filter(name=COMMUNITY).first()
    users = _users("fh-gridworker", "fhl-judicial", "fhl-police", "xc-secretary", "leader", "fhl-office")
    judicial = Department.objects.filter(code="fhl-judicial").first()
    if (community is None or judicial is None or len(users) < 6
            or Household.objects.filter(area__in=Area.objects.under(community)).exists()):
        return 0
    worker, secretary = users["fh-gridworker"], users["xc-secretary"]
    areas = {a.name: a for a in Area.objects.filter(name__in=[*GRIDS, *(b for _n, b, _p in HOUSEHOLDS)])}
    today = timezone.localdate()
    now = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        _groups(users)
        people: dict[str, Person] = {}
        homes: dict[str, Household] = {}
        n = 0
        for number, building, members in HOUSEHOLDS:
            area = areas[building]
            home = residents.create_household(None, area=area, number=number, address=f"{building} {number} 室")
            homes[number] = home
            for name, relation, birth, sex, phone in members:
                n += 1
                people[name] = residents.register_person(
                    None, area=area, name=name, id_number=_id(birth, n, sex), phone=phone,
                    address=f"{building} {number} 室", household=home, relation=relation)
        lodger = residents.register_person(None, area=areas["凤凰小巷二网格"], name="蓝家旺",
                                           id_number=_id("19960301", 40, 1), phone="13700009001",
                                           address="凤凰小巷4号楼 4-102 室（租住）",
                                           residence=Person.Residence.FLOATING)
        residents.register_stay(None, lodger, area=areas["凤凰小巷4号楼"], address="凤凰小巷4号楼 4-102 室",
                                moved_in_on=today - datetime.timedelta(days=120), reason="务工", housing="租赁")
        people[lodger.name] = lodger

        # Key persons: one visit overdue (the grid worker's to-do list shows it first).
        released = keypersons.list_person(
            None, people["敖春来"], category=KeyCategory.objects.get(code="released_prisoner"), responsible=worker,
            details="2019 年因盗窃罪判处有期徒刑三年，2022 年刑满释放；在小区门口修车谋生。",
            listed_on=today - datetime.timedelta(days=200))
        visits.record_visit(worker, person=released.person, key_person=released, purpose="key_person",
                            notes="在家，情绪稳定，修车摊生意一般，希望办理灵活就业社保。",
                            at=now - datetime.timedelta(days=40))
        keypersons.list_person(
            None, people["訾宏亮"], category=KeyCategory.objects.get(code="mental_disorder"), responsible=worker,
            level="close", details="精神分裂症，规律服药，监护人为父亲訾宝华。",
            listed_on=today - datetime.timedelta(days=90))

        # Community correction: probation, the five-member team, announced, reporting.
        corrected = people["晏志勇"]
        correction = corrections.open_correction(
            None, corrected, department=judicial, kind="probation", offence="危险驾驶罪，判处拘役三个月，缓刑六个月。",
            term_start=today - datetime.timedelta(days=60), term_end=today + datetime.timedelta(days=122),
            report_every_days=7)
        team = [(TeamMember.Role.FAMILY, "晏周敏", None, "13700005102"),
                (TeamMember.Role.VOLUNTEER, "项美玲", None, "13700007001"),
                (TeamMember.Role.COMMUNITY, secretary.display_name, secretary, ""),
                (TeamMember.Role.POLICE, users["fhl-police"].display_name, users["fhl-police"], ""),
                (TeamMember.Role.JUDICIAL, users["fhl-judicial"].display_name, users["fhl-judicial"], "")]
        for role, name, user, phone in team:
            corrections.set_team_member(None, correction, role=role, name=name, user=user, phone=phone)
        corrections.announce(None, correction, on=today - datetime.timedelta(days=58),
                             record="在司法所宣告室宣告，矫正小组五名成员到场。")
        corrections.record_report(None, correction, kind="check_in", on=today - datetime.timedelta(days=5),
                                  note="按时报到，已找到物流公司驾驶以外的工作。")
        corrections.assess_risk(None, correction, on=today - datetime.timedelta(days=30),
                                scores={"offence": 8, "prior": 0, "family": 3, "employment": 5, "attitude": 4,
                                        "mental": 2}, note="家庭支持较好，认罪态度好。")

        # People in need and relief.
        elderly = assistance.open_need_case(
            None, homes["4-201"], kinds=list(DifficultyKind.objects.filter(code__in=["elderly_alone", "dibao"])),
            level="serious", details="独居，高血压，子女在外地，每月低保 780 元。", helper=worker)
        assistance.add_plan(None, elderly, measures="每周上门一次；协调社区卫生服务站每月测血压；冬季代购煤气。",
                            responsible=worker, starts_on=today)
        assistance.record_help(None, elderly, kind="care", on=today,
                               description="上门探望，代缴水电费")
        family = assistance.open_need_case(
            None, homes["1-101"], kinds=list(DifficultyKind.objects.filter(code__in=["serious_illness"])),
            level="general", details="户主柴立新患肾病，每周透析三次，家庭医疗支出大。", helper=secretary)
        assistance.record_help(None, family, kind="money", on=today,
                               description="临时救助金", amount=2000)
        batch = relief.create_batch(None, area=community, name="冬季慰问物资（演示）", goods="米、面、油各一份",
                                    per_household=1)
        relief.list_open_need_cases(None, batch)
        relief.list_households(None, batch, [homes["3-102"]])
        first = batch.recipients.order_by("pk").first()
        relief.issue(secretary, first, signed_by="阙凤兰")

        # Legal service.
        adviser = legal.appoint_adviser(None, area=community, name="尹律师", firm="海勃湾明理律师事务所（演示）",
                                        phone="0473-0000000", office_hours="每周三 9:00—12:00 社区党群服务中心")
        legal.record_consultation(None, area=community, topic="婚姻家庭", requester="邝海生",
                                  question="离婚后孩子的抚养费标准如何确定？", advice="可协商；协商不成按收入比例由法院确定。",
                                  adviser=adviser, person=people["邝海生"], on=today - datetime.timedelta(days=12))
        dispute = legal.open_mediation(None, area=community, kind="neighbour",
                                       summary="5号楼楼上漏水，楼下要求赔偿粉刷费用。", mediator=secretary,
                                       received_on=today - datetime.timedelta(days=10))
        legal.add_party(None, dispute, side="applicant", name="晏志勇", phone="13700005101", person=corrected)
        legal.add_party(None, dispute, side="respondent", name="訾宝华", phone="13700006202", person=people["訾宝华"])
        legal.record_session(None, dispute, on=today - datetime.timedelta(days=6), place="社区调解室",
                             note="双方同意先请物业查明漏水点。")

        # A routine visit.
        visits.record_visit(worker, household=homes["6-202"], purpose="routine",
                            notes="楼道灯不亮，已报物业；訾宏亮在家，按时服药。", at=now - datetime.timedelta(days=3))
    if stdout:
        stdout.write(f"人员台账 / registries: {len(people)} people, 4 registries with entries\n")
    return len(people)


def reset_demo_registries(areas) -> None:
    """Delete everything the registries hold in ``areas`` before the demo city is reset."""
    from . import models as m

    with transaction.atomic():
        m.ExportRequest.objects.filter(area__in=areas).delete()
        m.Visit.objects.filter(area__in=areas).delete()
        m.Mediation.objects.filter(area__in=areas).delete()
        m.Consultation.objects.filter(area__in=areas).delete()
        m.LegalAdviser.objects.filter(area__in=areas).delete()
        m.ReliefBatch.objects.filter(area__in=areas).delete()
        m.NeedCase.objects.filter(household__area__in=areas).delete()
        m.Correction.objects.filter(person__area__in=areas).delete()
        m.PlacementBase.objects.filter(area__in=areas).delete()
        m.FloatingRegistration.objects.filter(area__in=areas).delete()
        m.KeyPerson.objects.filter(person__area__in=areas).delete()
        m.Person.objects.filter(area__in=areas).delete()
        m.Household.objects.filter(area__in=areas).delete()
