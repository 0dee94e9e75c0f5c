"""/api/v1/cases: report (JSON or multipart with photos), read, and every transition of the loop.

Transitions answer 200 with the case; 403 when the caller may not act; 404 when the case is not
theirs to see; 409 when the case's state does not allow it (e.g. another dispatcher acted first).
"""

import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status as HttpStatus

from gongzhi.core.api import ErrorBody, Pagination, errors
from gongzhi.core.scoping import MAX_ID

from . import directory, intake, queries, routing, rules, services
from .choices import LimitUnit, Rating, Source
from .models import Case, Category, DirectoryVersion

router = Router(tags=["cases 案件"])


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    major_name: str
    extra_fields: list[dict[str, Any]] = Field(default_factory=list,
                                               description="上报时需填写的附加字段 (docs/cases.md)")


class DepartmentRef(Schema):
    id: int
    name: str


class CaseOut(Schema):
    number: str
    title: str
    description: str
    status: str
    status_label: str
    source: str
    urgent: bool
    category: CategoryOut | None
    lon: float | None
    lat: float | None
    address: str
    area_id: int | None
    locate_status: str
    department: DepartmentRef | None
    created_at: datetime.datetime
    filed_at: datetime.datetime | None
    dispatched_at: datetime.datetime | None
    handled_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    due_at: datetime.datetime | None
    overdue: bool
    escalation_level: int
    rework_count: int
    return_count: int
    rating: str
    extra: dict[str, Any] = Field(default_factory=dict, description="附加字段的值，及来源系统的信息")
    master_number: str | None = None

    @staticmethod
    def resolve_master_number(obj) -> str | None:
        if isinstance(obj, dict):
            return obj.get("master_number")
        return obj.master.number if obj.master_id else None

    @staticmethod
    def resolve_status_label(obj) -> str:
        return obj["status_label"] if isinstance(obj, dict) else str(obj.get_status_display())


class CaseDetailOut(CaseOut):
    allowed_actions: list[str]


class EventOut(Schema):
    at: datetime.datetime
    action: str
    actor_name: str
    from_status: str
    to_status: str
    note: str
    department_id: int | None
    data: dict[str, Any]


class ReportIn(Schema):
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=5000)
    category_code: str | None = Field(None, max_length=16, description="分类编码（当前目录版本）")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str = Field("", max_length=200)
    urgent: bool = False
    source: Source = Source.API
    idempotency_key: str | None = Field(None, max_length=100, description="重试时保持不变，避免重复上报")
    reporter_name: str = Field("", max_length=64)
    reporter_phone: str = Field("", max_length=32)
    extra: dict[str, Any] = Field(default_factory=dict)


class QueueIn(Schema):
    status: str | None = Field(None, max_length=16)
    category: int | None = Field(None, ge=1, le=MAX_ID)
    area: int | None = Field(None, ge=1, le=MAX_ID)
    department: int | None = Field(None, ge=1, le=MAX_ID)
    source: str | None = Field(None, max_length=16)
    overdue: bool | None = None
    to_locate: bool | None = None
    q: str = Field("", max_length=100)


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class CheckIn(NoteIn):
    confirmed: bool


class FileIn(NoteIn):
    category_code: str | None = Field(None, max_length=16)
    urgent: bool | None = None


class ReasonIn(Schema):
    reason: str = Field(..., max_length=2000)


class DispatchIn(NoteIn):
    department_id: int = Field(..., ge=1, le=MAX_ID)


class ExtensionIn(ReasonIn):
    amount: Decimal = Field(..., gt=0, le=365, max_digits=7, decimal_places=2)
    unit: LimitUnit = LimitUnit.WORKING_DAYS


class DecideIn(NoteIn):
    approve: bool


class VerifyIn(NoteIn):
    passed: bool


class RateIn(Schema):
    rating: Rating
    comment: str = Field("", max_length=2000)
    reopen: bool = False


class MergeIn(NoteIn):
    master_number: str = Field(..., max_length=32)


class LocateIn(Schema):
    area_id: int | None = Field(None, ge=1, le=MAX_ID)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class UrgentIn(NoteIn):
    urgent: bool


def _active_category(code: str | None) -> Category | None:
    if not code:
        return None
    category = directory.active_category(code)
    if category is None:
        from django.core.exceptions import ValidationError
        from django.utils.translation import gettext as _

        raise ValidationError({"category_code": [_("没有这个分类：%(code)s") % {"code": code}]})
    return category


