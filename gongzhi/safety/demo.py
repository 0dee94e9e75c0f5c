"""Demo data for safety grading: three police jurisdictions in 乌海市 (凤凰岭派出所's reaches past its
street into the south of 海北街道: jurisdictions need not follow streets), two published months of
grades with a red one, its measures and their feedback. Everything goes through the services, so the
timeline and the audit log are what the product writes. Idempotent; people are invented."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import Department, User

from . import services
from .models import Grade, PoliceArea

#: code, name, department code, population, box (lon0, lat0, lon1, lat1), areas it covers
JURISDICTIONS = [
    ("fhl-pa", "凤凰岭派出所辖区", "Fenghuangling police area", "fhl-police", 32000,
     (106.79, 39.645, 106.85, 39.715), ["凤凰岭街道", "海北街道"]),
    ("hb-pa", "海北派出所辖区", "Haibei police area", "hb-police", 56000,
     (106.79, 39.715, 106.87, 39.745), ["海北街道"]),
    ("bh-pa", "滨海派出所辖区", "Binhai police area", "bh-police", 24000,
     (106.69, 39.475, 106.76, 39.53), ["滨海街道"]),
]

#: month offset (1 = last month, 2 = the month before) → code → figures
FIGURES = {
    2: {"fhl-pa": {"criminal": 8, "public_order": 16, "robbery_theft": 5, "fraud": 3, "satisfaction": "88.5"},
        "hb-pa": {"criminal": 25, "public_order": 45, "robbery_theft": 14, "fraud": 9, "satisfaction": "83.0"},
        "bh-pa": {"criminal": 1, "public_order": 4, "robbery_theft": 1, "fraud": 1, "satisfaction": "96.2"}},
    1: {"fhl-pa": {"criminal": 5, "public_order": 10, "robbery_theft": 3, "fraud": 2, "satisfaction": "91.0"},
        "hb-pa": {"criminal": 14, "public_order": 30, "robbery_theft": 9, "fraud": 6, "satisfaction": "87.5"},
        "bh-pa": {"criminal": 2, "public_order": 3, "robbery_theft": 1, "fraud": 0, "satisfaction": "95.8"}},
}

MEASURES = [
    ("钻石广场及周边夜间巡逻由每晚一次加密到两次，重点时段 20:00–24:00", "海北派出所 社区民警 齐海川", 20,
     [("progress", "已调整勤务表，增派 2 名辅警"), ("done", "本月盗窃警情环比下降，巡逻常态化")]),
    ("对辖区 12 家电动车充电点开展防盗检查并加装监控", "海北街道 平安办 鲁文静", 30,
     [("progress", "已检查 8 家，4 家完成加装")]),
    ("进社区开展反诈宣传 4 场，覆盖老年人群体", "海北派出所 反诈专员 耿思雨", 25, []),
]


def _rect(box) -> dict:
    x0, y0, x1, y1 = box
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _month(offset: int) -> datetime.date:
    month = timezone.localdate().replace(day=1)
    for _ in range(offset):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return month


def build_demo_safety(*, stdout: TextIO | None = None) -> int:
    """Jurisdictions, two months of grades, measures and feedback; returns the number of grades made."""
    if PoliceArea.objects.filter(code="fhl-pa").exists() or not Area.objects.filter(code="150300").exists():
        return 0
    users = {u.username: u for u in User.objects.filter(username__in=["fhl-police", "leader", "center"])}
    admin = users.get("center")  # the city command center's dispatcher
    made = 0
    with transaction.atomic():
        areas = {}
        for code, name, name_en, dept, population, box, covers in JURISDICTIONS:
            areas[code] = services.create_police_area(
                actor=None, name=name, name_en=name_en, code=code, population=population, geometry=_rect(box),
                department=Department.objects.filter(code=dept).first(),
                covers=list(Area.objects.filter(name__in=covers)))
        for offset in (2, 1):
            for code, values in FIGURES[offset].items():
                actor = users.get("fhl-police") if code == "fhl-pa" else admin
                grade = services.record_figures(areas[code], _month(offset), actor=actor, values=values)
                services.publish_grade(grade, actor=admin)
                made += 1
        red = Grade.objects.filter(police_area=areas["hb-pa"], month=_month(2)).get()
        for what, owner, days, feedback in MEASURES:
            measure = services.add_measure(red, actor=users.get("leader") or admin, what=what, owner=owner,
                                           due_on=red.month + datetime.timedelta(days=31 + days),
                                           department=Department.objects.filter(code="hb-police").first())
            for result, note in feedback:
                services.record_feedback(measure, actor=admin, result=result, note=note)
    if stdout is not None:
        stdout.write(f"平安等级 / Safety grades: {made}\n")
    return made


def reset_demo_safety() -> int:
    """Delete the demo jurisdictions (their grades, measures and feedback go with them)."""
    deleted, _detail = PoliceArea.objects.filter(code__in=[j[0] for j in JURISDICTIONS]).delete()
    return deleted
