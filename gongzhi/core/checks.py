"""System checks shown to operators (``gongzhi check``) and, for the calendar, to administrators."""

from __future__ import annotations

from django.core.checks import Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext as _

CALENDAR_TAG = "calendar"


@register(CALENDAR_TAG)
def check_calendar_coverage(app_configs=None, **kwargs) -> list[Warning]:
    """Warn (gongzhi.W001) when this year's or next year's working calendar has no rows.

    Never fails: before ``migrate`` (no tables) or without a reachable database it reports nothing.
    """
    from . import calendar

    try:
        years = calendar.years_needing_entry()
    except DatabaseError:
        return []
    if not years:
        return []
    return [
        Warning(
            _("%(years)s 年的工作日历尚未录入，期限按周一至周五计算。") % {"years": "、".join(map(str, years))},
            hint=_("在管理后台“工作日历”中用“生成下一年（周一至周五）”操作生成该年，再逐日修改节假日和调休上班日。"),
            obj="core.CalendarDay",
            id="gongzhi.W001",
        )
    ]
