"""Every write of the Open311 door: issuing and revoking keys, taking a report, taking a
department's update. Reports go through ``cases.intake.report_case`` and updates through the
named transitions of ``cases.services`` — the same code as the web pages and /api/v1; nothing
here sets a case's status itself.
"""

from __future__ import annotations

import datetime
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from gongzhi.cases import intake
from gongzhi.cases import services as case_services
from gongzhi.cases.choices import Source, Status
from gongzhi.cases.extra_fields import fields_of
from gongzhi.cases.models import Case, CaseEvent
from gongzhi.core import audit
from gongzhi.orgs import services as org_services

from .models import ApiClient, ReceivedUpdate, SubmittedRequest

#: The spec's limit on a description.
MAX_DESCRIPTION = 4000
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_LENGTH = 2000
MAX_MEDIA_URL = 500
#: Control characters that have no place in a report (tab, newline and carriage return stay).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,60})\](\[\])?")


class Open311Error(Exception):
    """An answer in the spec's error list: HTTP ``status`` and ``[(code, description)]``."""

    def __init__(self, status: int, problems: list[tuple[Any, str]]):
        super().__init__(problems)
        self.status = status
        self.problems = problems

    @classmethod
    def one(cls, status: int, description: str, code: Any = None) -> Open311Error:
        return cls(status, [(code if code is not None else status, description)])


# --------------------------------------------------------------------------- keys


@transaction.atomic
def issue_client(*, actor, name: str, department=None, contact: str = "", batch: bool = False,
                 rate_limit: str = "600/m") -> tuple[ApiClient, str]:
    """Create a client application and its key; the clear text is returned once, never stored."""
    from gongzhi.core.ratelimit import parse_rate

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写客户端名称")]})
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("已有同名的客户端")]})
    try:
        parse_rate(rate_limit)
    except Exception:  # noqa: BLE001 - ImproperlyConfigured, said in the user's words
        raise ValidationError({"rate_limit": [_("频率限制的格式如 600/m")]}) from None
    raw = ApiClient.generate()
    client = ApiClient.objects.create(name=name[:100], contact=(contact or "")[:200], department=department,
                                      batch=bool(batch), rate_limit=rate_limit, key_prefix=raw[:12],
                                      key_digest=ApiClient.hash(raw))
    attach_user(client, actor=actor)
    audit.record(actor, "open311.client.create", client,
                 after=audit.snapshot(client, ["name", "department", "batch", "rate_limit", "key_prefix"]))
    return client, raw


def attach_user(client: ApiClient, *, actor) -> None:
    """Give the client its system account (and, for a department's client, a place on its staff)."""
    if client.user_id is None:
        user = org_services.create_user(actor=actor, username=f"open311-{client.pk}", password=None,
                                        display_name=(_("Open311：%(name)s") % {"name": client.name})[:64])
        client.user = user
        client.save(update_fields=["user"])
    if client.department_id is not None:
        org_services.add_staff(actor=actor, department=client.department, user=client.user,
                               title=_("Open311 接口"))


@transaction.atomic
def rotate_key(client: ApiClient, *, actor) -> str:
    """A new key for the client (the old one stops working at once); returns the clear text once."""
    raw = ApiClient.generate()
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    before = audit.snapshot(client, ["key_prefix", "revoked_at"])
    client.key_prefix, client.key_digest, client.revoked_at = raw[:12], ApiClient.hash(raw), None
    client.save(update_fields=["key_prefix", "key_digest", "revoked_at"])
    attach_user(client, actor=actor)
    audit.record(actor, "open311.client.key", client, before=before,
                 after=audit.snapshot(client, ["key_prefix", "revoked_at"]))
    return raw


@transaction.atomic
def revoke_client(client: ApiClient, *, actor) -> ApiClient:
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit.record(actor, "open311.client.revoke", client)
    return client


