"""/api/v1/inspections: record a visit (JSON; photos omitted, the signature optional as a PNG data
URL) and read one back with its hazards and notices — through ``services.record_visit`` and the
read door of ``visit_queries``. 400 with field messages for bad answers; 404 for a team, premises or
visit that is not the caller's (or does not exist).

Plans (``plans``: create, change, stop, a day's targets built as the week page builds them) and the
follow-up of notices (``followup``: the due re-inspections, recording one, escalating a hazard), each
through the app's services and read doors: not visible → 404, not allowed → 403 (the service's
``PermissionDenied``), bad input → 400 with field messages, a re-inspection already done → 409."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.checklists.models import Checklist
from gongzhi.core.api import Pagination, errors
from gongzhi.core.scoping import MAX_ID
from gongzhi.premises.models import PremisesType

from . import followup, plans, services, signatures
from . import queries as followup_queries
from . import visit_queries as queries
from .forms import BuildForm
from .models import Hazard, Plan, PlanDay, PlanTarget, Reinspection, Visit

router = Router(tags=["inspections 联合检查"])


class VisitIn(Schema):
    team: int = Field(..., ge=1, description="检查小组 id")
    premises: int = Field(..., ge=1, description="场所 id（须在小组所在社区）")
    version: int = Field(..., ge=1, description="检查表版本 id（已启用或已停用的版本）")
    answers: dict[str, Any] = Field(..., description="检查项代码 → 回答（与手机表单相同，见 docs/checklists.md）")
    acknowledged_by: str = Field("", max_length=100, description="经营者签收人姓名")
    signature: str | None = Field(None, max_length=signatures.MAX_CHARS,
                                  description="可选：签名 PNG，data:image/png;base64,…")
    started_at: datetime.datetime | None = Field(None, description="开始时间；缺省为提交时间")


class HazardOut(Schema):
    id: int
    item_name: str
    item_label: str
    answer: list[Any]
    department_id: int
    department: str
    severity: str
    legal_basis: str
    rectification_days: int
    deadline: datetime.datetime
    status: str
    escalation_level: int
    earlier_failures: int

    @staticmethod
    def resolve_department(obj):
        return obj.department.name

    @staticmethod
    def resolve_answer(obj):
        return obj.answer if isinstance(obj.answer, list) else [obj.answer]


class NoticeOut(Schema):
    id: int
    number: str
    department_id: int
    department: str
    deadline: datetime.datetime
    issued_at: datetime.datetime
    hazards: list[int]
    pdf: str = Field(..., description="整改通知书 PDF 的地址")

    @staticmethod
    def resolve_department(obj):
        return obj.department.name

    @staticmethod
    def resolve_hazards(obj):
        return [h.pk for h in obj.hazards.all()]

    @staticmethod
    def resolve_pdf(obj):
        return reverse("inspections:notice_pdf", args=[obj.pk])


class VisitOut(Schema):
    id: int
    team_id: int
    premises_id: int
    checklist_version_id: int
    answers: dict[str, Any]
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    acknowledged_by: str
    signed: bool
    hazards: list[HazardOut]
    notices: list[NoticeOut]

    @staticmethod
    def resolve_signed(obj):
        return bool(obj.signature)

    @staticmethod
    def resolve_hazards(obj):
        return list(obj.hazards.select_related("department").order_by("pk"))

    @staticmethod
    def resolve_notices(obj):
        return list(obj.notices.select_related("department").prefetch_related("hazards").order_by("pk"))


@router.post("/visits", response={201: VisitOut, **errors(400, 404)})
def record_visit(request, payload: VisitIn):
    team = queries.get_team(request.user, payload.team)
    premises = queries.get_premises_for(request.user, team, payload.premises)
    try:
        version = queries.get_version(payload.version)
    except Http404:
        raise ValidationError({"version": [_("检查表版本不存在或尚未启用")]}) from None
    photos = [name for name, question in version.form.questions.items()
              if question["type"] == "photo" and payload.answers.get(name) not in (None, "")]
    if photos:  # a reference would point at nothing this visit stored
        raise ValidationError({name: [_("接口不接收照片，请省略照片项或在网页上传")] for name in photos})
    try:
        signature = signatures.decode(payload.signature)
    except ValidationError as exc:
        raise ValidationError({"signature": exc.messages}) from None
    now = timezone.now()
    started_at = payload.started_at
    if started_at is not None and timezone.is_naive(started_at):
        raise ValidationError({"started_at": [_("开始时间须带时区")]})
    if started_at is not None and started_at > now:
        raise ValidationError({"started_at": [_("开始时间不能晚于提交时间")]})
    try:
        visit = services.record_visit(
            actor=request.user, team=team, premises=premises, version=version, answers=payload.answers,
            started_at=started_at, finished_at=now, acknowledged_by=payload.acknowledged_by,
            signature=signature)
    except PermissionDenied:
        raise Http404 from None
    return Status(201, queries.get_visit(request.user, visit.pk))


@router.get("/visits/{int:visit_id}", response={200: VisitOut, **errors(404)})
def get_visit(request, visit_id: int) -> Visit:
    return queries.get_visit(request.user, visit_id)


# --------------------------------------------------------------------------------------------
# Plans (检查计划) and a day's targets
# --------------------------------------------------------------------------------------------

#: How far from today a plan's day may be asked for (as the week page's ``?week=``).
DAY_RANGE = datetime.timedelta(days=3660)


class PlanIn(Schema):
    team: int = Field(..., ge=1, description="检查小组 id（您管辖的工作站的小组）")
    name: str = Field(..., max_length=100, description="计划名称，最多 100 个字符")
    checklist: int = Field(..., ge=1, description="检查表 id")
    weekday: int = Field(Plan.Weekday.WEDNESDAY, description="检查日：1 = 星期一 … 7 = 星期日")
    premises_types: list[int] = Field([], max_length=100, description="场所类型 id；空为全部类型")
    min_risk_level: str = Field("", max_length=10, description="最低风险等级 low / medium / high；空为全部等级")
    revisit_days: int = Field(90, description=f"距上次检查达到此天数的场所列入（1–{plans.MAX_REVISIT_DAYS}）")
    include_open_hazards: bool = Field(True, description="是否列入有未整改隐患的场所")
    max_targets: int = Field(20, description=f"每次最多场所数（1–{plans.MAX_TARGETS_LIMIT}）")


class PlanPatchIn(Schema):
    model_config = {"extra": "forbid"}  # a plan does not move to another team: say so rather than ignore it

    name: str | None = Field(None, max_length=100, description="计划名称")
    checklist: int | None = Field(None, ge=1, description="检查表 id")
    weekday: int | None = Field(None, description="检查日：1 = 星期一 … 7 = 星期日")
    premises_types: list[int] | None = Field(None, max_length=100, description="场所类型 id；空列表为全部类型")
    min_risk_level: str | None = Field(None, max_length=10, description="最低风险等级；空为全部等级")
    revisit_days: int | None = Field(None, description="距上次检查天数")
    include_open_hazards: bool | None = Field(None, description="是否列入有未整改隐患的场所")
    max_targets: int | None = Field(None, description="每次最多场所数")
    is_active: bool | None = Field(None, description="是否启用（停用也可用 …/deactivate）")


class PlanOut(Schema):
    id: int
    name: str
    team_id: int
    team: str = Field(..., description="检查小组名称")
    station_id: int
    station: str = Field(..., description="工作站名称")
    weekday: int = Field(..., description="检查日：1 = 星期一 … 7 = 星期日")
    weekday_label: str = Field(..., description="检查日名称，如 星期三")
    checklist_id: int
    checklist: str = Field(..., description="检查表名称")
    premises_types: list[int] = Field(..., description="场所类型 id；空为全部类型")
    min_risk_level: str = Field(..., description="最低风险等级；空为全部等级")
    revisit_days: int
    include_open_hazards: bool
    max_targets: int
    is_active: bool
    created_at: datetime.datetime
    can_manage: bool = Field(..., description="当前用户能否修改、停用该计划（管辖该社区）")

    @staticmethod
    def resolve_team(obj):
        return obj.team.name

    @staticmethod
    def resolve_station_id(obj):
        return obj.team.station_id

    @staticmethod
    def resolve_station(obj):
        return obj.team.station.name

    @staticmethod
    def resolve_weekday_label(obj):
        return str(obj.get_weekday_display())

    @staticmethod
    def resolve_checklist(obj):
        return obj.checklist.name

    @staticmethod
    def resolve_premises_types(obj):
        return sorted(t.pk for t in obj.premises_types.all())

    @staticmethod
    def resolve_can_manage(obj, context):
        return plans.can_manage_station(context["request"].user, obj.team.station)


class PlanTargetOut(Schema):
    id: int
    rank: int = Field(..., description="顺序，从 1 开始")
    premises_id: int
    premises: str = Field(..., description="场所名称")
    address: str
    premises_type: str = Field(..., description="场所类型")
    risk_level: str = Field(..., description="风险等级 low / medium / high")
    reason: str = Field(..., description="列入原因：reinspection 到期复查、open_hazards 有未整改隐患、never 从未检查、due 久未检查")
    reason_label: str = Field(..., description="列入原因的中文名称")
    visited: bool = Field(..., description="是否已检查")
    visit_id: int | None = Field(None, description="检查记录 id（已检查时）")

    @staticmethod
    def resolve_premises(obj):
        return obj.premises.name

    @staticmethod
    def resolve_address(obj):
        return obj.premises.address

    @staticmethod
    def resolve_premises_type(obj):
        return obj.premises.type.name

    @staticmethod
    def resolve_risk_level(obj):
        return obj.premises.risk_level

    @staticmethod
    def resolve_reason_label(obj):
        return str(obj.get_reason_display())

    @staticmethod
    def resolve_visited(obj):
        return obj.visit_id is not None


class PlanDayOut(Schema):
    plan_id: int
    date: datetime.date
    built: bool = Field(..., description="名单是否已生成（过去的周不再补生成）")
    built_at: datetime.datetime | None = Field(None, description="名单生成时间")
    targets: list[PlanTargetOut]


def _plan_values(data: dict) -> dict:
    """The payload's values as ``create_plan`` / ``update_plan`` take them: the checklist and the
    premises types as objects (unknown ids → 400 on their field), nulls refused."""
    errors_: dict[str, list[str]] = {}
    values = {}
    for field, value in data.items():
        if value is None and field != "min_risk_level":
            errors_[field] = [_("该项不能为空")]
        elif field == "checklist":
            found = Checklist.objects.filter(pk=value).first() if 0 < value <= MAX_ID else None
            if found is None:
                errors_[field] = [_("检查表不存在")]
            values[field] = found
        elif field == "premises_types":
            ids = set(value)
            found = (list(PremisesType.objects.filter(pk__in=ids, is_active=True))
                     if all(0 < pk <= MAX_ID for pk in ids) else [])
            if len(found) != len(ids):
                errors_[field] = [_("场所类型不正确")]
            values[field] = found
        else:
            values[field] = (value or "") if field == "min_risk_level" else value
    if errors_:
        raise ValidationError(errors_)
    return values


def _plan(request, plan_id: int) -> Plan:
    return plans.get_plan(request.user, plan_id)


@router.get("/plans", response={200: list[PlanOut]})
@paginate(Pagination)
def list_plans(request, active: bool | None = Query(None, description="只列出启用（true）或已停用（false）的计划"),
               team: int | None = Query(None, ge=1, le=MAX_ID, description="只列出该检查小组的计划")):
    """The plans I may see: of the stations whose community I manage, and of my own teams (read-only).
    (Plain parameters: ``paginate`` reads the annotations in its own module, where a filter schema's
    name would not resolve.)"""
    qs = plans.visible_plans(request.user).prefetch_related("premises_types")
    if active is not None:
        qs = qs.filter(is_active=active)
    if team is not None:
        qs = qs.filter(team_id=team)
    return qs.order_by("team__station__name", "team__name", "weekday", "name", "pk")


@router.post("/plans", response={201: PlanOut, **errors(400, 403, 404)})
def create_plan(request, payload: PlanIn):
    """A team's recurring inspection day with its target rules (``plans.create_plan``). A team that is
    not mine: 404; my own team in a community I do not manage: 403."""
    team = plans.plannable_teams(request.user).filter(pk=payload.team).first() if payload.team <= MAX_ID else None
    if team is None:
        raise Http404
    values = _plan_values(payload.model_dump(exclude={"team"}))
    plan = plans.create_plan(actor=request.user, team=team, **values)
    return Status(201, _plan(request, plan.pk))


@router.get("/plans/{int:plan_id}", response={200: PlanOut, **errors(404)})
def get_plan(request, plan_id: int):
    return _plan(request, plan_id)


@router.patch("/plans/{int:plan_id}", response={200: PlanOut, **errors(400, 403, 404)})
def update_plan(request, plan_id: int, payload: PlanPatchIn):
    """Change the rules (only the fields sent). Days already built keep their targets until rebuilt."""
    plan = plans.get_plan(request.user, plan_id)
    changes = _plan_values(payload.model_dump(exclude_unset=True))
    if changes:
        plans.update_plan(plan, actor=request.user, **changes)
    return _plan(request, plan.pk)


@router.post("/plans/{int:plan_id}/deactivate", response={200: PlanOut, **errors(403, 404)})
def deactivate_plan(request, plan_id: int):
    """Stop the plan: no more days are built (days already built stay, with their visits)."""
    plan = plans.get_plan(request.user, plan_id)
    plans.deactivate_plan(plan, actor=request.user)
    return _plan(request, plan.pk)


@router.get("/plans/{int:plan_id}/days/{date}", response={200: PlanDayOut, **errors(400, 404)})
def plan_day(request, plan_id: int, date: str):
    """The plan's targets on ``date`` (YYYY-MM-DD, one of the plan's inspection days), best first.
    As the week page: a day of this week or later that is not built yet is built now (by the system);
    a past week's day is never built after the fact (``built`` false, no targets)."""
    plan = plans.get_plan(request.user, plan_id)
    form = BuildForm({"date": date[:40]}, plan=plan)
    if not form.is_valid():
        raise ValidationError({"date": [str(m) for m in form.errors["date"]]})
    day_date = form.cleaned_data["date"]
    if abs(day_date - timezone.localdate()) > DAY_RANGE:
        raise ValidationError({"date": [_("日期应在今天前后 10 年以内")]})
    day: PlanDay | None = plans.ensure_day(plan, day_date)
    targets: list[PlanTarget] = list(plans.day_targets(day)) if day is not None else []
    return {"plan_id": plan.pk, "date": day_date, "built": day is not None,
            "built_at": day.built_at if day is not None else None, "targets": targets}


