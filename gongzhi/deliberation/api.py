"""/api/v1/deliberation: decisions (each question with its rule and the rule's text; once counted,
its result with the figures and the condition-by-condition explanation), publications (公示, with
the SHA-256 of their content and whether it still matches), and an elector's online ballot.

Reads go through the read door (``queries.visible_decisions`` / ``visible_publications``): a
decision or publication that is not the caller's is a 404, like one that does not exist. The ballot
goes through ``services.cast_online`` (403 for a caller who is not an elector, 409 once voted or
outside the voting period, 400 for choices that don't answer every question).
"""

import datetime
from typing import Any

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import Pagination, errors
from gongzhi.core.scoping import MAX_ID

from . import publicity, queries, services
from .models import Decision, Participation, Publication, Result

router = Router(tags=["deliberation 共商共决"])

COUNTED = (Decision.Status.CLOSED, Decision.Status.PUBLISHED)


class ResultOut(Schema):
    passed: bool
    figures: dict[str, Any] = Field(..., description="计票数据：{表决范围: {electorate|participants|attendees|for|"
                                                       "against|abstain: {persons|households|area|representatives}}}")
    rule_text: str
    explanation: list[dict[str, Any]] = Field(..., description="逐项判断：每个条件的分子、分母、比例、门槛、是否满足")
    computed_at: datetime.datetime


class QuestionOut(Schema):
    position: int
    text: str
    preset: str
    rule: dict[str, Any] = Field(..., description="通过规则（JSON 条件树，见 docs/deliberation.md）")
    rule_text: str
    requires: int | None = Field(None, description="前提事项的序号：该事项通过，本事项才可能通过")
    result: ResultOut | None = Field(None, description="计票后的结果；表决结束前为空")

    @staticmethod
    def resolve_requires(obj):
        return obj.requires.position if obj.requires_id else None

    @staticmethod
    def resolve_result(obj):
        if obj.decision.status not in COUNTED:
            return None
        try:
            return obj.result
        except Result.DoesNotExist:
            return None


class ElectorateOut(Schema):
    key: str
    name: str
    buildings: list[str]


class DecisionOut(Schema):
    id: int
    title: str
    area_id: int
    area: str
    status: str
    ballot_unit: str
    secret: bool
    opens_at: datetime.datetime | None
    closes_at: datetime.datetime | None
    opened_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_area(obj):
        return obj.area.name


class MyBallotOut(Schema):
    elector: bool = Field(..., description="调用者是否在该表决的选民名单中")
    voted: bool = Field(..., description="调用者是否已经投票（任何方式）")


class DecisionDetailOut(DecisionOut):
    description: str
    electorates: list[ElectorateOut]
    questions: list[QuestionOut]
    me: MyBallotOut

    @staticmethod
    def resolve_electorates(obj):
        return list(obj.electorates.order_by("pk"))

    @staticmethod
    def resolve_questions(obj):
        return list(obj.questions.select_related("requires", "decision").order_by("position"))

    @staticmethod
    def resolve_me(obj, context):
        elector = queries.elector_of(context["request"].user, obj)
        voted = elector is not None and Participation.objects.filter(
            decision=obj, elector=elector, voted=True).exists()
        return {"elector": elector is not None, "voted": voted}


class DecisionFilter(Schema):
    status: Decision.Status | None = Field(None, description="状态")
    mine: bool = Field(False, description="只列出调用者是选民的表决")


class PublicationOut(Schema):
    id: int
    kind: str
    title: str
    area_id: int
    area: str
    decision_id: int | None
    procedure_id: int | None
    project_id: int | None
    channel: str
    starts_on: datetime.date
    ends_on: datetime.date
    published_at: datetime.datetime
    content_hash: str = Field(..., description="发布时内容的 SHA-256")

    @staticmethod
    def resolve_area(obj):
        return obj.area.name


class PublicationDetailOut(PublicationOut):
    content: str
    content_intact: bool = Field(..., description="重新计算的 SHA-256 与发布时的一致")
    objections: int = Field(..., description="已提出的异议数")

    @staticmethod
    def resolve_content_intact(obj):
        return publicity.verify(obj)

    @staticmethod
    def resolve_objections(obj):
        return obj.objections.count()


class PublicationFilter(Schema):
    kind: Publication.Kind | None = Field(None, description="类别")
    decision: int | None = Field(None, ge=1, le=MAX_ID, description="某一表决的公示")


class BallotIn(Schema):
    choices: dict[str, str] = Field(
        ..., description='{表决事项序号: for|against|abstain}，每个事项都要选择，如 {"1": "for", "2": "against"}')


class BallotOut(Schema):
    decision_id: int
    channel: str
    at: datetime.datetime


@router.get("/decisions", response={200: list[DecisionOut]})
@paginate(Pagination)
def list_decisions(request, filters: Query[DecisionFilter]):
    qs = queries.visible_decisions(request.user)
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    if filters.mine:
        qs = qs.filter(electors__user=request.user)
    return qs.order_by("-created_at", "-pk")


@router.get("/decisions/{int:decision_id}", response={200: DecisionDetailOut, **errors(404)})
def get_decision(request, decision_id: int):
    return queries.one_or_404(queries.visible_decisions(request.user), decision_id)


@router.post("/decisions/{int:decision_id}/ballot", response={201: BallotOut, **errors(403, 409)})
def cast_ballot(request, decision_id: int, payload: BallotIn):
    decision = queries.one_or_404(queries.visible_decisions(request.user), decision_id)
    participation = services.cast_online(decision, actor=request.user, choices=payload.choices)
    return Status(201, {"decision_id": decision.pk, "channel": participation.channel, "at": participation.at})


@router.get("/publications", response={200: list[PublicationOut]})
@paginate(Pagination)
def list_publications(request, filters: Query[PublicationFilter]):
    qs = queries.visible_publications(request.user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind.value)
    if filters.decision:
        qs = qs.filter(decision_id=filters.decision)
    return qs.order_by("-published_at", "-pk")


@router.get("/publications/{int:publication_id}", response={200: PublicationDetailOut, **errors(404)})
def get_publication(request, publication_id: int):
    return queries.one_or_404(queries.visible_publications(request.user), publication_id)
