"""What the Open311 door publishes: the service list and definitions, and cases and their
progress as anybody may see them.

Public fields only (the same view of a case as the report page's "similar open cases nearby"):
number, category, status, the case's title as its description, department, times, address, point,
grid code and the public photo copy (re-encoded, no EXIF). Never the reporter (name, phone, account,
the contact details a client sent), what they wrote beyond the title, the extra fields, or the
notes on the timeline — ``status_notes`` and an update's ``description`` are the status and the
step in words (docs/api.md, "What is published").
"""

from __future__ import annotations

import datetime

from django.db.models import F, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.cases.choices import TERMINAL_STATES
from gongzhi.cases.extra_fields import DEFAULT_MAX_LENGTH, fields_of
from gongzhi.cases.models import Case, CaseEvent, CasePhoto, Category, DirectoryVersion
from gongzhi.cases.services import ACTION_LABELS

from .services import EXTENDED_STATUS, Open311Error, open_or_closed

#: The spec's default window and its maximum span, and the most rows one answer carries.
WINDOW = datetime.timedelta(days=90)
MAX_ROWS = 1000
MAX_IDS = 1000
#: Photos published through ``media_url``: the report's and the department's result.
PUBLIC_STAGES = (CasePhoto.Stage.REPORT, CasePhoto.Stage.HANDLE)
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


# --------------------------------------------------------------------------- services


def active_categories() -> QuerySet[Category]:
    version = DirectoryVersion.objects.filter(is_active=True).first()
    return Category.objects.filter(version=version, is_active=True).order_by("code")


def service(category: Category) -> dict:
    keywords = ",".join(w for w in category.keywords.replace("，", " ").replace(",", " ").split() if w)
    description = " · ".join(p for p in (category.major_name, str(category.get_kind_display())) if p)
    return {
        "service_code": category.code, "service_name": category.name, "description": description,
        "metadata": bool(fields_of(category)), "type": "realtime", "keywords": keywords,
        "group": category.major_name or str(category.get_kind_display()),
    }


DATATYPES = {"number": "number", "choice": "singlevaluelist", "date": "datetime"}


def definition(category: Category) -> dict:
    attributes = []
    for order, f in enumerate(fields_of(category), start=1):
        if f.type == "text":
            datatype = "text" if f.long_text else "string"
            described = _("文本，最多 %(n)d 个字符") % {"n": f.max_length or DEFAULT_MAX_LENGTH}
        elif f.type == "number":
            datatype, described = "number", _("数字")
        elif f.type == "choice":
            datatype, described = "singlevaluelist", _("从 values 中选择一项，提交其 key")
        else:
            datatype, described = "datetime", _("日期，如 2026-11-23（也接受 W3C 时间，取其当地日期）")
        attributes.append({
            "variable": True, "code": f.name, "datatype": datatype, "required": f.required,
            "datatype_description": described, "order": order, "description": f.display_label,
            "values": [{"key": c, "name": c} for c in f.choices],
        })
    return {"service_code": category.code, "attributes": attributes}


