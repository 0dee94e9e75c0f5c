"""Demo data for the portal in 新城社区 (凤凰小巷; seeds 000, 002, 003): the demo resident (login
``resident``, 1号楼 101) has a verified home; garbage is collected at 7:30, 12:30 and 19:30 every day —
on 元旦 once, at 9:00 —, the clinic keeps working-day hours, the legal adviser sits on Wednesdays;
notices (one pinned, one for 1号楼 to be passed on door to door by its 栋长, one public); the 公开栏 with
the rules of procedure and November's income and spending in two versions (the second corrects a line);
service points around the alley and the 喜邻 merchant. Everything through the service functions;
nothing twice. Invented names only."""

from __future__ import annotations

import datetime
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from gongzhi.areas.models import Area
from gongzhi.orgs.models import User

from . import disclosures, notices, residency, schedules, servicemap
from .models import Disclosure, ServicePointType, ServiceSchedule

COMMUNITY = "新城社区"
BUILDING = "凤凰小巷1号楼"
GARBAGE = "凤凰小巷垃圾清运"


def _next_new_year(today: datetime.date) -> datetime.date:
    return datetime.date(today.year + 1, 1, 1)


def build_demo_portal(*, stdout: TextIO | None = None) -> int:
    """Returns the number of schedules created (0 when the demo city is missing or this ran before)."""
    community = Area.objects.filter(name=COMMUNITY).first()
    building = Area.objects.filter(name=BUILDING).first()
    users = {u.username: u for u in User.objects.filter(
        username__in=["resident", "xc-secretary", "fh-buildinghead", "fh-gridworker"])}
    if community is None or building is None or len(users) < 4 or ServiceSchedule.objects.filter(title=GARBAGE).exists():
        return 0
    secretary = users["xc-secretary"]
    today = timezone.localdate()
    with transaction.atomic():
        home = residency.request_residency(users["resident"], area=building, unit="101")
        residency.verify(users["fh-buildinghead"], home, approve=True)

        garbage = schedules.create_schedule(
            secretary, area=community, kind="garbage", title=GARBAGE, weekdays=[], times=["07:30", "12:30", "19:30"],
            calendar_rule="every_day", place="巷口清运车停靠点",
            note="凤凰小巷不设垃圾桶：清运车定时进巷，请按时投放。", valid_from=today - datetime.timedelta(days=365))
        schedules.set_exception(secretary, garbage, date=_next_new_year(today), times=["09:00"],
                                note="元旦：仅 09:00 清运一次")
        schedules.create_schedule(secretary, area=community, kind="clinic", title="社区卫生服务站门诊",
                                  weekdays=[], times=["08:00-12:00", "14:30-17:30"], calendar_rule="workdays",
                                  place="新城社区党群服务中心一楼", valid_from=today - datetime.timedelta(days=365))
        schedules.create_schedule(secretary, area=community, kind="legal", title="法律顾问坐班", weekdays=[2],
                                  times=["09:00-12:00"], calendar_rule="not_on_holidays",
                                  place="社区党群服务中心调解室", valid_from=today - datetime.timedelta(days=365))
        schedules.create_schedule(secretary, area=community, kind="inspection", title="星火工作站联合检查日",
                                  weekdays=[2], times=["09:00-17:00"], calendar_rule="not_on_holidays",
                                  valid_from=today - datetime.timedelta(days=365))

        notices.publish_notice(secretary, area=community, title="冬季供暖期间楼道防火提示", pinned=True,
                               body="供暖期间请勿在楼道堆放杂物、停放电动车，发现隐患请拨打网格员电话。",
                               valid_from=today - datetime.timedelta(days=10),
                               valid_until=today + datetime.timedelta(days=90))
        notices.publish_notice(secretary, area=building, title="1号楼周六上午停水检修", needs_relay=True,
                               body="本周六 8:00—12:00 更换1号楼供水阀门，请提前储水。栋长请逐户告知。",
                               valid_from=today, valid_until=today + datetime.timedelta(days=7))
        notices.publish_notice(secretary, area=community, title="新城社区冬季义诊", is_public=True,
                               body="本月第三个周六上午，社区卫生服务站在党群服务中心门前义诊，免费测血压血糖。",
                               valid_from=today - datetime.timedelta(days=3),
                               valid_until=today + datetime.timedelta(days=30))

        rules = disclosures.create_disclosure(secretary, area=community, kind=Disclosure.Kind.RULES,
                                              title="凤凰小巷居民议事规则", is_public=True)
        disclosures.publish_version(secretary, rules, body=(
            "一、议事范围：巷内公共设施、环境卫生、停车秩序、自治金使用。\n"
            "二、议事程序：居民提议→网格长汇总→议事会讨论→全体住户表决（过半数同意）→公示七天。\n"
            "三、自治金每月公示收支，接受全体住户监督。"))
        start = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        end = today.replace(day=1) - datetime.timedelta(days=1)
        finance = disclosures.create_disclosure(
            secretary, area=community, kind=Disclosure.Kind.FINANCE, period_start=start, period_end=end,
            title=f"凤凰小巷居民自治金收支公示（{start.year}年{start.month}月）")
        lines = [
            {"date": start.isoformat(), "item": "上月结余转入", "income": "3200.00", "expense": "0", "note": ""},
            {"date": (start + datetime.timedelta(days=4)).isoformat(), "item": "巷口路灯维修", "income": "0",
             "expense": "460.00", "note": "附发票"},
            {"date": (start + datetime.timedelta(days=14)).isoformat(), "item": "垃圾清运车停靠点地面硬化",
             "income": "0", "expense": "1280.00", "note": "议事会决定"},
        ]
        disclosures.publish_version(secretary, finance, lines=lines)
        lines[1] = {**lines[1], "expense": "430.00", "note": "附发票（更正：原录入460元有误）"}
        disclosures.publish_version(secretary, finance, lines=lines, change_note="更正路灯维修金额：460 元改为 430 元")

        types = {t.code: t for t in ServicePointType.objects.all()}
        places = {a.name: a for a in Area.objects.filter(name__in=[
            "凤凰小巷一网格", "凤凰小巷二网格", "凤凰小巷三网格", "凤凰小巷2号楼", "凤凰小巷4号楼", "凤凰小巷6号楼"])}
        specs = [
            ("service_station", "新城社区党群服务中心", community, "综合窗口 周一至周五 8:30—17:30", "0473-0000001"),
            ("clinic", "新城社区卫生服务站", places["凤凰小巷二网格"], "工作日 8:00—12:00，14:30—17:30", "0473-0000002"),
            ("legal", "社区法律服务点", places["凤凰小巷2号楼"], "每周三 9:00—12:00", ""),
            ("day_care", "凤凰小巷老年人日间照料中心", places["凤凰小巷4号楼"], "每天 8:00—18:00", "0473-0000003"),
            ("charging", "电动自行车充电桩（10 口）", places["凤凰小巷6号楼"], "全天", ""),
            ("market", "凤凰便民菜店", places["凤凰小巷三网格"], "每天 6:30—20:00", ""),
        ]
        for code, name, area, hours, phone in specs:
            servicemap.create_point(secretary, type=types[code], name=name, area=area, lon=area.label_lon,
                                    lat=area.label_lat, hours=hours, phone=phone)
        servicemap.import_merchants(secretary, community)
    if stdout:
        stdout.write("社区门户 / Portal: 4 schedules (garbage 7:30 12:30 19:30), 3 notices, 公开栏 with history, "
                     f"{len(specs)} service points\n")
    return 4


def reset_demo_portal(areas) -> None:
    """Delete what the portal holds in ``areas`` before the demo city is reset (history rows included:
    the demo's own, nobody else's)."""
    from . import models as m

    with transaction.atomic():
        m.ServicePoint.objects.filter(area__in=areas).delete()
        # (a queryset delete does not go through the rows' append-only delete(): only the demo reset does this)
        m.DisclosureAttachment.objects.filter(version__disclosure__area__in=areas).delete()
        m.DisclosureVersion.objects.filter(disclosure__area__in=areas).delete()
        m.Disclosure.objects.filter(area__in=areas).delete()
        m.ScheduleException.objects.filter(schedule__area__in=areas).delete()
        m.ServiceSchedule.objects.filter(area__in=areas).delete()
        m.Notice.objects.filter(area__in=areas).delete()
        m.Residency.objects.filter(area__in=areas).delete()
