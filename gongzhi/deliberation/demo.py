"""Demo data for co-decision (seeds 003 and 004) in 新城社区's 凤凰小巷: a voter roll of 24 households
in six buildings (the demo resident, login ``resident``, heads 1号楼 101 and votes online); a
renovation vote (两个2/3) that is open, with door-to-door ballots already typed in twice by the party
secretary (``xc-secretary``) and the grid worker (``fh-gridworker``); an elevator vote for 3号楼
counted and published, with its project, the owners' cost statements and a first progress update;
the opinion meeting (every two months, due in five days) and the tripartite meeting (quarterly,
overdue); and a 四议三公开 matter whose proposal stage is recorded and its topic published.

Everything goes through the service functions (audit rows included). Called by ``gongzhi demo``;
nothing twice. Invented names only."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import User

from . import meetings, procedures, projects, results, rolls, services
from .models import Decision, VoterRoll

COMMUNITY = "新城社区"
ROLL = "凤凰小巷居民户名册（演示）"
SECRETARY = "xc-secretary"
GRID_WORKER = "fh-gridworker"
RESIDENT_PHONE = "13900000024"  # the demo resident 闵春燕 (core/demo.py)

SURNAMES = "严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方"
GIVEN = ("建国", "秀英", "桂兰", "志明", "丽娟", "国华", "玉梅", "德胜", "春生", "海燕", "文杰", "淑芬")


def _roll_csv() -> bytes:
    """24 households: buildings 1–6, units 101, 102, 201, 202; 1号楼 101 is the demo resident's."""
    lines = ["楼栋,房号,建筑面积,姓名,手机号,业主标识,户代表,代表,成年,委托代理人"]
    n = 0
    for building in range(1, 7):
        for unit in ("101", "102", "201", "202"):
            code = f"{building}-{unit}"
            area = Decimal("58.40") + Decimal(building * 3) + (Decimal("6.25") if unit.endswith("2") else 0)
            if code == "1-101":
                name, phone = "闵春燕", RESIDENT_PHONE
            else:
                name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
                phone = f"1370000{n:04d}"
            lines.append(f"{building}号楼,{code},{area},{name},{phone},,是,{'是' if unit == '101' else '否'},是,")
            n += 1
            if unit == "201":  # a second adult in some households
                lines.append(f"{building}号楼,{code},{area},{SURNAMES[(n + 7) % len(SURNAMES)]}小雨,,,否,否,是,")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _double_entry(decision: Decision, clerks, codes: list[str], choices: dict) -> None:
    for code in codes:
        elector = decision.electors.get(unit_codes__contains=code)
        for clerk in clerks:
            services.enter_paper(decision, actor=clerk, elector=elector, choices=choices, channel="door")