def discovery(base_url: str) -> dict:
    from django.conf import settings

    version = DirectoryVersion.objects.filter(is_active=True).first()
    changed = (version.activated_at or version.loaded_at) if version else None
    changeset = timezone.localtime(changed).isoformat(timespec="seconds") if changed else "0"
    return {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "") or settings.DEFAULT_FROM_EMAIL,
        "key_service": _("api_key 由本平台管理员为每个客户端应用单独发放（管理后台 → Open311 客户端，"
                         "或命令 gongzhi open311_key）；请联系平台管理员，说明应用名称和对接单位。"),
        "endpoints": [{"specification": SPECIFICATION, "url": base_url, "changeset": changeset,
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    }


# --------------------------------------------------------------------------- requests


def split_list(value: str | None, limit: int, name: str) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > limit:
        raise Open311Error.one(400, _("%(name)s 最多 %(n)d 项") % {"name": name, "n": limit})
    return items


def window(start: datetime.datetime | None, end: datetime.datetime | None, *, now=None):
    """The spec's window: at most 90 days; the last 90 days when neither end is given."""
    now = now or timezone.now()
    if start is None and end is None:
        return now - WINDOW, now
    try:
        if start is None:
            start = end - WINDOW
        if end is None:
            end = start + WINDOW
    except OverflowError:  # 0001-01-01 or 9999-12-31 and a window beyond the calendar
        raise Open311Error.one(400, _("start_date 或 end_date 超出范围")) from None
    if end < start:
        raise Open311Error.one(400, _("end_date 早于 start_date"))
    if end - start > WINDOW:
        raise Open311Error.one(400, _("start_date 与 end_date 相隔不能超过 90 天"))
    return start, end


def _public_photos() -> Prefetch:
    return Prefetch("photos", queryset=CasePhoto.objects.filter(stage__in=PUBLIC_STAGES).only(
        "id", "case_id", "stage", "event_id", "uploaded_at"), to_attr="public_photos")


def cases() -> QuerySet[Case]:
    return (Case.objects.public().select_related("category", "department", "open311")
            .only("number", "title", "status", "category__code", "category__name", "department__name",
                  "created_at", "updated_at", "closed_at", "due_at", "address", "area_id", "area__code",
                  "lat", "lon", "open311__media_url", "open311__id")
            .select_related("area").prefetch_related(_public_photos()))


def find_requests(*, ids: list[str], codes: list[str], statuses: list[str], start, end, page: int,
                  page_size: int) -> list[Case]:
    qs = cases()
    if ids:
        return list(qs.filter(number__in=[i[:32] for i in ids]).order_by("-created_at", "-id"))
    if codes:
        qs = qs.filter(category__code__in=[c[:16] for c in codes])
    wanted = set(statuses)
    if wanted == {"open"}:
        qs = qs.exclude(status__in=TERMINAL_STATES)
    elif wanted == {"closed"}:
        qs = qs.filter(status__in=TERMINAL_STATES)
    qs = qs.filter(created_at__gte=start, created_at__lte=end).order_by("-created_at", "-id")
    offset = (page - 1) * page_size
    return list(qs[offset:offset + page_size])


def media_url(request, case: Case) -> str:
    photos = getattr(case, "public_photos", None)
    if photos is None:
        photos = list(case.photos.filter(stage__in=PUBLIC_STAGES))
    report = [p for p in photos if p.stage == CasePhoto.Stage.REPORT] or photos
    if report:
        return request.build_absolute_uri(reverse("open311:media", args=[report[0].pk]))
    submitted = getattr(case, "open311", None) if hasattr(case, "open311") else None
    return submitted.media_url if submitted is not None else ""


def status_notes(case: Case) -> str:
    return str(case.get_status_display())


def request_item(request, case: Case) -> dict:
    status = open_or_closed(case.status)
    updated = case.closed_at if status == "closed" and case.closed_at else case.updated_at
    return {
        "service_request_id": case.number,
        "status": status,
        "status_notes": status_notes(case),
        "service_name": case.category.name if case.category_id else "",
        "service_code": case.category.code if case.category_id else "",
        "description": case.title,
        "agency_responsible": case.department.name if case.department_id else "",
        "service_notice": "",
        "requested_datetime": case.created_at,
        "updated_datetime": updated,
        "expected_datetime": case.due_at if status == "open" else None,
        "address": case.address,
        "address_id": case.area.code if case.area_id and case.area.code else "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url(request, case),
    }


# --------------------------------------------------------------------------- updates


def find_updates(*, start, end, ids: list[str]) -> list[CaseEvent]:
    """Timeline events that moved a case (and each report), oldest first: what a client polls."""
    qs = (CaseEvent.objects.filter(Q(action="report") | ~Q(from_status=F("to_status")),
                                   case__in=Case.objects.public())
          .select_related("case").only("id", "at", "action", "to_status", "case__number")
          .prefetch_related(Prefetch("photos", queryset=CasePhoto.objects.filter(stage__in=PUBLIC_STAGES)
                                     .only("id", "event_id"), to_attr="public_photos")))
    if ids:
        qs = qs.filter(case__number__in=[i[:32] for i in ids])
    return list(qs.filter(at__gte=start, at__lte=end).order_by("at", "id")[:MAX_ROWS])


def update_item(request, event: CaseEvent) -> dict:
    from gongzhi.cases.choices import Status

    photos = getattr(event, "public_photos", [])
    label = ACTION_LABELS.get(event.action, event.action)
    status_label = Status(event.to_status).label if event.to_status in Status.values else event.to_status
    return {
        "update_id": str(event.pk),
        "service_request_id": event.case.number,
        "status": EXTENDED_STATUS.get(event.to_status, "open"),
        "updated_datetime": event.at,
        "description": f"{label} · {status_label}",
        "media_url": request.build_absolute_uri(reverse("open311:media", args=[photos[0].pk])) if photos else "",
        "external_status_code": event.to_status,
    }
