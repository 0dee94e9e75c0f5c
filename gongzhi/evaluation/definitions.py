"""The indicators: each one's code, name, numerator and denominator (columns of the fact tables),
direction, and the definition shown as the page's tooltip. docs/indicators.md says the same at
length; a test checks that every indicator here has a section there.

Every count is a number of *cases* of one cohort: a case belongs to the month (local time,
``TIME_ZONE``) in which it was reported (``Case.created_at``), whatever month it is dispatched,
handled or closed in. See docs/indicators.md, "Which month a case counts in".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

#: The per-case counts summed in the fact tables (``MonthlyFact`` and ``AreaMonth``), in this order.
COUNTS = (
    "cases",             # every case of the cohort (also withdrawn, merged, still waiting)
    "reports",           # decided reports: filed, or not filed (withdrawn and merged left out)
    "valid",             # of those, filed
    "verified",          # verified (核查) at least once: closed, or sent back for rework
    "verified_on_time",  # … and never overdue while waiting for verification
    "dispatched",        # dispatched at least once
    "dispatched_right",  # … and never returned (退回)
    "handled",           # handled (处置完成) at least once
    "handled_on_time",   # … and never overdue while at the department (after the last approved extension)
    "reworked",          # sent back for rework (返工) at least once
    "due_close",         # due to close: closed, or still open and overdue (or every filed case; see Scheme)
    "filed",             # filed (立案), not merged
    "closed",            # closed (结案) now
    "closed_on_time",    # closed, and never overdue at any step (after the last approved extension)
    "responded",         # accepted (签收) by a department, never overdue before that
    # The answers behind 解决率 and 满意率: from an answered return visit (回访) …
    "visit_resolved", "visit_unresolved", "visit_satisfied", "visit_basic", "visit_unsatisfied",
    # … or, for a case without an answered visit, the reporter's own rating (if the scheme uses it).
    "rated_satisfied", "rated_basic", "rated_unsatisfied",
)


class Indicator(models.TextChoices):
    VALID_REPORT = "valid_report", _("有效上报率")
    TIMELY_VERIFY = "timely_verify", _("按时核查率")
    RIGHT_DISPATCH = "right_dispatch", _("准确派遣率")
    TIMELY_HANDLE = "timely_handle", _("按期处置率")
    CLOSE = "close", _("结案率")
    TIMELY_CLOSE = "timely_close", _("按期结案率")
    REWORK = "rework", _("返工率")
    RESPONSE = "response", _("响应率")
    RESOLVE = "resolve", _("解决率")
    SATISFY = "satisfy", _("满意率")


@dataclass(frozen=True)
class Definition:
    code: str
    numerator: tuple[str, ...]      # count columns added up (satisfaction: see ``weights``)
    denominator: tuple[str, ...]
    help: str                       # the tooltip (a lazy translation)
    lower_is_better: bool = False   # 返工率: the score uses 1 − rate


DEFINITIONS: dict[str, Definition] = {d.code: d for d in (
    Definition(Indicator.VALID_REPORT, ("valid",), ("reports",),
               _("有效上报率 = 立案数 ÷ 已受理的上报数（立案 + 不予立案；撤回、合并和待受理的不计）。"
                 "按上报月份统计。")),
    Definition(Indicator.TIMELY_VERIFY, ("verified_on_time",), ("verified",),
               _("按时核查率 = 按时核查的案件 ÷ 已核查的案件。已核查：已结案或被核查退回返工过；"
                 "按时：等待核查期间从未超期。")),
    Definition(Indicator.RIGHT_DISPATCH, ("dispatched_right",), ("dispatched",),
               _("准确派遣率 = 从未被退回的案件 ÷ 派遣过的案件。一次退回即算派遣不准确，改派后也一样。")),
    Definition(Indicator.TIMELY_HANDLE, ("handled_on_time",), ("handled",),
               _("按期处置率 = 按期处置的案件 ÷ 处置完成过的案件。按期：在部门办理期间从未超期；"
                 "批准延期后以新期限为准。")),
    Definition(Indicator.CLOSE, ("closed",), ("due_close",),
               _("结案率 = 已结案 ÷ 应结案。应结案：已结案的，加上仍未办结但已超期的（方案可改为全部立案数）。")),
    Definition(Indicator.TIMELY_CLOSE, ("closed_on_time",), ("due_close",),
               _("按期结案率 = 按期结案 ÷ 应结案。按期结案：已结案，且派遣、处置、核查各环节都未超期"
                 "（批准延期后以新期限为准）。")),
    Definition(Indicator.REWORK, ("reworked",), ("handled",),
               _("返工率 = 核查不通过返工过的案件 ÷ 处置完成过的案件。越低越好，计分用 1 − 返工率。"), True),
    Definition(Indicator.RESPONSE, ("responded",), ("filed",),
               _("响应率 = 按时响应的案件 ÷ 立案数。按时响应：已被部门签收，且签收前的派遣、签收环节从未超期。")),
    Definition(Indicator.RESOLVE, ("resolved_yes",), ("resolved_yes", "resolved_no"),
               _("解决率 = 回答“已解决”的案件 ÷ 有回答的案件。以回访答复为准；没有回访答复时，"
                 "按上报人的评价（满意、基本满意算已解决，不满意算未解决）。")),
    Definition(Indicator.SATISFY, ("sat_satisfied", "sat_basic"), ("sat_satisfied", "sat_basic", "sat_unsatisfied"),
               _("满意率 = (满意 + 基本满意 × 折算系数) ÷ 有评价的案件。以回访答复为准，没有时按上报人的评价。")),
)}


def derive(counts: dict[str, int], *, use_rating: bool = True, due_to_close: str = "due") -> dict[str, int]:
    """The stored counts plus the columns the definitions read that depend on the scheme:
    ``resolved_yes``/``resolved_no`` and ``sat_*`` (the visit's answer, else the reporter's rating
    when ``use_rating``), and ``due_close`` = every filed case when ``due_to_close == "filed"``."""
    c = {name: int(counts.get(name) or 0) for name in COUNTS}
    rated = (lambda n: c[n]) if use_rating else (lambda n: 0)
    c["resolved_yes"] = c["visit_resolved"] + rated("rated_satisfied") + rated("rated_basic")
    c["resolved_no"] = c["visit_unresolved"] + rated("rated_unsatisfied")
    c["sat_satisfied"] = c["visit_satisfied"] + rated("rated_satisfied")
    c["sat_basic"] = c["visit_basic"] + rated("rated_basic")
    c["sat_unsatisfied"] = c["visit_unsatisfied"] + rated("rated_unsatisfied")
    if due_to_close == "filed":
        c["due_close"] = c["filed"]
    return c
