"""Demo data for 双向共评 in 新城社区: one finished project scored by every kind of party, and one
"best family" selection nominated, voted on and published. Through the services; people invented
(the demo city's own accounts). Idempotent."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import User

from . import services
from .models import Project

PROJECT = "凤凰小巷闲置地下室改建居民活动室"
ITEMS = [("环境整治成效", 30), ("设施完善与安全", 30), ("资金使用公开", 20), ("群众满意程度", 20)]
WEIGHTS = {"leader": 30, "deputy": 20, "party_member": 20, "resident": 30}
#: username, party, scores per item (organiser invites all but the residents)
SHEETS = [
    ("leader", "leader", (27, 26, 18, 17)),
    ("fh-gridhead", "deputy", (26, 25, 17, 18)),
    ("xc-secretary", "party_member", (28, 27, 19, 18)),
    ("fh-areahead", "party_member", (25, 24, 18, 17)),
    ("resident", "resident", (24, 22, 16, 18)),
    ("fh-member", "resident", (26, 23, 15, 19)),
    ("fh-m01", "resident", (23, 25, 17, 16)),
]
SELECTION = "2026年新城社区“最美家庭”评选"
NOMINEES = [
    ("温家（凤凰小巷1号楼）", "三代同堂，孝老爱亲；常年照顾独居邻居，主动清扫楼道。", "fh-buildinghead"),
    ("苗家（凤凰小巷2号楼）", "夫妻二人都是志愿者，疫情期间坚持值守小区卡口，热心公益。", "resident"),
    ("柏家（凤凰小巷东巷）", "家风清正，子女勤学上进；带头参与垃圾分类和小巷环境整治。", "fh-member"),
]
VOTERS = [("resident", 0), ("fh-member", 0), ("fh-m01", 1), ("fh-m02", 0), ("fh-m03", 2), ("fh-m04", 1),
          ("fh-m05", 0), ("fh-gridworker", 1)]


def build_demo_appraisal(*, stdout: TextIO | None = None) -> int:
    """The project with its sheets and the published selection; returns the number of sheets."""
    area = Area.objects.filter(name="新城社区").first()
    if area is None or Project.objects.filter(title=PROJECT).exists():
        return 0
    users = {u.username: u for u in User.objects.filter(
        username__in={name for name, *_ in SHEETS} | {n for n, _i in VOTERS} | {n for *_x, n in NOMINEES}
        | {"xc-secretary"})}
    organiser = users.get("xc-secretary")
    if organiser is None:
        return 0
    with transaction.atomic():
        project = services.create_project(
            actor=organiser, area=area, title=PROJECT, items=ITEMS, weights=WEIGHTS,
            description="500 平方米闲置地下室改建为居家养老活动室、儿童娱乐室和书画室；街道挂点领导、"
                        "代表委员、党员和居民代表现场评估建设成效。")
        for username, party, _scores in SHEETS:
            if party != "resident" and username in users:
                services.invite_evaluator(project, actor=organiser, user=users[username], party=party)
        services.open_project(project, actor=organiser)
        items = list(project.items.all())
        sheets = 0
        for username, _party, scores in SHEETS:
            if username in users:
                services.submit_sheet(project, actor=users[username],
                                      scores={item.pk: s for item, s in zip(items, scores, strict=True)})
                sheets += 1
        services.close_project(project, actor=organiser)

        selection = services.create_selection(
            actor=organiser, area=area, title=SELECTION, winners=2, publicity_days=7,
            description="弘扬好家风：推荐身边孝老爱亲、热心公益、家风清正的家庭，每位居民投一票。")
        nominations = [services.nominate(selection, actor=users.get(by) or organiser, name=name, reasons=reasons)
                       for name, reasons, by in NOMINEES]
        now = timezone.now()
        services.open_voting(selection, actor=organiser, opens_at=now - datetime.timedelta(days=5),
                             closes_at=now + datetime.timedelta(hours=1))
        for username, choice in VOTERS:
            if username in users:
                services.cast_vote(selection, actor=users[username], nomination=nominations[choice])
        services.publish_result(selection, actor=organiser)
    if stdout is not None:
        stdout.write(f"双向共评 / Appraisal: 1 project, {sheets} sheets, 1 selection\n")
    return sheets