def authenticate(raw: str | None) -> ApiClient:
    """The client holding this key, or Open311Error 403 (missing, unknown or revoked key)."""
    raw = (raw or "").strip()
    if not raw:
        raise Open311Error.one(403, _("缺少 api_key"))
    client = None
    if len(raw) <= 200:
        client = ApiClient.objects.select_related("user", "department").filter(
            key_digest=ApiClient.hash(raw)).first()
    if client is None or not client.is_active or client.user is None or not client.user.is_active:
        raise Open311Error.one(403, _("api_key 无效或已被吊销"))
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > datetime.timedelta(minutes=1):
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


# --------------------------------------------------------------------------- jurisdictions


def jurisdictions() -> set[str]:
    """The ``jurisdiction_id`` values this deployment answers to (lower case): the setting
    ``OPEN311_JURISDICTIONS`` when there is one; otherwise the host of ``SITE_URL`` without
    ``www.`` (the spec's suggestion) and the code of every top-level area (the city's code)."""
    configured = getattr(settings, "OPEN311_JURISDICTIONS", None)
    if configured:
        return {str(item).strip().lower() for item in configured if str(item).strip()}
    from gongzhi.areas.models import Area

    ids = {code.lower() for code in Area.objects.filter(parent__isnull=True).exclude(code=None)
           .exclude(code="").values_list("code", flat=True)}
    host = (urlsplit(settings.SITE_URL).hostname or "").lower()
    if host:
        ids.add(host.removeprefix("www."))
    return ids


def check_jurisdiction(value: str | None) -> None:
    """An empty ``jurisdiction_id`` is as if absent (one city); an unknown one is 404."""
    value = (value or "").strip().lower()
    if value and value not in jurisdictions():
        raise Open311Error.one(404, _("未知的 jurisdiction_id：%(id)s") % {"id": value[:100]})


# --------------------------------------------------------------------------- input


def clean_text(value: str | None) -> str:
    """A text as a person meant it: control characters removed, surrounding blanks trimmed."""
    return CONTROL.sub("", value or "").strip()


def parse_moment(value: str | None, name: str) -> datetime.datetime | None:
    """A W3C datetime (``2026-11-23T08:15:00+08:00``, ``…Z``; a date alone is its midnight in the
    city), None for an empty value, Open311Error 400 otherwise."""
    text = clean_text(value)
    if not text:
        return None
    result = None
    if len(text) <= 40:
        try:
            result = parse_datetime(text.replace(" ", "+", 1) if "T" in text and " " in text else text)
            if result is None:
                day = parse_date(text)
                if day is not None:
                    result = datetime.datetime.combine(day, datetime.time())
        except (ValueError, OverflowError):
            result = None
    if result is None:
        raise Open311Error.one(400, _("%(name)s 不是有效的时间（W3C 格式，如 2026-11-23T08:15:00+08:00）")
                               % {"name": name})
    try:
        return timezone.make_aware(result) if timezone.is_naive(result) else result
    except (ValueError, OverflowError):
        raise Open311Error.one(400, _("%(name)s 不是有效的时间") % {"name": name}) from None


def _coordinate(value: str, name: str, low: float, high: float, problems: list) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        problems.append((400, _("%(name)s 须为 %(low)s 到 %(high)s 之间的数字（WGS84）")
                         % {"name": name, "low": low, "high": high}))
        return None
    return number


@dataclass
class Submission:
    """What ``POST requests`` carried, read from the form by the view."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    title: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    account_id: str = ""
    device_id: str = ""
    media_url: str = ""
    idempotency_key: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    media: list = field(default_factory=list)


def read_attributes(form) -> tuple[dict[str, Any], list]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` (repeated) from a QueryDict."""
    values: dict[str, Any] = {}
    problems: list = []
    keys = [k for k in form if k.startswith("attribute[")]
    if len(keys) > MAX_ATTRIBUTES:
        return {}, [(400, _("attribute 过多（最多 %(n)d 个）") % {"n": MAX_ATTRIBUTES})]
    for key in keys:
        match = ATTRIBUTE.fullmatch(key)
        if match is None:
            problems.append((400, _("无法识别的参数 %(key)s（应为 attribute[代码]）") % {"key": key[:80]}))
            continue
        items = [clean_text(v) for v in form.getlist(key)]
        if any(len(v) > MAX_ATTRIBUTE_LENGTH for v in items):
            problems.append((400, _("attribute[%(code)s] 过长") % {"code": match.group(1)}))
            continue
        values[match.group(1)] = items if match.group(2) else (items[-1] if items else "")
    return values, problems


