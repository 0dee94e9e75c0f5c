"""Demo data for 喜邻 points (seed 002): two volunteer activities in 新城社区 — one last week that the
demo resident (login ``resident``) served at, checked out and waiting for the organiser's
confirmation (log in as ``xc-secretary`` and press 确认并发放积分: the resident then has points to
buy a voucher), one next week open for sign-up — and a partner merchant with two offers.

No points are credited by the demo itself: the ledger is append-only (docs/points.md), and a demo
that wrote ledger rows could never be reset. Everything goes through the service functions (actor
``None``: the system, or the resident for what a resident does). Called by ``gongzhi demo``; nothing
twice."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import User

from . import services
from .models import Activity, Merchant

COMMUNITY = "新城社区"
RESIDENT = "resident"
ORGANISER = "xc-secretary"  # 新城社区's party secretary organises the activities
MERCHANT = "凤凰便民超市（喜邻商户）"


def build_demo_points(*, stdout: TextIO | None = None) -> int:
    """Returns the number of activities created (0 when the demo city is missing or this ran before)."""
    community = Area.objects.filter(name=COMMUNITY).first()
    resident = User.objects.filter(username=RESIDENT).first()
    organiser = User.objects.filter(username=ORGANISER).first()
    if community is None or resident is None or organiser is None or Merchant.objects.filter(name=MERCHANT).exists():
        return 0
    now = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)  # 9:00 local
    last_week = now - datetime.timedelta(days=7)
    with transaction.atomic():
        past = services.create_activity(
            actor=None, area=community, title="凤凰小巷环境清洁日", place="凤凰小巷东巷口",
            starts_at=last_week, ends_at=last_week + datetime.timedelta(hours=3), slots=20,
            points_per_hour=10, cap_points=30, description="清理小巷杂物、劝导乱堆乱放", organiser=organiser)
        signup = services.sign_up(past, actor=resident, now=last_week - datetime.timedelta(days=2))
        services.check_in(signup, actor=None, now=last_week)
        services.check_out(signup, actor=None, now=last_week + datetime.timedelta(hours=2, minutes=30))
        upcoming = now + datetime.timedelta(days=7)
        services.create_activity(
            actor=None, area=community, title="独居老人探访", place="新城社区党群服务中心",
            starts_at=upcoming, ends_at=upcoming + datetime.timedelta(hours=2), slots=10,
            points_per_hour=15, cap_points=30, description="两人一组，探访独居老人并登记需求",
            organiser=organiser)
        merchant = services.create_merchant(actor=None, area=community, name=MERCHANT,
                                            address="凤凰岭街道新城社区凤凰小巷1号", phone="13900002001")
        services.create_offer(merchant, actor=None, title="日用品九折", gives="购物满 50 元九折（限一次）",
                              price=10, per_person_limit=2)
        services.create_offer(merchant, actor=None, title="鸡蛋一盒", gives="鲜鸡蛋一盒（10 枚）", price=20,
                              stock=50)
    count = Activity.objects.filter(area=community).count()
    if stdout is not None:
        stdout.write(f"喜邻积分 / Volunteer points: {count} activities, 1 partner merchant\n")
    return count


def reset_demo_points(areas) -> None:
    """Delete the activities (with their sign-ups), offers and merchants in ``areas`` before the demo
    city is reset. Anything the ledger points at (an award someone confirmed, a voucher bought) is
    protected: the reset then stops with the demo's "still referenced" message, as for cases."""
    from .models import Offer, Signup

    with transaction.atomic():
        Signup.objects.filter(activity__area__in=areas).delete()
        Activity.objects.filter(area__in=areas).delete()
        Offer.objects.filter(merchant__area__in=areas).delete()
        Merchant.objects.filter(area__in=areas).delete()
