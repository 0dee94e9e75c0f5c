"""/api/v1/evaluation: indicators and the monthly ranking (read only; the read door decides the areas)."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from gongzhi.areas.models import Area
from gongzhi.core.api import errors
from gongzhi.core.scoping import get_visible_or_404, jurisdiction

from . import counting, queries
from .models import Scheme

router = Router(tags=["evaluation 考核评价"])


class EvaluationRateOut(Schema):
    percent: str | None = Field(..., description="百分比，两位小数；没有可统计的案件时为 null")
    numerator: str
    denominator: int


class EvaluationFiguresOut(Schema):
    score: str | None = Field(..., description="综合得分 0–100（按考核方案加权）")
    cases: int
    counts: dict[str, int]
    rates: dict[str, EvaluationRateOut]


PENDING_HELP = "尚未统计的月份（YYYY-MM）：后台正在统计，几分钟内可查；此时 figures 为 null、rows 为空"


class EvaluationIndicatorsOut(Schema):
    area: int | None
    department: int | None = None
    start: datetime.date
    end: datetime.date
    scheme: str
    figures: EvaluationFiguresOut | None = Field(..., description="统计结果；所需月份尚未统计时为 null")
    pending: list[str] = Field([], description=PENDING_HELP)
    message: str | None = Field(None, description="尚未统计时的说明")


class EvaluationRankRowOut(Schema):
    id: int
    name: str
    code: str | None
    score: str | None
    rank: int | None
    previous_rank: int | None
    change: int | None = Field(..., description="名次变化：上月名次 − 本月名次，正数为上升")
    previous_score: str | None
    score_change: str | None
    figures: EvaluationFiguresOut


class EvaluationRankingOut(Schema):
    month: str
    level: str
    scheme: str
    rows: list[EvaluationRankRowOut]
    pending: list[str] = Field([], description=PENDING_HELP)
    message: str | None = Field(None, description="尚未统计时的说明")


def _pending(months) -> dict:
    """The answer's ``pending`` and ``message``: a month never counted is counted by the worker, never
    by a request (docs/indicators.md)."""
    labels = [f"{m:%Y-%m}" for m in months]
    if not labels:
        return {"pending": [], "message": None}
    return {"pending": labels, "message": _("%(months)s 的数据尚未统计：后台正在统计，几分钟内即可查询。") % {
        "months": "、".join(labels)}}


def _figures(figures) -> dict:
    return {"figures": None if figures.pending else figures.as_dict(), **_pending(figures.pending)}


class IndicatorsQuery(Schema):
    area: int | None = Field(None, description="区域 id（含下级）；不填为本人管辖的第一个区域")
    department: int | None = Field(None, description="部门 id：该部门在本人管辖范围内办理的案件（与 area 二选一）")
    start: datetime.date | None = Field(None, description="起始日期（含），默认本月 1 日")
    end: datetime.date | None = Field(None, description="结束日期（含），默认今天")
    scheme: str | None = Field(None, max_length=40, description="考核方案代码，默认为默认方案")


class RankingQuery(Schema):
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM，默认上月")
    level: str = Field("street", description="district、street、community、grid 或 department")
    scheme: str | None = Field(None, max_length=40)


def _require_scope(user) -> None:
    if jurisdiction(user).empty:
        raise PermissionDenied(_("只有有管辖区域的人员可以查看考核指标"))


def _spec(code: str | None):
    try:
        return queries.scheme_spec(code)
    except Scheme.DoesNotExist:
        raise ValidationError({"scheme": [_("没有这个考核方案")]}) from None


@router.get("/indicators", response={200: EvaluationIndicatorsOut, **errors(400, 403, 404)})
def indicators(request, q: Query[IndicatorsQuery]):
    """The figures of one area (its subtree) over [start, end]: counts, each indicator's rate, the
    scheme's score. Definitions: docs/indicators.md. A month never counted yet: ``figures`` null and
    ``pending`` lists it (尚未统计; the worker counts it within minutes)."""
    user = request.user
    _require_scope(user)
    from django.utils import timezone

    if q.area is not None:
        area = get_visible_or_404(Area.objects.all(), user, pk=q.area)
    else:
        scope = jurisdiction(user)
        area = (Area.objects.filter(parent__isnull=True).order_by("path").first() if scope.everything
                else Area.objects.filter(path__in=scope.paths).order_by("path").first())
    today = timezone.localdate()
    start = q.start or counting.month_start(today)
    end = q.end or today
    if end < start or (end - start).days > 366 * 3:
        raise ValidationError({"end": [_("结束日期须不早于起始日期，且跨度不超过三年")]})
    spec = _spec(q.scheme)
    if q.department is not None:
        from gongzhi.orgs.models import Department

        department = get_visible_or_404(Department.objects.all(), user, pk=q.department)
        figures = queries.indicators(department, start, end, scheme=spec, viewer=user)
        return {"area": None, "department": department.pk, "start": start, "end": end, "scheme": spec.code,
                **_figures(figures)}
    figures = queries.indicators(area, start, end, scheme=spec)
    return {"area": area.pk if area else None, "start": start, "end": end, "scheme": spec.code,
            **_figures(figures)}


@router.get("/ranking", response={200: EvaluationRankingOut, **errors(400, 403)})
def ranking(request, q: Query[RankingQuery]):
    """The monthly ranking of one level's areas (or departments) inside the caller's jurisdiction,
    with the change from the previous month. Either month never counted yet: ``rows`` empty and
    ``pending`` lists it (尚未统计)."""
    from django.utils import timezone

    from .views import RANK_LEVELS, parse_month

    user = request.user
    _require_scope(user)
    if q.level not in (*RANK_LEVELS, "department"):
        raise ValidationError({"level": [_("层级须为 district、street、community、grid 或 department")]})
    default = counting.previous_month(counting.month_start(timezone.localdate()))
    month = parse_month(q.month, default) if q.month else default
    spec = _spec(q.scheme)
    rows = queries.monthly_ranking(month, q.level, scheme=spec, viewer=user)
    return {"month": f"{month:%Y-%m}", "level": q.level, "scheme": spec.code,
            "rows": [] if rows.pending else [r.as_dict() for r in rows], **_pending(rows.pending)}