# --------------------------------------------------------------------------------------------
# Follow-up: re-inspections (回头看) and escalation
# --------------------------------------------------------------------------------------------


def _step_names(context) -> dict[int, str]:
    request = context["request"]
    names = getattr(request, "_inspection_step_names", None)
    if names is None:
        names = request._inspection_step_names = followup.step_names()
    return names


class ReinspectionHazardOut(HazardOut):
    status_label: str = Field(..., description="状态的中文名称，如 待整改、已升级：提醒、已移交执法")
    settled: bool = Field(..., description="已整改或已移交执法：复查时不再查看")

    @staticmethod
    def resolve_status_label(obj, context):
        return str(followup.status_label(obj, _step_names(context)))

    @staticmethod
    def resolve_settled(obj):
        return obj.status not in followup.ACTIVE


class ReinspectionOut(Schema):
    id: int
    round: int = Field(..., description="复查轮次，从 1 开始")
    status: str = Field(..., description="due 待复查、done 已复查、cancelled 已取消")
    due_at: datetime.datetime
    overdue: bool = Field(..., description="待复查且已过复查时间")
    done_at: datetime.datetime | None
    note: str = Field(..., description="复查说明")
    notice_id: int
    notice_number: str = Field(..., description="整改通知书文号")
    department_id: int
    department: str = Field(..., description="发文（责任）部门")
    visit_id: int
    premises_id: int
    premises: str = Field(..., description="场所名称")
    address: str
    hazards: list[ReinspectionHazardOut] = Field(..., description="该整改通知书的全部隐患")
    next_id: int | None = Field(None, description="下一轮复查 id（复查后仍有未整改隐患时）")

    @staticmethod
    def resolve_overdue(obj):
        return obj.status == Reinspection.Status.DUE and obj.due_at < timezone.now()

    @staticmethod
    def resolve_notice_number(obj):
        return obj.notice.number

    @staticmethod
    def resolve_department_id(obj):
        return obj.notice.department_id

    @staticmethod
    def resolve_department(obj):
        return obj.notice.department.name

    @staticmethod
    def resolve_visit_id(obj):
        return obj.notice.visit_id

    @staticmethod
    def resolve_premises_id(obj):
        return obj.notice.visit.premises_id

    @staticmethod
    def resolve_premises(obj):
        return obj.notice.visit.premises.name

    @staticmethod
    def resolve_address(obj):
        return obj.notice.visit.premises.address

    @staticmethod
    def resolve_hazards(obj):
        return sorted(obj.notice.hazards.all(), key=lambda h: h.pk)

    @staticmethod
    def resolve_next_id(obj):
        if obj.status != Reinspection.Status.DONE:
            return None
        following = obj.notice.reinspections.filter(round__gt=obj.round).order_by("round").first()
        return following.pk if following else None


