"""/api/v1/portal: what the community portal shows a signed-in user (docs/portal.md#api), read-only.

- ``GET /home``: today at my address — the service times of my homes (with the day's exceptions
  and cancellations), the notices in force, the latest 公开栏 items and finance statement.
- ``GET /notices`` (paginated) and ``GET /notices/{id}`` (opening one writes the read receipt,
  as the page does); withdrawn notices only for those who may publish in their area.
- ``GET /disclosures`` (paginated) and ``GET /disclosures/{id}`` with every version.
- ``GET /points``: service points within a walk of a lon/lat, an area's label point or my home.

Reads go through the read doors (``queries`` / ``notices.readable`` / ``disclosures.listed_for``):
what is not the caller's is a 404, like what does not exist. Residents see a notice's or version's
publishing body (``publisher``), never a person's name; ``published_by`` is filled only for those
who may publish in the area.
"""

import datetime
import math
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from gongzhi.areas.models import Area
from gongzhi.core.api import Pagination, errors
from gongzhi.core.scoping import MAX_ID
from gongzhi.core.templatetags.gongzhi import lname

from . import disclosures, notices, queries, schedules, servicemap
from .models import Disclosure

router = Router(tags=["portal 社区门户"])

HOME_NOTICES = 5
HOME_DISCLOSURES = 5
MAX_POINTS = 500


def _publisher(notice, context) -> tuple[str, str | None]:
    """(publishing body, the person's name or None) of a notice, memoised per request by publisher,
    area and day (a board has few publishers)."""
    request = context["request"]
    memo = request.__dict__.setdefault("_portal_publishers", {})
    key = (notice.published_by_id, notice.area_id, timezone.localdate(notice.published_at))
    if key not in memo:
        row = queries.label_publishers(request.user, [notice])[0]
        memo[key] = (row.publisher_body, row.publisher_person)
    return memo[key]


# ------------------------------------------------------------------------------ notices


class PortalNoticeOut(Schema):
    id: int
    title: str
    area_id: int
    area: str = Field(..., description="发布范围")
    valid_from: datetime.date
    valid_until: datetime.date | None
    pinned: bool
    is_public: bool
    needs_relay: bool
    published_at: datetime.datetime
    publisher: str = Field(..., description="发布单位（区域与职务），不含个人姓名")
    published_by: str | None = Field(None, description="发布人姓名：仅对可在该范围发布通知的人员提供")
    withdrawn: bool = Field(..., description="已撤回（只有可在该范围发布的人员看得到）")
    withdrawn_at: datetime.datetime | None
    withdrawn_by: str | None = Field(None, description="撤回人：仅对可在该范围发布通知的人员提供")

    @staticmethod
    def resolve_area(obj):
        return obj.area.name

    @staticmethod
    def resolve_publisher(obj, context):
        return _publisher(obj, context)[0]

    @staticmethod
    def resolve_published_by(obj, context):
        return _publisher(obj, context)[1]

    @staticmethod
    def resolve_withdrawn(obj):
        return obj.withdrawn_at is not None

    @staticmethod
    def resolve_withdrawn_by(obj, context):
        if obj.withdrawn_at is None or not queries.can_publish(context["request"].user, obj.area):
            return None
        return str(obj.withdrawn_by) if obj.withdrawn_by_id else _("系统")


class PortalNoticeAttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    url: str = Field(..., description="下载地址（网页会话）")

    @staticmethod
    def resolve_url(obj):
        return reverse("portal:notice_attachment", args=[obj.notice_id, obj.pk])


class PortalNoticeDetailOut(PortalNoticeOut):
    body: str
    attachments: list[PortalNoticeAttachmentOut]

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class PortalNoticeState(StrEnum):
    current = "current"
    expired = "expired"
    upcoming = "upcoming"
    withdrawn = "withdrawn"


class PortalNoticeFilter(Schema):
    state: PortalNoticeState | None = Field(
        None, description="current 有效 · expired 已过期 · upcoming 尚未生效（仅发布者）· withdrawn 已撤回（仅发布者）；"
                          "不填：除已撤回外我能打开的全部")
    area: int | None = Field(None, ge=1, le=MAX_ID, description="只看某一发布范围的通知")


