"""Demo data for joint inspections (seed 001, 星火工作站): 33 premises in 凤凰岭街道's 凤凰小巷 grids
with invented operators, and the sample checklist (``checklists/data/joint_inspection.xlsx``),
uploaded and activated. Called by ``gongzhi demo`` after the demo city; does nothing twice."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area

from . import services
from .models import Premises, PremisesType

CODE_PREFIX = "FHL-DEMO-"
GRIDS = ("凤凰小巷一网格", "凤凰小巷二网格", "凤凰小巷三网格")

# (name, type code, operator, risk, licences: (kind, days from today until expiry or None))
PREMISES = [
    ("凤凰便民超市", "supermarket", "韩立新", "low", [("business", 400), ("food", 200)]),
    ("老街坊面馆", "restaurant", "焦翠萍", "medium", [("business", 300), ("food", 20)]),
    ("鑫源五金店", "shop", "孔德胜", "low", [("business", 700)]),
    ("惠民大药房凤凰店", "pharmacy", "谭雅琴", "low", [("business", 500), ("other", 90)]),
    ("小巷烧烤", "restaurant", "郎振宇", "high", [("business", 120), ("food", -5)]),
    ("凤凰小巷12号出租房", "rental", "龚桂兰", "medium", []),
    ("凤凰小巷15号群租房", "group_rental", "宁宝山", "high", []),
    ("乐享棋牌室", "chess_room", "计春生", "high", [("business", 25)]),
    ("悦心足疗", "massage", "班晓丽", "high", [("business", 260), ("special_trade", 10)]),
    ("新城农贸市场", "market", "新城市场管理有限公司", "medium", [("business", 900), ("food", 180)]),
    ("凤凰理发店", "shop", "车文涛", "low", [("business", 640)]),
    ("兴旺粮油店", "shop", "邬秀英", "low", [("business", 350), ("food", 28)]),
    ("星光KTV", "entertainment", "翁志刚", "high", [("business", 410), ("entertainment", 15), ("fire", 60)]),
    ("青年单身公寓", "single_apartment", "凤凰物业", "medium", [("business", 520)]),
    ("凤凰小巷改造工地", "construction_site", "乌海城建第三工程队", "high", [("construction", 75)]),
    ("好味道包子铺", "restaurant", "滑美玲", "medium", [("business", 230), ("food", 140)]),
    ("鲜果园水果店", "shop", "秦国栋", "low", [("business", 480), ("food", 300)]),
    ("平安电动车维修", "shop", "贝振华", "high", [("business", 45)]),
    ("凤凰小巷21号出租房", "rental", "苏凤霞", "low", []),
    ("晨光文具店", "shop", "屈建军", "low", [("business", 800)]),
    ("家常菜馆", "restaurant", "牧丽娟", "medium", [("business", 365), ("food", 5)]),
    ("美佳美容院", "shop", "景雪梅", "medium", [("business", 210)]),
    ("诚信烟酒店", "shop", "邴志强", "low", [("business", 330), ("other", 66)]),
    ("凤凰小巷30号群租房", "group_rental", "覃大勇", "high", []),
    ("快乐网吧", "entertainment", "巫永刚", "high", [("business", 150), ("entertainment", 40), ("fire", -20)]),
    ("老王修鞋铺", "shop", "王秀山", "low", []),
    ("鸿运麻将馆", "chess_room", "沙金凤", "high", []),
    ("新城药店", "pharmacy", "鲁明哲", "low", [("business", 610), ("other", 365)]),
    ("凤凰洗衣店", "shop", "宫丽萍", "low", [("business", 450)]),
    ("小巷早餐铺", "restaurant", "单玉霞", "medium", [("business", 95), ("food", 12)]),
    ("邻里生鲜店", "supermarket", "厉国华", "medium", [("business", 270), ("food", 70)]),
    ("凤凰小巷8号出租房", "rental", "仇占军", "low", []),
    ("安心电动车充电站", "other", "凤凰物业", "high", [("business", 380), ("fire", 33)]),
]


def _points(area: Area, count: int) -> list[tuple[float, float]]:
    """Points spread along the grid's north and south edges (away from its buildings and alley)."""
    from shapely.geometry import shape

    west, south, east, north = shape(area.geometry).bounds
    points = []
    for i in range(count):
        row_y = 0.12 if i % 2 == 0 else 0.88
        x = 0.08 + 0.84 * (i // 2) / max(1, (count + 1) // 2 - 1)
        points.append((round(west + (east - west) * x, 6), round(south + (north - south) * row_y, 6)))
    return points


def build_demo_inspections(*, stdout: TextIO | None = None) -> int:
    """The demo premises and the sample checklist; returns the number of premises created."""
    grids = [Area.objects.filter(name=name).first() for name in GRIDS]
    if any(g is None or not g.geometry for g in grids) or Premises.objects.filter(
            code__startswith=CODE_PREFIX).exists():
        return 0
    types = {t.code: t for t in PremisesType.objects.all()}
    today = timezone.localdate()
    created = 0
    per_grid = -(-len(PREMISES) // len(grids))
    with transaction.atomic():
        for g, grid in enumerate(grids):
            chunk = PREMISES[g * per_grid:(g + 1) * per_grid]
            for (name, kind, operator, risk, licences), (lon, lat) in zip(chunk, _points(grid, len(chunk)),
                                                                          strict=True):
                number = created + 1
                services.create_premises(
                    actor=None, name=name, type=types[kind], code=f"{CODE_PREFIX}{number:03d}",
                    address=f"凤凰岭街道新城社区凤凰小巷{number}号", lon=lon, lat=lat, operator_name=operator,
                    contact_phone=f"1390000{2000 + number:04d}", risk_level=risk,
                    licences=[{"kind": lk, "number": f"DEMO{number:03d}{lk[:2].upper()}{i}",
                               "valid_until": today + datetime.timedelta(days=days) if days is not None else None}
                              for i, (lk, days) in enumerate(licences)])
                created += 1
        _sample_checklist(stdout)
    if stdout is not None:
        stdout.write(f"场所 / Premises: {created}\n")
    return created


def _sample_checklist(stdout: TextIO | None) -> None:
    from gongzhi.checklists.sample import load_sample

    version = load_sample()
    if stdout is not None and version is not None:
        stdout.write(f"检查表 / Checklist: {version}\n")


def reset_demo_premises() -> int:
    """Delete the demo's premises (before the demo city is reset; their inspections go first)."""
    count, _ = Premises.objects.filter(code__startswith=CODE_PREFIX).delete()
    return count
