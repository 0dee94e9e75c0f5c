"""/api/v1/router: the router's suggestions for a case, a preview for a text, the models and the
accuracy report.

``GET /api/v1/cases/{number}/suggestions`` (the routing rules' departments) stays as it was; the
model's suggestions are here.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from gongzhi.cases import queries as case_queries
from gongzhi.cases import rules
from gongzhi.core.api import errors

from . import queries, services
from .models import Target

router = Router(tags=["router 智能分派"])


class SuggestionOut(Schema):
    label: str = Field(..., description="分类编码或部门代码")
    id: int = Field(..., description="分类或部门的 id（立案、派遣时使用）")
    name: str
    p: float = Field(..., description="置信度 0–1")
    words: list[str] = Field(..., description="作出判断的主要词语")


class SuggestionsOut(Schema):
    enabled: bool = Field(..., description="管理员是否开启了智能分派建议")
    category: list[SuggestionOut]
    department: list[SuggestionOut]
    models: dict[str, int] = Field(..., description="所用模型的 id（按预测对象）")
    uncalibrated: dict[str, bool] = Field(..., description="按预测对象：模型未经校准（冷启动：由分类目录推断），"
                                                              "置信度只用于排序，不代表把握")


class PreviewIn(Schema):
    title: str = Field("", max_length=20000)
    description: str = Field("", max_length=20000)
    category: str = Field("", max_length=16, description="上报人选择的分类编码（可选）")


class ModelOut(Schema):
    id: int
    target: str
    version: int
    source: str
    created_at: datetime.datetime
    examples: int
    corrections: int
    labels: int
    data_from: datetime.datetime | None
    data_to: datetime.datetime | None
    metrics: dict
    train_seconds: float
    is_active: bool
    activated_at: datetime.datetime | None


class SuggestionRateOut(Schema):
    made: int
    decided: int
    taken: int
    top3: int
    auto: int
    taken_rate: float | None
    top3_rate: float | None


class ModelRateOut(Schema):
    model_id: int | None
    model: str
    target: str
    rate: SuggestionRateOut


class CategoryRateOut(Schema):
    code: str
    name: str
    rate: SuggestionRateOut


class AccuracyOut(Schema):
    days: int
    target: str
    totals: dict[str, SuggestionRateOut]
    by_model: list[ModelRateOut]
    by_category: list[CategoryRateOut]


def _out(result: services.Suggestions) -> dict:
    return {"enabled": result.enabled, "category": result.category, "department": result.department,
            "models": {str(k): v for k, v in result.models.items()},
            "uncalibrated": {str(k): v for k, v in result.uncalibrated.items()}}


@router.get("/cases/{number}", response={200: SuggestionsOut, **errors(403)})
def case_suggestions(request, number: str):
    """The model's top-3 categories and departments for a case, with confidence and the words behind
    them (for those who may file or dispatch it). Logged once per case and model."""
    case = case_queries.get_case(request.user, number)
    if not (rules.allowed_by_role(request.user, "file", case) or rules.allowed_by_role(request.user, "dispatch", case)):
        raise PermissionDenied(_("只有可以立案或派遣该案件的人员可以查看智能分派建议"))
    return _out(services.suggest(case))


@router.post("/preview", response={200: SuggestionsOut, **errors(403)})
def preview(request, payload: PreviewIn):
    """Suggestions for a text that is not (yet) a case; nothing is logged. Command-center users."""
    queries.require_report(request.user)
    from django.core.exceptions import ValidationError

    if not (payload.title.strip() or payload.description.strip()):
        raise ValidationError({"title": [_("请填写要分析的标题或描述")]})
    hint = ""
    if payload.category:
        category = services.label_object(Target.CATEGORY, payload.category.strip())
        hint = category.name if category else ""
    return _out(services.suggest_text(payload.title, payload.description, category_name=hint))


@router.get("/models", response={200: list[ModelOut], **errors(403)})
def list_models(request):
    """Every trained version, newest first per target, with its stored evaluation figures."""
    queries.require_report(request.user)
    return list(queries.models_list())


class AccuracyQuery(Schema):
    days: int = Field(30, description="7、30、90 或 365")
    target: Target = Target.CATEGORY


@router.get("/accuracy", response={200: AccuracyOut, **errors(403)})
def accuracy(request, q: Query[AccuracyQuery]):
    """Suggestions made and taken (top-1 and top-3), per model version and per category, over the
    last ``days`` days, for the cases the caller sees."""
    queries.require_report(request.user)
    days, since = queries.period(q.days)
    target = str(q.target.value if hasattr(q.target, "value") else q.target)
    return {
        "days": days, "target": target,
        "totals": {str(t): queries.totals(request.user, target=t, since=since).as_dict() for t in Target.values},
        "by_model": [{"model_id": r["model"].pk if r["model"] else None, "model": str(r["model"] or ""),
                      "target": str(r["target"]), "rate": r["rate"].as_dict()}
                     for r in queries.by_model(request.user, since=since)],
        "by_category": [{"code": r["code"], "name": r["name"], "rate": r["rate"].as_dict()}
                        for r in queries.by_category(request.user, target=target, since=since)],
    }