@router.get("/notices", response={200: list[PortalNoticeOut]})
@paginate(Pagination)
def list_notices(request, filters: Query[PortalNoticeFilter]):
    user = request.user
    today = timezone.localdate()
    state = filters.state
    if state is None:
        qs = notices.readable(user, today).filter(withdrawn_at__isnull=True).order_by("-pinned", "-published_at",
                                                                                       "-pk")
    else:
        qs = {PortalNoticeState.current: notices.current_for, PortalNoticeState.expired: notices.expired_for,
              PortalNoticeState.upcoming: notices.upcoming_for,
              PortalNoticeState.withdrawn: lambda u, _today: notices.withdrawn_for(u)}[state](user, today)
    if filters.area:
        qs = qs.filter(area_id=filters.area)
    return qs.select_related("area", "published_by", "withdrawn_by")


@router.get("/notices/{int:notice_id}", response={200: PortalNoticeDetailOut, **errors(404)})
def get_notice(request, notice_id: int):
    """One notice; opening it writes the caller's read receipt (once), as the page does."""
    notice = queries.get_or_404(notices.readable(request.user).select_related("published_by", "withdrawn_by")
                                .prefetch_related("attachments"), notice_id)
    if notice.withdrawn_at is None:
        notices.mark_read(request.user, notice)
    return notice


# ------------------------------------------------------------------------------ 公开栏


class PortalDisclosureOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    area_id: int
    area: str = Field(..., description="公开范围")
    period_start: datetime.date | None
    period_end: datetime.date | None
    is_public: bool
    version_count: int = Field(..., description="已发布的版本数（0：尚未发布，仅发布者可见）")
    updated_at: datetime.datetime | None = Field(None, description="最新版本的发布时间")

    @staticmethod
    def resolve_kind_label(obj):
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_area(obj):
        return obj.area.name

    @staticmethod
    def resolve_version_count(obj):
        return getattr(obj, "n_versions", 0) or 0

    @staticmethod
    def resolve_updated_at(obj):
        return getattr(obj, "latest_at", None)


class PortalFinanceLineOut(Schema):
    date: str
    item: str
    income: str = Field(..., description="收入（元，两位小数的字符串）")
    expense: str = Field(..., description="支出（元，两位小数的字符串）")
    note: str


class PortalDisclosureAttachmentOut(Schema):
    id: int
    name: str
    sha256: str
    url: str = Field(..., description="下载地址（网页会话）")

    @staticmethod
    def resolve_url(obj):
        return reverse("portal:disclosure_attachment", args=[obj.pk])


class PortalDisclosureVersionOut(Schema):
    number: int
    published_at: datetime.datetime
    publisher: str = Field(..., description="发布单位（区域与职务），不含个人姓名")
    published_by: str | None = Field(None, description="发布人姓名：仅对可在该范围发布公开栏的人员提供")
    change_note: str
    body: str
    lines: list[PortalFinanceLineOut]
    income_total: str
    expense_total: str
    sha256: str = Field(..., description="内容的 SHA-256")
    attachments: list[PortalDisclosureAttachmentOut]
    lines_added: list[PortalFinanceLineOut] = Field(..., description="与上一版相比新增的明细")
    lines_removed: list[PortalFinanceLineOut] = Field(..., description="与上一版相比删除的明细")


class PortalDisclosureDetailOut(PortalDisclosureOut):
    versions: list[PortalDisclosureVersionOut] = Field(..., description="全部版本，最新在前")

    @staticmethod
    def resolve_versions(obj):
        return obj.versions_out


PortalDisclosureKind = StrEnum("PortalDisclosureKind", {value: value for value in Disclosure.Kind.values})


class PortalDisclosureFilter(Schema):
    kind: PortalDisclosureKind | None = Field(None, description="类别：rules 议事规则 · fees 收费标准 · "
                                                                "finance 收支公示 · other 其他")
    area: int | None = Field(None, ge=1, le=MAX_ID, description="只看某一公开范围")


@router.get("/disclosures", response={200: list[PortalDisclosureOut]})
@paginate(Pagination)
def list_disclosures(request, filters: Query[PortalDisclosureFilter]):
    qs = disclosures.listed_for(request.user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind.value)
    if filters.area:
        qs = qs.filter(area_id=filters.area)
    return qs.order_by("area__path", "kind", "-period_start", "-pk")


