"""Demo data for joint inspections (seed 001): the 新城社区星火工作站 with one team of the four
凤凰岭 departments (the demo logins fhl-office, fhl-police, fhl-market, fhl-enforcement) and past
visits of demo premises, so the notices, hazards and re-inspections have something to show.

Called by ``gongzhi demo`` after the premises; does nothing twice. Every write goes through the
service functions (actor ``None``: the system)."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.checklists.models import Checklist
from gongzhi.checklists.sample import SAMPLE_CODE
from gongzhi.orgs.models import Department, User
from gongzhi.premises.models import Premises

from . import followup, plans, services
from .models import Plan, Reinspection, Station

COMMUNITY = "新城社区"
TEAM = "第一联合检查小组"
MEMBERS = (("fhl-office", "fhl-office"), ("fhl-police", "fhl-police"), ("fhl-market", "fhl-market"),
           ("fhl-enforcement", "fhl-enforcement"))  # (username, department code)

#: Everything in order (the sample checklist, a shop that sells food).
ALL_PASS = {
    "open_now": "yes", "staff_count": 3, "business_licence": "yes", "sells_food": "yes", "food_licence": "yes",
    "food_hygiene": ["ok"], "fire_exit": "yes", "extinguishers": 2, "extinguishers_valid": "yes",
    "no_three_in_one": "yes", "residents_registered": "yes", "no_outside_business": "yes",
    "signboard_ok": "yes", "frontage_clean": "yes", "no_flying_wire": "yes",
}
# (premises name, days ago, failed answers, the operator who signed)
VISITS = (
    ("小巷烧烤", 24, {"fire_exit": "no", "food_licence": "no", "no_outside_business": "no"}, "郎振宇"),
    ("快乐网吧", 10, {"sells_food": "no", "extinguishers_valid": "no", "no_flying_wire": "no"}, "巫永刚"),
    ("凤凰便民超市", 6, {}, "韩立新"),
)
#: The re-inspection of the first visit: the police notice's hazards were fixed, the market's were not
#: (they climb to 提醒); the enforcement notice is still waiting (overdue on the follow-up pages).
FIXED_AT_REINSPECTION = "fhl-police"
NOT_FIXED_AT_REINSPECTION = "fhl-market"


def build_demo_joint_inspections(*, stdout: TextIO | None = None) -> int:
    """The station, its team and the past visits; returns the number of visits recorded."""
    community = Area.objects.filter(name=COMMUNITY).first()
    checklist = Checklist.objects.filter(code=SAMPLE_CODE).first()
    version = checklist.active_version if checklist is not None else None
    if community is None or version is None or Station.objects.filter(area=community).exists():
        return 0
    users = {u.username: u for u in User.objects.filter(username__in=[m[0] for m in MEMBERS])}
    departments = {d.code: d for d in Department.objects.filter(code__in=[m[1] for m in MEMBERS])}
    if len(users) < len(MEMBERS) or len(departments) < len(MEMBERS):
        return 0
    now = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)  # 10:00 local
    recorded = 0
    with transaction.atomic():
        station = services.create_station(actor=None, area=community)
        team = services.create_team(actor=None, station=station, name=TEAM,
                                    members=[(users[u], departments[d]) for u, d in MEMBERS])
        plans.create_plan(actor=None, team=team, name="每周三联合检查", checklist=checklist,
                          weekday=Plan.Weekday.WEDNESDAY, max_targets=8)
        first = None
        for name, days_ago, failed, operator in VISITS:
            premises = Premises.objects.filter(name=name).first()
            if premises is None:
                continue
            answers = {**ALL_PASS, **failed}
            if answers["sells_food"] == "no":
                answers = {k: v for k, v in answers.items() if k not in ("food_licence", "food_hygiene")}
            finished = now - datetime.timedelta(days=days_ago)
            visit = services.record_visit(actor=None, team=team, premises=premises, version=version,
                                          answers=answers, started_at=finished - datetime.timedelta(minutes=25),
                                          finished_at=finished, acknowledged_by=operator)
            first = first or visit
            recorded += 1
        for code, fixed in ((FIXED_AT_REINSPECTION, True), (NOT_FIXED_AT_REINSPECTION, False)):
            due = Reinspection.objects.filter(notice__visit=first, notice__department__code=code).first()
            if due is not None:
                hazards = list(due.notice.hazards.all()) if fixed else []
                followup.reinspect(actor=users[code], reinspection=due, fixed=hazards,
                                   note="已整改到位" if fixed else "仍未整改，予以提醒")
    if stdout is not None:
        stdout.write(f"联合检查 / Joint inspections: {station.name}, {recorded} visits\n")
    return recorded


def reset_demo_joint_inspections(areas) -> int:
    """Delete every station in ``areas`` (the demo city's, before it is reset) with what hangs on it:
    meetings, notices, hazards, visits, plans and teams. Returns the number of stations."""
    from .models import Hazard, Meeting, Notice, Plan, Team, Visit

    stations = Station.objects.filter(area__in=areas)
    visits = Visit.objects.filter(team__station__in=stations)
    with transaction.atomic():
        Meeting.objects.filter(station__in=stations).delete()
        Notice.objects.filter(visit__in=visits).delete()
        Hazard.objects.filter(visit__in=visits).delete()
        visits.delete()
        Plan.objects.filter(team__station__in=stations).delete()
        Team.objects.filter(station__in=stations).delete()
        count, _ = stations.delete()
    return count
