"""The case lifecycle in one place: statuses, sources, steps, and which transition leaves which state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    REPORTED = "reported", _("待受理")
    FILED = "filed", _("已立案待派遣")
    DISPATCHED = "dispatched", _("已派遣待签收")
    RETURNED = "returned", _("已退回待改派")
    IN_PROGRESS = "in_progress", _("处置中")
    HANDLED = "handled", _("已处置待核查")
    CLOSED = "closed", _("已结案")
    NOT_FILED = "not_filed", _("不予立案")
    WITHDRAWN = "withdrawn", _("已撤回")
    MERGED = "merged", _("已合并")


#: States in which a case is still moving (the sweeper and the queues look only at these).
OPEN_STATES = (Status.REPORTED, Status.FILED, Status.DISPATCHED, Status.RETURNED, Status.IN_PROGRESS, Status.HANDLED)
TERMINAL_STATES = (Status.CLOSED, Status.NOT_FILED, Status.WITHDRAWN, Status.MERGED)


class Source(models.TextChoices):
    PATROL = "patrol", _("网格员巡查")
    RESIDENT = "resident", _("居民上报")
    HOTLINE = "hotline", _("12345 热线")
    DEVICE = "device", _("设备告警")
    API = "api", _("接口")
    IMPORT = "import", _("批量导入")


class Step(models.TextChoices):
    """The timed steps. ``handle`` runs from dispatch until the department reports back (处理反馈)."""

    DISPATCH = "dispatch", _("派遣")
    HANDLE = "handle", _("处置")
    VERIFY = "verify", _("核查")


class LimitUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")
    NATURAL_HOURS = "natural_hours", _("自然小时")


class AreaClass(models.TextChoices):
    A = "A", _("A 类（核心区）")
    B = "B", _("B 类")
    C = "C", _("C 类")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class LocateStatus(models.TextChoices):
    LOCATED = "located", _("已定位")
    TO_LOCATE = "to_locate", _("待定位")


#: The step whose clock runs in each state (None: no clock).
STEP_OF_STATE = {
    Status.FILED: Step.DISPATCH,
    Status.RETURNED: Step.DISPATCH,
    Status.DISPATCHED: Step.HANDLE,
    Status.IN_PROGRESS: Step.HANDLE,
    Status.HANDLED: Step.VERIFY,
}

#: transition name → states it may start from. Services check this before anything else.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "check": (Status.REPORTED,),
    "file": (Status.REPORTED,),
    "not_file": (Status.REPORTED,),
    "withdraw": (Status.REPORTED,),
    "dispatch": (Status.FILED, Status.RETURNED),
    "accept": (Status.DISPATCHED,),
    "return": (Status.DISPATCHED, Status.IN_PROGRESS),
    "request_extension": (Status.DISPATCHED, Status.IN_PROGRESS),
    "decide_extension": (Status.DISPATCHED, Status.IN_PROGRESS),
    "handle": (Status.IN_PROGRESS,),
    "verify": (Status.HANDLED,),
    "rate": (Status.CLOSED,),
    "merge": (Status.REPORTED, Status.FILED, Status.RETURNED),
    "locate": OPEN_STATES,
    "set_urgent": OPEN_STATES,
}
