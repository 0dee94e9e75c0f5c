"""What the screen and the monthly report read from the other apps: the indicators and monthly
rankings of ``gongzhi.evaluation`` and the five-colour safety grades of ``gongzhi.safety``.

Both are read through their Python interfaces (``evaluation.queries``, ``safety.queries``); a
deployment without the safety app (or before its tables exist) simply shows no grades.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import DatabaseError

from gongzhi.areas.models import Area, AreaLevel

if TYPE_CHECKING:
    from .queries import Scope

RANK_ROWS = 10  # on the wall screen
LEVEL_ORDER = ("green", "blue", "yellow", "red", "black")


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def previous_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def ranking_level(tops: list[Area] | None) -> str:
    """The level ranked for a jurisdiction: streets for a city or district (or everything), the level
    below for a street or lower (a street ranks its communities, a community its grids)."""
    levels = list(AreaLevel.objects.order_by("rank").values_list("rank", "slug"))
    street_rank = next((rank for rank, slug in levels if slug == "street"), None)
    if street_rank is None:
        return "street"
    target = street_rank
    if tops:
        top = min(a.level.rank for a in tops)
        target = max(top + 1, street_rank)
    for rank, slug in levels:
        if rank >= target and slug != "building":
            return slug
    return "street"


def _within(tops: list[Area] | None) -> Area | None:
    return tops[0] if tops and len(tops) == 1 else None


def ranking(month: datetime.date, tops: list[Area] | None, covers) -> tuple[str, list, tuple]:
    """(level, RankRow list, pending months) for ``month`` inside the scope (``covers(path)``); with
    pending months (never counted: 尚未统计, the worker counts them) the list is empty."""
    from gongzhi.evaluation.queries import monthly_ranking

    level = ranking_level(tops)
    rows = monthly_ranking(month, level=level, within=_within(tops))
    if rows.pending:
        return level, [], rows.pending
    return level, [r for r in rows if covers(r.area.path)], ()


def _scope_tops(scope: Scope) -> list[Area] | None:
    if scope.everything:
        return None
    return list(Area.objects.filter(pk__in=scope.area_ids).select_related("level").defer("geometry"))


def ranking_for_screen(scope: Scope, today: datetime.date) -> dict | None:
    """The current month's ranking (to date), or last month's while this one has no score yet (or was
    never counted). ``pending``: the month was never counted — no rows, ``note`` says 尚未统计."""
    from django.utils.translation import gettext as _

    tops = _scope_tops(scope)
    month = month_start(today)
    level, rows, pending = ranking(month, tops, scope.covers)
    if not any(r.score is not None for r in rows):
        month = previous_month(month)
        level, rows, pending = ranking(month, tops, scope.covers)
    level_name = AreaLevel.objects.filter(slug=level).values_list("name", flat=True).first() or level
    return {
        "month": month.strftime("%Y-%m"), "level": level, "level_name": str(level_name),
        "pending": bool(pending), "note": _("尚未统计，几分钟内显示") if pending else "",
        "rows": [{"name": str(r.area.name), "score": None if r.score is None else float(r.score),
                  "rank": r.rank, "change": r.change} for r in rows[:RANK_ROWS]],
        "total": len(rows),
    }


def safety_grades(month: datetime.date, tops: list[Area] | None) -> list | None:
    """The month's published grades inside the tops (``safety.queries.month_grades`` rows), or None
    when the safety app is not installed."""
    try:
        from gongzhi.safety.queries import month_grades
    except ImportError:
        return None
    try:
        if tops is None:
            return month_grades(month)
        seen: dict[int, tuple] = {}
        for top in tops:
            for row in month_grades(month, within=top):
                seen.setdefault(row[0].pk, row)
        return sorted(seen.values(), key=lambda row: row[0].code)
    except DatabaseError:  # the app is there but its tables are not (a migration still to run)
        return None


def latest_published_month(today: datetime.date) -> datetime.date | None:
    """The latest month, up to this one, with published safety grades (they are published some days
    after the month ends, so last month's often are not yet)."""
    try:
        from gongzhi.safety.models import Grade

        return (Grade.objects.filter(status=Grade.Status.PUBLISHED, month__lte=month_start(today))
                .order_by("-month").values_list("month", flat=True).first())
    except (ImportError, DatabaseError):
        return None


def safety_for_screen(scope: Scope, today: datetime.date) -> dict | None:
    """Counts per level for the latest month with published grades."""
    tops = _scope_tops(scope)
    month = latest_published_month(today) or previous_month(month_start(today))
    rows = safety_grades(month, tops)
    if rows is None:
        return None
    if not rows:
        return {"month": month.strftime("%Y-%m"), "levels": [], "alerts": []}
    from gongzhi.safety.models import COLOURS, Level

    counts = dict.fromkeys(LEVEL_ORDER, 0)
    for _pa, level, _figures in rows:
        counts[level] = counts.get(level, 0) + 1
    return {
        "month": month.strftime("%Y-%m"),
        "levels": [{"code": code, "name": str(Level(code).label), "colour": COLOURS.get(code, "#9e9e9e"),
                    "count": counts[code]} for code in LEVEL_ORDER if code in Level.values],
        "alerts": [{"name": pa.name, "level": level, "colour": COLOURS.get(level, "#9e9e9e")}
                   for pa, level, _f in rows if level in ("red", "black")][:8],
    }
