"""/api/v1/inspections: record a visit (JSON; photos omitted, the signature optional as a PNG data
URL) and read one back with its hazards and notices — through ``services.record_visit`` and the
read door of ``visit_queries``. 400 with field messages for bad answers; 404 for a team, premises or
visit that is not the caller's (or does not exist)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from gongzhi.core.api import errors

from . import services, signatures
from . import visit_queries as queries
from .models import Visit

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