class ReinspectionIn(Schema):
    fixed: list[int] = Field(..., max_length=500,
                             description="已整改的隐患 id（须属于该整改通知书）；其余未整改的隐患升级一级。可为空列表")
    note: str = Field("", max_length=2000, description="复查说明")


class ReinspectionEscalateIn(Schema):
    note: str = Field("", max_length=2000, description="升级说明")


def _reinspection(request, pk: int) -> Reinspection:
    return followup_queries.one_or_404(
        followup_queries.visible_reinspections(request.user).select_related(
            "notice__department", "notice__visit__premises").prefetch_related("notice__hazards__department"), pk)


@router.get("/reinspections", response={200: list[ReinspectionOut]})
@paginate(Pagination)
def list_reinspections(request):
    """Re-inspections still due that I may carry out, the soonest first, each with the notice's hazards."""
    return followup_queries.due_reinspections(request.user).prefetch_related("notice__hazards__department")


@router.post("/reinspections/{int:reinspection_id}", response={200: ReinspectionOut, **errors(400, 403, 404, 409)})
def record_reinspection(request, reinspection_id: int, payload: ReinspectionIn):
    """Record the re-inspection (``followup.reinspect``): the hazards in ``fixed`` close, every other
    hazard of the notice still open climbs one rung of the ladder; if some remain, the next round is
    scheduled (``next_id``). Already done or cancelled: 409."""
    item = followup_queries.get_reinspection(request.user, reinspection_id)
    followup.reinspect(actor=request.user, reinspection=item, fixed=payload.fixed, note=payload.note)
    return _reinspection(request, item.pk)


@router.post("/hazards/{int:hazard_id}/escalate", response={200: ReinspectionHazardOut, **errors(400, 403, 404, 409)})
def escalate_hazard(request, hazard_id: int, payload: ReinspectionEscalateIn):
    """One rung up the escalation ladder (``followup.escalate``); fixed, transferred or at the top: 409."""
    hazard: Hazard = followup_queries.get_hazard(request.user, hazard_id)
    followup.escalate(actor=request.user, hazard=hazard, note=payload.note)
    return followup_queries.get_hazard(request.user, hazard.pk)