def _detail(request, case: Case, *, loaded: bool = False) -> dict:
    """The case as the caller sees it; ``loaded``: ``case`` was just written by this request (read
    again otherwise, through the read door)."""
    if not loaded:
        case = queries.get_case(request.user, case.number)
    out = CaseOut.from_orm(case).model_dump()
    if not rules.sees_details(request.user, case):  # a follower: progress, not the reporter's words
        out.update(description="", extra={})
    out["allowed_actions"] = rules.allowed_actions(request.user, case)
    return out


def _report(request, payload: ReportIn, photos) -> HttpStatus:
    key = payload.idempotency_key or request.headers.get("Idempotency-Key")
    report = intake.Report(
        title=payload.title, description=payload.description, category=_active_category(payload.category_code),
        lon=payload.lon, lat=payload.lat, address=payload.address, source=payload.source, urgent=payload.urgent,
        idempotency_key=key, reporter_name=payload.reporter_name, reporter_phone=payload.reporter_phone,
        extra=payload.extra, photos=list(photos or []),
    )
    case, created = intake.report_case(report, reporter=request.user)
    return HttpStatus(201 if created else 200, _detail(request, case, loaded=created))


@router.get("/categories", response=list[CategoryOut])
def list_categories(request, q: str = Query("", max_length=50)):
    """Active categories of the current directory, by code, name or keyword (at most 50)."""
    version = DirectoryVersion.objects.filter(is_active=True).first()
    qs = Category.objects.filter(version=version, is_active=True)
    if q.strip():
        from django.db.models import Q

        qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q) | Q(keywords__icontains=q))
    return qs.order_by("code")[:50]


@router.get("", response={200: list[CaseOut], **errors(404)})
@paginate(Pagination)
def list_cases(request, filters: Query[QueueIn]):
    return queries.queue(request.user, queries.QueueFilter(**filters.model_dump()))


@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut, 400: ErrorBody})
def report_case(request, payload: ReportIn):
    """Report a problem (JSON). Send the same `idempotency_key` (or `Idempotency-Key` header) when
    retrying: the first case is returned with 200 instead of a second one being made."""
    return _report(request, payload, [])


@router.post("/with-photos", response={200: CaseDetailOut, 201: CaseDetailOut, 400: ErrorBody})
def report_case_with_photos(request, payload: Form[ReportIn], photos: list[UploadedFile] = File(None)):
    """Report a problem with photos (multipart/form-data; files in `photos`)."""
    return _report(request, payload, photos)


class NearbyOut(Schema):
    """An open case near a point, as anybody may see it: no reporter, no description."""

    number: str
    title: str
    category: str
    status: str
    status_label: str
    distance_m: int
    created_at: datetime.datetime
    hours_apart: float
    score: float
    shared_words: list[str]
    photos: list[int] = Field(default_factory=list, description="公开缩略图：/report/nearby/photo/{number}/{id}")
    following: bool = False
    mine: bool = False


class NearbyIn(Schema):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    title: str = Field("", max_length=100)
    description: str = Field("", max_length=5000)
    category_code: str | None = Field(None, max_length=16)


@router.get("/nearby", response=list[NearbyOut])
def nearby(request, filters: Query[NearbyIn]):
    """Open cases near a point that look like the report being written (the report page's "similar
    open cases nearby"): follow one (`POST /cases/{number}/follow` with the same point) instead of
    reporting it again. Public fields only; see docs/cases.md, "Duplicates and following"."""
    from . import duplicates

    fields = {"title": filters.title, "description": filters.description, "lon": filters.lon, "lat": filters.lat,
              "category": _active_category(filters.category_code)}
    return duplicates.nearby_for(request.user, fields)


@router.get("/{number}", response=CaseDetailOut)
def get_case(request, number: str):
    return _detail(request, queries.get_case(request.user, number))


@router.get("/{number}/events", response=list[EventOut])
def list_events(request, number: str):
    return queries.timeline(queries.get_case(request.user, number))


@router.get("/{number}/suggestions", response=list[DepartmentRef])
def suggest_departments(request, number: str):
    """Departments the routing rules suggest for this case, best first."""
    return routing.departments_for(queries.get_case(request.user, number))


