"""Device alerts (cameras, access control) arrive as webhooks and become cases (source 设备告警).

``POST /hooks/devices/<source>/`` with a JSON body::

    {"alert_id": "…", "title": "…", "description": "…", "lon": 116.39, "lat": 39.9, "address": "…",
     "category_code": "09009", "urgent": false, "occurred_at": "2026-11-23T08:15:00+08:00"}

signed with the source's shared secret (setting ``DEVICE_WEBHOOK_SECRETS``)::

    X-Gongzhi-Signature: sha256=<hex HMAC-SHA256 of the raw body>

The alert id is the idempotency key: a resent alert answers 200 with the case made the first
time, a new one 201. Errors use the API's shape ``{"error": {"code", "message", "fields"}}``:
404 unknown source, 413 body over 64 KB, 401 bad or missing signature, 400 bad JSON or fields
(a point outside the city included). Bad input never ends in a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import User

from . import intake
from .choices import Source
from .directory import active_version
from .models import Category

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
SIGNATURE_HEADER = "HTTP_X_GONGZHI_SIGNATURE"
SIGNATURE_PREFIX = "sha256="
FIELDS = ("alert_id", "title", "description", "lon", "lat", "address", "category_code", "urgent", "occurred_at")
TEXT_LIMITS = {"alert_id": 100, "title": 100, "description": 5000, "address": 200, "category_code": 16}


def error(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    """An error in the API's shape."""
    return JsonResponse({"error": {"code": code, "message": str(message), "fields": fields or {}}}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def secret_for(source: str) -> str | None:
    """The configured secret of a source (None: unknown source, or configured without a secret)."""
    secrets = getattr(settings, "DEVICE_WEBHOOK_SECRETS", None) or {}
    secret = secrets.get(source)
    return secret if isinstance(secret, str) and secret else None


def sign(secret: str, body: bytes) -> str:
    """The header value a device sends: ``sha256=<hex digest>``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time comparison of the header with the expected signature."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))


def device_user(source: str) -> User:
    """The system user ``device-<source>`` that files a source's alerts (no usable password)."""
    username = f"device-{source}"[:150]
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return org_services.create_user(actor=None, username=username, password=None,
                                            display_name=_("设备告警：%(source)s") % {"source": source})
    except (IntegrityError, ValidationError):
        return User.objects.get(username=username)  # made by a concurrent request


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is larger than ``MAX_BODY`` (read no further than that)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    body = request.read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


def _text(data: dict, name: str, fields: dict[str, list[str]]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and name in ("alert_id", "category_code"):
        value = str(value)
    if not isinstance(value, str):
        fields[name] = [_("须为文本")]
        return ""
    if "\x00" in value:
        fields[name] = [_("不能含空字符（NUL）")]
        return ""
    value = value.strip()
    if len(value) > TEXT_LIMITS[name]:
        fields[name] = [_("不能超过 %(n)d 个字符") % {"n": TEXT_LIMITS[name]}]
        return ""
    return value


def _coordinate(data: dict, name: str, fields: dict[str, list[str]]) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
    except (ValueError, OverflowError):
        fields[name] = [_("须为数字")]
        return None
    return number


def _parse(data: dict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check the alert's fields (types, lengths, category, time); intake checks the rest."""
    fields: dict[str, list[str]] = {}
    values: dict[str, Any] = {name: _text(data, name, fields) for name in TEXT_LIMITS}
    if not values["alert_id"] and "alert_id" not in fields:
        fields["alert_id"] = [_("缺少告警编号 alert_id")]
    values["lon"] = _coordinate(data, "lon", fields)
    values["lat"] = _coordinate(data, "lat", fields)
    urgent = data.get("urgent", False)
    if urgent is None:
        urgent = False
    if not isinstance(urgent, bool) and urgent not in (0, 1):
        fields["urgent"] = [_("须为 true 或 false")]
    values["urgent"] = bool(urgent) if not isinstance(urgent, str) else False
    values["category"] = None
    if values["category_code"]:
        version = active_version()
        values["category"] = (Category.objects.filter(version=version, code=values["category_code"]).first()
                              if version else None)
        if values["category"] is None:
            fields["category_code"] = [_("当前分类目录中没有编码 %(code)s") % {"code": values["category_code"]}]
    occurred = data.get("occurred_at")
    values["occurred_at"] = None
    if occurred not in (None, ""):
        moment = None
        if isinstance(occurred, str) and "\x00" not in occurred and len(occurred) <= 40:
            try:
                moment = parse_datetime(occurred.strip())
            except ValueError:
                moment = None
        if moment is None:
            fields["occurred_at"] = [_("时间格式应为 ISO 8601，如 2026-11-23T08:15:00+08:00")]
        else:
            try:
                values["occurred_at"] = timezone.make_aware(moment) if timezone.is_naive(moment) else moment
            except (ValueError, OverflowError):
                fields["occurred_at"] = [_("时间格式应为 ISO 8601，如 2026-11-23T08:15:00+08:00")]
    return values, fields


@csrf_exempt
def device_alert(request: HttpRequest, source: str) -> JsonResponse:
    """Receive one signed device alert and file it as a case (see the module docstring)."""
    if request.method != "POST":
        response = error(405, "method_not_allowed", _("只接受 POST 请求"))
        response["Allow"] = "POST"
        return response
    secret = secret_for(source)
    if secret is None:
        return error(404, "not_found", _("未知的设备来源"))
    body = _read_body(request)
    if body is None:
        return error(413, "too_large", _("请求内容不能超过 %(kb)d KB") % {"kb": MAX_BODY // 1024})
    if not signature_ok(secret, body, request.META.get(SIGNATURE_HEADER)):
        return error(401, "unauthenticated", _("签名缺失或不正确（X-Gongzhi-Signature: sha256=<HMAC>）"))
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error(400, "invalid", _("请求内容不是有效的 UTF-8 JSON"))
    if not isinstance(data, dict):
        return error(400, "invalid", _("请求内容须为 JSON 对象"))
    values, fields = _parse(data)
    if fields:
        return error(400, "invalid", _("请求内容有误"), fields)
    title = values["title"] or (values["category"].name if values["category"] else _("设备告警"))
    extra: dict[str, Any] = {"device_source": source, "alert_id": values["alert_id"]}
    if values["occurred_at"] is not None:
        extra["occurred_at"] = values["occurred_at"].isoformat()
    report = intake.Report(
        title=title, description=values["description"], category=values["category"], lon=values["lon"],
        lat=values["lat"], address=values["address"], source=Source.DEVICE, urgent=values["urgent"],
        idempotency_key=values["alert_id"], extra=extra)
    try:
        case, created = intake.report_case(report, reporter=device_user(source))
    except ValidationError as exc:
        fields = ({k: [str(m) for m in v] for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict")
                  else {"__all__": [str(m) for m in exc.messages]})
        first = next(iter(fields.values()), [_("请求内容有误")])
        return error(400, "invalid", first[0] if first else _("请求内容有误"), fields)
    except DataError:  # e.g. a value beyond a column's range on PostgreSQL
        return error(400, "invalid", _("请求中含有无法保存的值"))
    except DatabaseError:
        logger.exception("device alert from %s could not be stored", source)
        return error(503, "unavailable", _("暂时无法保存，请稍后重发"))
    return JsonResponse({"number": case.number, "status": case.status, "locate_status": case.locate_status,
                         "created": created}, status=201 if created else 200)
