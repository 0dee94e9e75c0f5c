"""The API base: one NinjaAPI at /api/v1, session or token auth, one error shape, pagination.

Error body, for every failure the API returns::

    {"error": {"code": "not_found", "message": "…", "fields": {"name": ["…"]}}}
"""

from __future__ import annotations

import datetime
import functools
import logging
from http.client import responses as http_responses
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PageNumberPagination
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from .errors import Conflict
from .models import ApiToken

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
logger = logging.getLogger("gongzhi.api")


class TokenError(HttpError):
    """A token that exists but can't be used (expired, revoked): 401 with its own error code."""

    def __init__(self, code: str, message: str):
        super().__init__(401, message)
        self.code = code


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gz_…``: a personal token, checked by hash; read tokens can't write.

    Every token expires (``expires_at``, or ``API_TOKEN_MAX_DAYS`` after creation for tokens made
    without one); an expired or revoked token gets 401 with the code ``token_expired`` or
    ``token_revoked``. ``last_used_at`` is written at most once a minute per token, by a conditional
    UPDATE, so a busy client costs one indexed read per request, not a write.
    """

    openapi_description = "个人 API 令牌 / personal API token"
    LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)

    def authenticate(self, request, token: str):
        if not token or len(token) > 200:
            return None
        row = token_with_user(ApiToken.hash(token))
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.revoked_at is not None:
            raise TokenError("token_revoked", _("该 API 令牌已被吊销"))
        if row.expiry() <= now:
            raise TokenError("token_expired", _("该 API 令牌已过期，请重新创建"))
        if request.method not in SAFE_METHODS and row.scope != ApiToken.Scope.WRITE:
            raise HttpError(403, _("该令牌只有只读权限"))
        if row.last_used_at is None or now - row.last_used_at > self.LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).exclude(
                last_used_at__gte=now - self.LAST_USED_RESOLUTION).update(last_used_at=now)
        request.user = row.user
        request.api_token = row
        return row.user


def token_with_user(digest: str) -> ApiToken | None:
    """``ApiToken.objects.select_related("user").filter(digest=digest).first()`` — asked on every
    API request, so in SQL written once per process (core.rows) instead of built each time."""
    from django.contrib.auth import get_user_model
    from django.db import connections, router

    from . import rows

    user_model = get_user_model()
    alias = router.db_for_read(ApiToken)
    with connections[alias].cursor() as cursor:
        cursor.execute(_token_sql(alias), [digest])
        found = cursor.fetchone()
    if found is None:
        return None
    width = rows.width(ApiToken)
    token = rows.build(ApiToken, found[:width], alias)
    token.user = rows.build(user_model, found[width:], alias)
    return token


@functools.cache
def _token_sql(alias: str) -> str:
    from django.contrib.auth import get_user_model
    from django.db import connections

    from . import rows

    user_model = get_user_model()
    quote = connections[alias].ops.quote_name
    tokens, users = quote(ApiToken._meta.db_table), quote(user_model._meta.db_table)
    return (f"SELECT {rows.columns(ApiToken, alias)}, {rows.columns(user_model, alias)} FROM {tokens} "
            f"INNER JOIN {users} ON {users}.{quote(user_model._meta.pk.column)} = "
            f"{tokens}.{quote(ApiToken._meta.get_field('user').column)} "
            f"WHERE {tokens}.{quote(ApiToken._meta.get_field('digest').column)} = %s LIMIT 1")


class Session(SessionAuth):
    """The web session (with CSRF on writes, as Django's own views). A session that still owes its
    second factor (orgs.twofactor) is not logged in as far as the API is concerned."""

    def authenticate(self, request, key):
        from gongzhi.orgs import twofactor

        user = super().authenticate(request, key)
        if user is not None and twofactor.pending(request):
            raise HttpError(401, _("请先完成两步验证"))
        return user


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


class JsonParser(Parser):
    """JSON bodies, refusing NUL characters (no database column can store them everywhere)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if _contains_nul(data):
            raise DjangoValidationError(_("请求中含有无法保存的空字符（NUL）"))
        return data


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = Field(default_factory=dict)


class ErrorBody(Schema):
    error: ErrorOut


class Pagination(PageNumberPagination):
    """Page numbers, with a count that stops at ``COUNT_LIMIT``: an exact ``COUNT(*)`` over a million
    cases costs more than the page itself, and nobody pages through ten thousand rows."""

    #: Counted exactly up to here; past it, ``count`` is ``COUNT_LIMIT`` + 1 and ``count_exact`` false.
    COUNT_LIMIT = 10_000

    class Input(Schema):
        page: int = Field(1, ge=1, le=100_000)
        page_size: int | None = Field(None, ge=1, le=500)

    class Output(Schema):
        items: list[Any]
        count: int = Field(..., description="符合条件的总数；超过 10000 时为 10001 (more than 10,000)")
        count_exact: bool = Field(..., description="count 是否为精确值 (false: more than 10,000)")

    def _items_count(self, queryset) -> int:
        if isinstance(queryset, QuerySet):
            # COUNT(*) over a LIMITed subquery, unordered: any 10,001 rows will do, and an ordered
            # subquery forces an ordered scan (a common-word search: 673 → 38 ms on 1,000,000 cases).
            return queryset.order_by()[: self.COUNT_LIMIT + 1].count()
        return super()._items_count(queryset)

    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["count_exact"] = page["count"] <= self.COUNT_LIMIT
        return page


ERROR_STATUSES = {
    400: "请求内容有误 (invalid)", 401: "未登录或令牌无效 (unauthenticated)", 403: "没有权限 (forbidden)",
    404: "未找到，或不在你的管辖范围内 (not_found)", 409: "状态已变化，操作冲突 (conflict)",
    413: "内容过大 (too_large)", 429: "请求过于频繁 (rate_limited)",
}


def errors(*statuses: int) -> dict[int, type[ErrorBody]]:
    """Error answers an operation gives besides those every operation documents (see
    ``document_errors``): ``response={200: CaseOut, **errors(403, 409)}``."""
    return dict.fromkeys(statuses, ErrorBody)


def document_errors(schema: dict) -> dict:
    """Document, on every operation, the errors the framework itself answers with: 400 when it takes
    parameters or a body (validation), 401 when it needs a login, 403 for writes (a read-only token),
    404 when its path names an object ("not yours" and "doesn't exist" are the same 404). Errors
    that depend on the operation (403 on a read, 409) are declared in its decorator with ``errors``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in body.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault("ErrorBody", body)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            statuses = set()
            parameters = operation.get("parameters") or []
            if parameters or operation.get("requestBody"):
                statuses.add(400)
            if operation.get("security"):
                statuses.add(401)
                if method.upper() not in SAFE_METHODS:
                    statuses.add(403)
            if any(p.get("in") == "path" for p in parameters):
                statuses.add(404)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(status, {"description": ERROR_STATUSES[status], "content": error_content})
            for status, response in responses.items():  # declared with errors(): name them too
                if status in ERROR_STATUSES and response.get("description") == http_responses.get(status):
                    response["description"] = ERROR_STATUSES[status]
    return schema


class GongzhiAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        return document_errors(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params))


api = GongzhiAPI(
    title="共治 Gongzhi API",
    version="1",
    description="网格化社会治理平台接口。错误统一为 `{\"error\": {code, message, fields}}`。",
    auth=[TokenAuth(), Session()],
    parser=JsonParser(),
    urls_namespace="api",
)


def error(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(
        request, {"error": {"code": code, "message": str(message), "fields": fields or {}}}, status=status
    )


def _ninja_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "form")]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "")))
    return fields


@api.exception_handler(NinjaValidationError)
def on_validation(request, exc):
    return error(request, 400, "invalid", _("请求内容有误"), _ninja_fields(exc.errors))


@api.exception_handler(DjangoValidationError)
def on_django_validation(request, exc):
    if hasattr(exc, "message_dict"):
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        fields = {"__all__": [str(m) for m in exc.messages]}
    return error(request, 400, "invalid", _("请求内容有误"), fields)


@api.exception_handler(Conflict)
def on_conflict(request, exc):
    return error(request, 409, "conflict", " ".join(str(m) for m in exc.messages))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error(request, 404, "not_found", _("未找到"))


@api.exception_handler(PermissionDenied)
def on_forbidden(request, exc):
    return error(request, 403, "forbidden", str(exc) or _("没有权限"))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return error(request, 401, "unauthenticated", _("请先登录或提供有效的 API 令牌"))


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    from .middleware import explain_csrf_failure

    exc = explain_csrf_failure(exc)  # django-ninja's own "CSRF check Failed", in the user's language
    codes = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "too_large", 429: "rate_limited"}
    code = getattr(exc, "code", None) or codes.get(exc.status_code, "error")
    return error(request, exc.status_code, code, str(exc))


@api.exception_handler(DataError)
def on_data_error(request, exc):
    # e.g. a NUL character inside a JSON string, or a number beyond the column's range.
    return error(request, 400, "invalid", _("请求中含有无法保存的值"))


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    # A bug, not bad input: log it with the request id and answer in the same shape.
    logger.exception("unhandled API error (request %s)", getattr(request, "request_id", "-"))
    return error(request, 500, "server_error", _("服务器内部错误，已记录"))