@router.get("/{number}/photos/{int:photo_id}/{kind}", response={200: None, **errors(403)}, openapi_extra={
    "responses": {200: {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": "string",
                                                                                     "format": "binary"}}}}}})
def get_photo(request, number: str, photo_id: int, kind: Literal["thumbnail", "public", "image"]):
    """A case photo. The original (`image`) is for the command center only."""
    from django.core.exceptions import PermissionDenied

    case = queries.get_case(request.user, number)
    photo = case.photos.filter(pk=photo_id).first()
    if photo is None:
        from django.http import Http404

        raise Http404
    if kind == "image" and not rules.allowed_by_role(request.user, "dispatch", case):
        raise PermissionDenied
    from . import photos as photo_store

    return photo_store.photo_response(getattr(photo, kind))  # our JPEGs only, nosniff, sandbox CSP


# A transition: 403 when the caller may not act, 409 when the case's state does not allow it.
ACTED = {200: CaseDetailOut, **errors(409)}


def _act(request, number: str, fn, **kwargs) -> dict:
    case = queries.get_case(request.user, number)
    case = fn(case, actor=request.user, **kwargs)
    return _detail(request, case)


@router.post("/{number}/check", response=ACTED)
def check(request, number: str, payload: CheckIn):
    """核实 (supervisor on site)."""
    return _act(request, number, services.check_case, confirmed=payload.confirmed, note=payload.note)


@router.post("/{number}/file", response=ACTED)
def file(request, number: str, payload: FileIn):
    """立案."""
    return _act(request, number, services.file_case, category=_active_category(payload.category_code),
                note=payload.note, urgent=payload.urgent)


@router.post("/{number}/not-file", response=ACTED)
def not_file(request, number: str, payload: ReasonIn):
    """不予立案."""
    return _act(request, number, services.not_file_case, reason=payload.reason)


@router.post("/{number}/withdraw", response=ACTED)
def withdraw(request, number: str, payload: NoteIn):
    """The reporter withdraws before filing."""
    return _act(request, number, services.withdraw_case, reason=payload.note)


@router.post("/{number}/dispatch", response=ACTED)
def dispatch(request, number: str, payload: DispatchIn):
    """派遣 to a department."""
    from django.shortcuts import get_object_or_404

    from gongzhi.orgs.models import Department

    department = get_object_or_404(Department, pk=payload.department_id, is_active=True)
    return _act(request, number, services.dispatch_case, department=department, note=payload.note)


@router.post("/{number}/accept", response=ACTED)
def accept(request, number: str, payload: NoteIn):
    """签收 (the department)."""
    return _act(request, number, services.accept_case, note=payload.note)


@router.post("/{number}/return", response=ACTED)
def return_(request, number: str, payload: ReasonIn):
    """退回 to the dispatcher (a wrong dispatch)."""
    return _act(request, number, services.return_case, reason=payload.reason)


@router.post("/{number}/extension", response=ACTED)
def extension(request, number: str, payload: ExtensionIn):
    """申请延期."""
    case = queries.get_case(request.user, number)
    services.request_extension(case, actor=request.user, amount=payload.amount, unit=payload.unit,
                               reason=payload.reason)
    return _detail(request, case)


@router.post("/{number}/extension/decide", response=ACTED)
def decide(request, number: str, payload: DecideIn):
    """审批延期: approve (new due time) or deny."""
    return _act(request, number, services.decide_extension, approve=payload.approve, note=payload.note)


@router.post("/{number}/handle", response=ACTED)
def handle(request, number: str, payload: Form[NoteIn], photos: list[UploadedFile] = File(None)):
    """处置完成, with photos (multipart/form-data; files in `photos`)."""
    case = queries.get_case(request.user, number)
    return _detail(request, services.handle_case(case, actor=request.user, note=payload.note,
                                                 photos=list(photos or [])))


@router.post("/{number}/verify", response=ACTED)
def verify(request, number: str, payload: VerifyIn):
    """核查: passed → 结案, failed → 返工."""
    return _act(request, number, services.verify_case, passed=payload.passed, note=payload.note)


@router.post("/{number}/rate", response=ACTED)
def rate(request, number: str, payload: RateIn):
    """评价 by the reporter; `reopen` with an unsatisfied rating asks for a second round (once)."""
    return _act(request, number, services.rate_case, rating=payload.rating, comment=payload.comment,
                reopen=payload.reopen)


