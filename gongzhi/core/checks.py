"""System checks shown to operators (``gongzhi check``) and, for the calendar, to administrators."""

from __future__ import annotations

from django.core.checks import Error, Tags, Warning, register
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


@register()
def check_audit_retention(app_configs=None, **kwargs) -> list[Error]:
    """Refuse (gongzhi.E010) an audit retention shorter than six calendar months (等保 三级)."""
    from django.conf import settings

    from .audit import MIN_RETENTION_DAYS

    days = getattr(settings, "AUDIT_RETENTION_DAYS", None)
    if isinstance(days, int) and not isinstance(days, bool) and days >= MIN_RETENTION_DAYS:
        return []
    return [
        Error(
            _("审计日志保留天数 AUDIT_RETENTION_DAYS=%(days)s 过短，至少 %(min)s 天（六个月）。")
            % {"days": days, "min": MIN_RETENTION_DAYS},
            hint=_("把 AUDIT_RETENTION_DAYS 设为 %(min)s 或更大（默认 365）。") % {"min": MIN_RETENTION_DAYS},
            id="gongzhi.E010",
        )
    ]


@register(Tags.security, deploy=True)
def check_audit_chain_key(app_configs=None, **kwargs) -> list[Warning]:
    """Warn (gongzhi.W010) when the audit chain key is derived from SECRET_KEY (rotating it breaks the chain)."""
    from django.conf import settings

    if getattr(settings, "AUDIT_CHAIN_KEY", ""):
        return []
    return [
        Warning(
            _("未设置 AUDIT_CHAIN_KEY：审计哈希链的密钥由 SECRET_KEY 派生，更换 SECRET_KEY 后旧记录将无法校验。"),
            hint=_("设置一个单独保管的 AUDIT_CHAIN_KEY（或 AUDIT_CHAIN_KEY_FILE），并且不要更换。"),
            id="gongzhi.W010",
        )
    ]