def _attribute_values(category, given: dict[str, Any], problems: list) -> dict[str, Any]:
    """Open311 attribute values → the case's ``extra`` (intake checks them against the category's
    fields). A date field also takes a W3C datetime (its local date is kept)."""
    fields = {f.name: f for f in fields_of(category)}
    extra: dict[str, Any] = {}
    for code, value in given.items():
        spec = fields.get(code)
        if isinstance(value, list):
            if spec is not None and len(value) > 1:
                problems.append((400, _("attribute[%(code)s] 只能有一个值") % {"code": code}))
                continue
            value = value[0] if value else ""
        if spec is not None and spec.type == "date" and isinstance(value, str) and "T" in value:
            try:
                moment = parse_moment(value, f"attribute[{code}]")
            except Open311Error as exc:
                problems.extend(exc.problems)
                continue
            value = timezone.localtime(moment).date().isoformat() if moment else ""
        extra[code] = value
    return extra


def _location(sub: Submission, problems: list) -> tuple[float | None, float | None, str]:
    """(lon, lat, address) from lat/long, address_id (a grid or building code: its label point)
    or address_string."""
    address = clean_text(sub.address_string)[:200]
    lat_text, long_text = clean_text(sub.lat), clean_text(sub.long)
    if lat_text or long_text:
        if not (lat_text and long_text):
            problems.append((400, _("lat 和 long 须同时提供")))
            return None, None, address
        lat = _coordinate(lat_text, "lat", -90, 90, problems)
        lon = _coordinate(long_text, "long", -180, 180, problems)
        return lon, lat, address
    code = clean_text(sub.address_id)
    if code:
        from gongzhi.areas.models import Area

        area = Area.objects.filter(code=code[:32]).only("pk", "name", "label_lon", "label_lat").first()
        if area is None:
            problems.append((400, _("address_id 不是本市的网格或楼栋编码：%(code)s") % {"code": code[:32]}))
            return None, None, address
        if area.label_lon is None or area.label_lat is None:
            return None, None, address or area.name  # no polygon: to be located by the command center
        return area.label_lon, area.label_lat, address or area.name
    if not address:
        problems.append((400, _("请提供位置：lat 和 long，或 address_string，或 address_id")))
    return None, None, address


def _media_url(value: str, problems: list) -> str:
    url = clean_text(value)
    if not url:
        return ""
    parts = urlsplit(url) if len(url) <= MAX_MEDIA_URL else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append((400, _("media_url 须为 http 或 https 链接，不超过 %(n)d 个字符") % {"n": MAX_MEDIA_URL}))
        return ""
    return url


def _title(sub: Submission, description: str, category) -> str:
    for text in (clean_text(sub.title), description.splitlines()[0].strip() if description else ""):
        if text:
            return text[:100]
    return category.name[:100]


def _field_problems(exc: ValidationError) -> list:
    """intake's field errors in Open311's words (``extra.plate`` is ``attribute[plate]``)."""
    names = {"lon": "long", "address": "address_string", "photos": "media", "title": "description",
             "note": "description", "reason": "description"}
    if not hasattr(exc, "error_dict"):
        return [(400, str(m)) for m in exc.messages]
    out = []
    for key, messages in exc.message_dict.items():
        shown = f"attribute[{key[6:]}]" if key.startswith("extra.") else names.get(key, key)
        out += [(400, f"{shown}: {m}") for m in messages]
    return out