@router.post("/{number}/merge", response=ACTED)
def merge(request, number: str, payload: MergeIn):
    """Merge this duplicate into a master case."""
    master = queries.get_case(request.user, payload.master_number)
    return _act(request, number, services.merge_case, master=master, note=payload.note)


@router.post("/{number}/locate", response=ACTED)
def locate(request, number: str, payload: LocateIn):
    """Place a to-be-located case in its grid, by area or by point."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from gongzhi.areas import queries as area_queries
    from gongzhi.areas.services import area_at

    if payload.area_id:
        area = area_queries.get_area(request.user, payload.area_id)
    elif payload.lon is not None and payload.lat is not None:
        area = area_at(payload.lon, payload.lat)
        if area is None:
            raise ValidationError({"lon": [_("该位置不在本市网格范围内")]})
    else:
        raise ValidationError({"area_id": [_("请选择网格或提供经纬度")]})
    return _act(request, number, services.locate_case, area=area, lon=payload.lon, lat=payload.lat)


@router.post("/{number}/urgent", response=ACTED)
def urgent(request, number: str, payload: UrgentIn):
    """Mark or unmark urgent (time limits switch to natural hours)."""
    return _act(request, number, services.set_urgent, urgent=payload.urgent, note=payload.note)


# --------------------------------------------------------------------------- duplicates and following


class DuplicateOut(Schema):
    """A likely duplicate of the case, with the evidence (docs/cases.md, "Duplicates and following")."""

    number: str
    title: str
    status: str
    status_label: str
    category: str
    score: float
    text_score: float
    distance_m: float
    hours_apart: float
    earlier: bool = Field(..., description="reported before the case")
    created_at: datetime.datetime
    shared_words: list[str]
    category_relation: Literal["same", "major", "uncategorised"]
    photo_ids: list[int]


class FollowIn(Schema):
    lon: float | None = Field(None, ge=-180, le=180, description="where the follower is: needed for a case "
                                                                 "they do not see otherwise")
    lat: float | None = Field(None, ge=-90, le=90)


class FollowOut(Schema):
    number: str
    following: bool
    followers: int


@router.get("/{number}/duplicates", response={200: list[DuplicateOut], **errors(403)})
def list_duplicates(request, number: str, limit: int = Query(5, ge=1, le=20)):
    """Likely duplicates among the open cases the caller sees, best first (command center: who may
    merge this case)."""
    from django.core.exceptions import PermissionDenied

    from . import duplicates

    case = queries.get_case(request.user, number)
    if not rules.allowed_by_role(request.user, "merge", case):
        raise PermissionDenied
    return [{"number": c.case.number, "title": c.case.title, "status": c.case.status,
             "status_label": str(c.case.get_status_display()),
             "category": str(c.case.category) if c.case.category else "", "score": c.score,
             "text_score": c.text_score, "distance_m": c.distance_m, "hours_apart": round(c.hours_apart, 2),
             "earlier": c.earlier, "created_at": c.case.created_at, "shared_words": c.shared_words,
             "category_relation": c.category_relation, "photo_ids": [p.pk for p in c.photos]}
            for c in duplicates.find_duplicates(case, user=request.user, limit=limit)]


def _follow_out(case: Case, user) -> dict:
    from .models import CaseFollower

    return {"number": case.number, "following": CaseFollower.objects.filter(case=case, user=user).exists(),
            "followers": CaseFollower.objects.filter(case=case).count()}


@router.post("/{number}/follow", response={200: FollowOut, **errors(409)})
def follow(request, number: str, payload: FollowIn):
    """关注: be told of the case's progress and see it. For a case the caller does not see otherwise,
    give the point they report from (`lon`, `lat`): an open case within the duplicate radius of it
    may be followed (what `GET /cases/nearby` showed); anything else is 404."""
    from . import duplicates

    case = duplicates.followable(request.user, number, payload.lon, payload.lat)
    services.follow_case(case, user=request.user, via="api")
    return _follow_out(case, request.user)


@router.delete("/{number}/follow", response=FollowOut)
def unfollow(request, number: str):
    """取消关注 (idempotent)."""
    case = queries.get_case(request.user, number)
    services.unfollow_case(case, user=request.user)
    return _follow_out(case, request.user)