def _version(entry) -> dict:
    version = entry.version
    return {
        "number": version.number, "published_at": version.published_at,
        "publisher": version.publisher_body, "published_by": version.publisher_person,
        "change_note": version.change_note, "body": version.body, "lines": version.lines,
        "income_total": f"{version.income_total:.2f}", "expense_total": f"{version.expense_total:.2f}",
        "sha256": version.sha256, "attachments": list(version.attachments.all()),
        "lines_added": entry.added if entry.previous else [], "lines_removed": entry.removed,
    }


@router.get("/disclosures/{int:disclosure_id}", response={200: PortalDisclosureDetailOut, **errors(404)})
def get_disclosure(request, disclosure_id: int):
    """One 公开栏 item with every version (newest first) and what each changed."""
    disclosure = queries.get_or_404(disclosures.listed_for(request.user), disclosure_id)
    entries = disclosures.history(disclosure)
    queries.label_publishers(request.user, [e.version for e in entries], area=disclosure.area,
                             roles=queries.DISCLOSURE_ROLES)
    disclosure.versions_out = [_version(e) for e in entries]
    return disclosure


# ------------------------------------------------------------------------------ home


class PortalAreaOut(Schema):
    id: int
    name: str


class PortalOccurrenceOut(Schema):
    schedule_id: int
    kind: str
    kind_label: str
    title: str
    place: str
    times: list[str] = Field(..., description="今天的时间（有例外时为例外的时间）")
    regular_times: list[str] = Field(..., description="平常的时间")
    changed: bool = Field(..., description="今天有例外（时间不同或有说明）")
    note: str = Field(..., description="今天例外的说明")
    area_id: int = Field(..., description="时间表所属区域")
    area: str
    home_id: int = Field(..., description="适用的住址")


class PortalCancelledOut(Schema):
    schedule_id: int
    kind: str
    kind_label: str
    title: str
    note: str
    area_id: int
    area: str
    home_id: int


class PortalFinanceOut(Schema):
    disclosure_id: int
    title: str
    number: int
    published_at: datetime.datetime
    income_total: str
    expense_total: str


class PortalHomeOut(Schema):
    date: datetime.date
    holiday: str = Field(..., description="工作日历中当天的名称（如 元旦、调休上班），没有则为空")
    is_workday: bool
    homes: list[PortalAreaOut] = Field(..., description="我已核实的住址；为空时以下各项也为空")
    schedules: list[PortalOccurrenceOut] = Field(..., description="今天的服务时间，垃圾清运在前，按时间排序")
    cancelled: list[PortalCancelledOut] = Field(..., description="今天停止的服务")
    notices: list[PortalNoticeOut] = Field(..., description="有效的通知（置顶在前，最多 5 条）")
    disclosures: list[PortalDisclosureOut] = Field(..., description="最近更新的公开栏事项（最多 5 条）")
    finance: PortalFinanceOut | None = Field(None, description="最新的收支公示")


def _occurrence(occurrence) -> dict:
    schedule = occurrence.schedule
    return {
        "schedule_id": schedule.pk, "kind": schedule.kind, "kind_label": str(schedule.get_kind_display()),
        "title": schedule.title, "place": schedule.place, "times": list(occurrence.times),
        "regular_times": list(schedule.times), "note": occurrence.note,
        "changed": bool(occurrence.note) or list(occurrence.times) != list(schedule.times),
        "area_id": schedule.area_id, "area": schedule.area.name, "home_id": occurrence.area.pk,
    }


@router.get("/home", response={200: PortalHomeOut})
def home(request):
    """What the portal's home page shows the caller today."""
    user = request.user
    today = timezone.localdate()
    day = schedules.week_for(user, today, days=1)[0]
    occurrences = sorted(day.occurrences, key=lambda o: o.schedule.kind != "garbage")  # stable: by time within
    finance = disclosures.latest_finance(user)
    return {
        "date": today, "holiday": day.holiday, "is_workday": day.is_workday,
        "homes": list(queries.homes(user).order_by("path")),
        "schedules": [_occurrence(o) for o in occurrences],
        "cancelled": [{"schedule_id": s.pk, "kind": s.kind, "kind_label": str(s.get_kind_display()), "title": s.title,
                       "note": e.note, "area_id": s.area_id, "area": s.area.name, "home_id": h.pk}
                      for s, e, h in schedules.cancelled_on(user, today)],
        "notices": list(notices.current_for(user, today).select_related("published_by", "withdrawn_by")[:HOME_NOTICES]),
        "disclosures": list(disclosures.latest_at_home(user, HOME_DISCLOSURES)),
        "finance": None if finance is None else {
            "disclosure_id": finance.disclosure_id, "title": finance.disclosure.title, "number": finance.number,
            "published_at": finance.published_at, "income_total": f"{finance.income_total:.2f}",
            "expense_total": f"{finance.expense_total:.2f}"},
    }