def submit_request(client: ApiClient, sub: Submission) -> tuple[SubmittedRequest, bool]:
    """``POST requests``: a report from an Open311 client becomes a case through intake (grid
    lookup, routing, time limits, idempotency) and waits in the command center's queue.

    Returns ``(submitted, created)``; Open311Error 400/404 lists every problem found."""
    from gongzhi.cases import directory

    problems: list = []
    code = clean_text(sub.service_code)
    if not code:
        raise Open311Error.one(400, _("缺少 service_code"))
    category = directory.active_category(code[:16]) if len(code) <= 16 else None
    if category is None:
        raise Open311Error.one(404, _("没有这个服务（service_code）：%(code)s") % {"code": code[:40]})
    description = CONTROL.sub("", sub.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        problems.append((400, _("description 不能超过 %(n)d 个字符（现有 %(m)d 个）")
                         % {"n": MAX_DESCRIPTION, "m": len(description)}))
    lon, lat, address = _location(sub, problems)
    extra = _attribute_values(category, sub.attributes, problems)
    media_url = _media_url(sub.media_url, problems)
    name = " ".join(p for p in (clean_text(sub.last_name), clean_text(sub.first_name)) if p)[:64]
    key = clean_text(sub.idempotency_key)
    if len(key) > 100:
        problems.append((400, _("idempotency_key 不能超过 100 个字符")))
    if problems:
        raise Open311Error(400, problems)
    report = intake.Report(
        title=_title(sub, description, category), description=description, category=category, lon=lon, lat=lat,
        address=address, source=Source.API, idempotency_key=key or None, reporter_name=name,
        reporter_phone=clean_text(sub.phone)[:32], extra=extra, photos=list(sub.media))
    try:
        case, created = intake.report_case(report, reporter=client.user)
    except ValidationError as exc:
        raise Open311Error(400, _field_problems(exc)) from None
    submitted = SubmittedRequest.objects.filter(case=case).first()
    if submitted is None:
        try:
            with transaction.atomic():
                submitted = SubmittedRequest.objects.create(
                    case=case, client=client, token=secrets.token_hex(16), email=clean_text(sub.email)[:254],
                    account_id=clean_text(sub.account_id)[:100], device_id=clean_text(sub.device_id)[:100],
                    media_url=media_url)
        except IntegrityError:  # the same retried report, linked by a concurrent request
            submitted = SubmittedRequest.objects.get(case=case)
    return submitted, created


# --------------------------------------------------------------------------- status


#: Our states → Open311's two (GET requests).
def open_or_closed(status: str) -> str:
    return "open" if status in (Status.REPORTED, Status.FILED, Status.DISPATCHED, Status.RETURNED,
                                Status.IN_PROGRESS, Status.HANDLED) else "closed"


#: Our states → FixMyStreet's extended statuses (servicerequestupdates), lower case.
EXTENDED_STATUS = {
    Status.REPORTED: "open",
    Status.FILED: "investigating",
    Status.DISPATCHED: "action_scheduled",
    Status.RETURNED: "internal_referral",
    Status.IN_PROGRESS: "in_progress",
    Status.HANDLED: "fixed",
    Status.CLOSED: "closed",
    Status.NOT_FILED: "no_further_action",
    Status.WITHDRAWN: "cancelled",
    Status.MERGED: "duplicate",
}

#: What a department's system may say (upper or lower case) → what is done.
ACCEPT_STATUSES = {"IN_PROGRESS", "INVESTIGATING", "ACTION_SCHEDULED", "PLANNED"}
HANDLE_STATUSES = {"FIXED", "CLOSED"}
RETURN_STATUSES = {"NOT_COUNCILS_RESPONSIBILITY", "INTERNAL_REFERRAL"}


@dataclass
class UpdateIn:
    service_request_id: str = ""
    update_id: str = ""
    status: str = ""
    updated_datetime: str = ""
    description: str = ""
    media: list = field(default_factory=list)


def post_update(client: ApiClient, data: UpdateIn) -> tuple[ReceivedUpdate, bool]:
    """``POST servicerequestupdates`` from a department's own system: move the case dispatched to
    that department as its staff would — ``IN_PROGRESS`` (and ``INVESTIGATING``,
    ``ACTION_SCHEDULED``, ``PLANNED``) accepts it, ``FIXED``/``CLOSED`` reports it handled (签收
    first if needed; the center still verifies and closes), ``NOT_COUNCILS_RESPONSIBILITY`` /
    ``INTERNAL_REFERRAL`` returns it. A resent ``update_id`` answers with the first result.

    Returns ``(update, created)``."""
    if client.department_id is None:
        raise Open311Error.one(403, _("该 api_key 不属于任何部门，不能回报办理进展"))
    problems: list = []
    number = clean_text(data.service_request_id)
    update_id = clean_text(data.update_id)
    status = clean_text(data.status).upper()
    description = CONTROL.sub("", data.description or "").strip()
    for name, value in (("service_request_id", number), ("update_id", update_id), ("status", status)):
        if not value:
            problems.append((400, _("缺少 %(name)s") % {"name": name}))
    if len(update_id) > 100:
        problems.append((400, _("update_id 不能超过 100 个字符")))
    if len(description) > MAX_DESCRIPTION:
        problems.append((400, _("description 不能超过 %(n)d 个字符") % {"n": MAX_DESCRIPTION}))
    if status and status not in ACCEPT_STATUSES | HANDLE_STATUSES | RETURN_STATUSES:
        problems.append((400, _("部门不能把案件设为 %(status)s（可用：IN_PROGRESS、FIXED、"
                                "NOT_COUNCILS_RESPONSIBILITY）") % {"status": status[:40]}))
    try:
        when = parse_moment(data.updated_datetime, "updated_datetime")
    except Open311Error as exc:
        problems += exc.problems
        when = None
    if problems:
        raise Open311Error(400, problems)
    existing = ReceivedUpdate.objects.filter(client=client, update_id=update_id).select_related("case", "event").first()
    if existing is not None:
        return existing, False
    case = Case.objects.filter(number=number[:32]).first() if len(number) <= 32 else None
    if case is None:
        raise Open311Error.one(404, _("没有这个案件：%(number)s") % {"number": number[:40]})
    if case.department_id != client.department_id:
        raise Open311Error.one(403, _("案件 %(number)s 没有派遣给本部门") % {"number": case.number})
    actor = client.user
    try:
        with transaction.atomic():
            if status in ACCEPT_STATUSES:
                if case.status != Status.IN_PROGRESS:  # already on it: recorded, nothing to move
                    case = case_services.accept_case(case, actor=actor, note=description[:2000])
            elif status in HANDLE_STATUSES:
                if case.status == Status.DISPATCHED:
                    case = case_services.accept_case(case, actor=actor)
                case = case_services.handle_case(case, actor=actor, note=description, photos=list(data.media))
            else:
                case = case_services.return_case(case, actor=actor, reason=description)
            event = CaseEvent.objects.filter(case=case).order_by("-at", "-id").first()
            update = ReceivedUpdate.objects.create(client=client, case=case, update_id=update_id[:100],
                                                   status=status[:40], description=description,
                                                   updated_datetime=when, event=event)
            audit.record(actor, "open311.update", case, after={"update_id": update_id[:100], "status": status},
                         note=client.name)
    except case_services.TransitionError as exc:
        raise Open311Error(400, [(409, m) for m in exc.messages]) from None
    except PermissionDenied as exc:
        raise Open311Error.one(403, str(exc) or _("无权操作该案件")) from None
    except ValidationError as exc:
        raise Open311Error(400, _field_problems(exc)) from None
    except IntegrityError:  # the same update_id, taken by a concurrent request
        existing = ReceivedUpdate.objects.filter(client=client, update_id=update_id).first()
        if existing is None:
            raise
        return existing, False
    return update, True