def build_demo_deliberation(*, stdout: TextIO | None = None) -> int:
    """Returns the number of decisions created (0 when the demo city is missing or this ran before)."""
    community = Area.objects.filter(name=COMMUNITY).first()
    secretary = User.objects.filter(username=SECRETARY).first()
    worker = User.objects.filter(username=GRID_WORKER).first()
    if community is None or secretary is None or worker is None or VoterRoll.objects.filter(name=ROLL).exists():
        return 0
    now = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    today = now.date()
    with transaction.atomic():
        report = rolls.import_roll(_roll_csv(), actor=secretary, area=community, name=ROLL,
                                   kind=VoterRoll.Kind.OWNERS, commit=True, filename="demo.csv")
        if not report.ok:
            raise RuntimeError("demo roll refused: " + "; ".join(report.error_lines()))
        roll = VoterRoll.objects.get(name=ROLL)

        # The elevator for 3号楼, decided last month: counted and published.
        elevator = services.create_decision(
            actor=secretary, area=community, roll=roll, title="凤凰小巷3号楼加装电梯", preset="elevator_two_electorates",
            building="3号楼", description="3号楼东侧加装一部电梯，费用按三个分担。",
            opens_at=now - datetime.timedelta(days=40), closes_at=now - datetime.timedelta(days=26))
        services.open_decision(elevator, actor=secretary, now=now - datetime.timedelta(days=40))
        codes = [f"{b}-{u}" for b in range(1, 7) for u in ("101", "102", "201", "202")]
        _double_entry(elevator, (secretary, worker), codes[:18], {1: "for"})
        _double_entry(elevator, (secretary, worker), codes[18:21], {1: "against"})
        results.close_decision(elevator, actor=secretary, now=now - datetime.timedelta(days=26))
        services.publish_result(elevator, actor=secretary, channel="凤凰小巷公告栏、共治平台", days=7,
                                starts_on=today - datetime.timedelta(days=25))

        # The renovation (两个2/3), open now: ten households' door-to-door ballots are in.
        renovation = services.create_decision(
            actor=secretary, area=community, roll=roll, title="凤凰小巷老旧小区改造", preset="renovation_two_rounds",
            description="改造内容：雨污分流、屋面防水、小巷路面与照明。方案见社区公示栏。",
            opens_at=now - datetime.timedelta(days=3), closes_at=now + datetime.timedelta(days=10))
        services.open_decision(renovation, actor=secretary, now=now - datetime.timedelta(days=3))
        _double_entry(renovation, (secretary, worker), codes[4:12], {1: "for", 2: "for"})
        _double_entry(renovation, (secretary, worker), codes[12:14], {1: "for", 2: "against"})

        # The elevator's project: 600,000 yuan shared three ways, the owners' part by floor area.
        project = projects.create_project(
            actor=secretary, area=community, title="3号楼加装电梯工程", total_cost="600000.00",
            policy_funds="200000.00", committee_funds="50000.00", owners_share="350000.00", split="area",
            buildings=["3号楼"], decision=elevator)
        projects.compute_statements(project, actor=secretary)
        projects.add_update(project, actor=secretary, note="完成井道基础开挖，管线迁改已完成。", progress=30)

        # Meetings: the opinion meeting is due in five days; the tripartite meeting is overdue.
        opinion = meetings.create_series(actor=secretary, area=community, kind="opinion", name="凤凰小巷居民意见征询会",
                                         next_due=today - datetime.timedelta(days=55), organiser=secretary)
        meetings.hold_meeting(
            actor=secretary, series=opinion, title="凤凰小巷居民意见征询会（第一次）",
            held_at=now - datetime.timedelta(days=55), place="新城社区党群服务中心",
            agenda="1. 老旧小区改造意见征集\n2. 3号楼加装电梯方案说明", minutes="到会居民提出增加夜间照明、保留晾衣区。",
            eligible=30, present=21)
        meetings.create_series(actor=secretary, area=community, kind="tripartite", name="新城社区三方联席会议",
                               next_due=today - datetime.timedelta(days=3), organiser=secretary)

        # 四议三公开: the proposal stage held, the topic published.
        matter = procedures.start_procedure(actor=secretary, area=community, title="凤凰小巷公共停车位管理方案",
                                            description="小巷口空地划设12个停车位，收益用于小巷保洁。")
        procedures.record_stage(matter.stages.order_by("position").first(), actor=secretary,
                                held_on=today - datetime.timedelta(days=2), eligible=7, present=6, votes_for=6,
                                minutes="支部委员会议一致同意提出该议题。")
        procedures.publish_topic(matter, actor=secretary, content="议题：凤凰小巷公共停车位管理方案（征求意见）",
                                 channel="新城社区公开栏")
    if stdout is not None:
        stdout.write("共商共决 / Co-decision: a roll of 24 households, 2 votes (one open), 1 project, "
                     "2 meeting cadences, 1 四议三公开 matter\n")
    return 2


def reset_demo_deliberation(areas) -> None:
    """Delete everything co-decision holds in ``areas`` before the demo city is reset."""
    from .models import (
        Attendee,
        Meeting,
        MeetingSeries,
        Objection,
        PaperEntry,
        Participation,
        Procedure,
        Project,
        ProjectPhoto,
        ProjectUpdate,
        Publication,
        Result,
        ShareStatement,
        Stage,
        Vote,
    )

    with transaction.atomic():
        Objection.objects.filter(publication__area__in=areas).delete()
        Publication.objects.filter(area__in=areas).delete()
        ProjectPhoto.objects.filter(update__project__area__in=areas).delete()
        ProjectUpdate.objects.filter(project__area__in=areas).delete()
        ShareStatement.objects.filter(project__area__in=areas).delete()
        Project.objects.filter(area__in=areas).delete()
        Attendee.objects.filter(stage__procedure__area__in=areas).delete()
        Attendee.objects.filter(meeting__area__in=areas).delete()
        Stage.objects.filter(procedure__area__in=areas).delete()
        Procedure.objects.filter(area__in=areas).delete()
        Decision.objects.filter(area__in=areas).update(meeting=None)
        Meeting.objects.filter(area__in=areas).delete()
        MeetingSeries.objects.filter(area__in=areas).delete()
        Vote.objects.filter(question__decision__area__in=areas).delete()
        Result.objects.filter(question__decision__area__in=areas).delete()
        Participation.objects.filter(decision__area__in=areas).delete()
        PaperEntry.objects.filter(decision__area__in=areas).delete()
        Decision.objects.filter(area__in=areas).delete()
        VoterRoll.objects.filter(area__in=areas).delete()