# ------------------------------------------------------------------------------ service points


class PortalPointsFilter(Schema):
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="经度（WGS-84），与 lat 一起给出")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="纬度（WGS-84）")
    area: int | None = Field(None, ge=1, le=MAX_ID, description="以该区域的标注点为起点（不给 lon/lat 时）")
    minutes: int = Field(servicemap.MAX_MINUTES, ge=1, le=servicemap.MAX_MINUTES, description="步行分钟数上限")
    type: list[str] = Field(default_factory=list, description="服务点类型代码，可重复；不填为全部")


class PortalOriginOut(Schema):
    lon: float
    lat: float
    area_id: int | None
    area: str | None


class PortalRingOut(Schema):
    minutes: int
    radius_m: float = Field(..., description="直线半径（米）")


class PortalPointOut(Schema):
    id: int
    name: str
    type: str
    type_name: str
    color: str
    lon: float
    lat: float
    address: str
    phone: str
    hours: str
    description: str
    area_id: int
    metres: int = Field(..., description="直线距离（米）")
    minutes: int = Field(..., description="步行分钟数（直线 × 1.25，按 80 米/分钟，向上取整）")
    ring: int | None = Field(..., description="所在的圈：5、10 或 15 分钟")


class PortalPointsOut(Schema):
    origin: PortalOriginOut | None = Field(None, description="起点；没有起点（未给坐标且没有已核实住址）时为空")
    rings: list[PortalRingOut]
    count: int
    items: list[PortalPointOut] = Field(..., description="由近到远（最多 500 处）")


def _origin(request, filters) -> servicemap.Origin | None:
    if (filters.lon is None) != (filters.lat is None):
        raise ValidationError({"lat" if filters.lat is None else "lon": _("经度和纬度须同时给出")})
    if filters.lon is not None:
        return servicemap.Origin(filters.lon, filters.lat, None)
    if filters.area is not None:
        area = Area.objects.filter(pk=filters.area).first()
        if area is None:
            raise Http404
        origin = servicemap.area_origin(area)
        if origin is None:
            raise ValidationError({"area": _("该区域没有标注点，请给出经纬度")})
        return origin
    found = servicemap.origin_for(request.user)
    return servicemap.Origin(*found) if found else None


@router.get("/points", response={200: PortalPointsOut, **errors(404)})
def points(request, filters: Query[PortalPointsFilter]):
    """Active service points within ``minutes`` of walking (15 by default) of ``lon``/``lat``, of an
    area's label point, or of my home, nearest first — as the map shows them. Service points are
    public information."""
    origin = _origin(request, filters)
    codes = [c for c in filters.type if c] or None
    if codes and any(len(c) > 32 for c in codes):
        raise ValidationError({"type": _("服务点类型代码过长")})
    rows = servicemap.nearby((origin.lon, origin.lat), filters.minutes, codes) if origin else []
    items = [{
        "id": p.pk, "name": p.name, "type": p.type.code, "type_name": lname(p.type), "color": p.type.color,
        "lon": p.lon, "lat": p.lat, "address": p.address, "phone": p.phone, "hours": p.hours,
        "description": p.description, "area_id": p.area_id, "metres": round(metres) if math.isfinite(metres) else 0,
        "minutes": mins, "ring": servicemap.ring_of(mins),
    } for p, metres, mins in rows[:MAX_POINTS]]
    return {
        "origin": None if origin is None else {
            "lon": origin.lon, "lat": origin.lat, "area_id": origin.area.pk if origin.area else None,
            "area": origin.area.name if origin.area else None},
        "rings": [{"minutes": m, "radius_m": round(servicemap.ring_radius_m(m), 1)} for m in servicemap.RINGS_MINUTES],
        "count": len(rows),
        "items": items,
    }

