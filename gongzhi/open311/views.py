"""Open311 GeoReport v2 at /open311/v2/ (docs/api.md). Every resource in ``.json`` and ``.xml``.

Reads are keyless and public; ``POST requests`` and ``POST servicerequestupdates`` need a
client's ``api_key`` (form field). These views never look at the web session (so CSRF does not
apply: they are exempt, the key is the credential). Errors are the spec's list of
``{code, description}``: 404 unknown jurisdiction, service, request or token; 403 bad or missing
key; 400 anything else (429 over a client's rate limit; 503 with Retry-After while the database is
unreachable, so a client retries instead of giving up) — never a 500 for bad input.
"""

from __future__ import annotations

import functools
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from gongzhi.core import ratelimit

from . import formats, queries, services
from .models import ApiClient, SubmittedRequest
from .services import Open311Error

logger = logging.getLogger("gongzhi.open311")

#: A POST with a wrong key counts against the caller's address at the login rate (key guessing).
BAD_KEY = ratelimit.Door("open311-key", anonymous="RATELIMIT_LOGIN")


def endpoint(methods: tuple[str, ...]):
    """Wrap a view: method check, jurisdiction check, and every failure as the spec's error list."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def inner(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            # Clients have no language switch: like /api/v1, they may ask for English with
            # Accept-Language (the language cookie, when a browser has one, still wins).
            from django.conf import settings
            from django.utils import translation
            from django.utils.cache import patch_vary_headers

            lang = request.LANGUAGE_CODE if settings.LANGUAGE_COOKIE_NAME in request.COOKIES else None
            lang = lang or translation.get_language_from_request(request)
            with translation.override(lang):
                response = answer(request, *args, fmt=fmt, **kwargs)
            response["Content-Language"] = lang
            patch_vary_headers(response, ("Accept-Language",))
            return response

        def answer(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = formats.errors(fmt, 405, [(405, _("不支持 %(method)s 请求") % {
                    "method": request.method[:10]})])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                if request.method == "POST" and _is_xml(request):
                    raise Open311Error.one(400, _("不接受 XML 请求体：请以表单（application/x-www-form-urlencoded "
                                                  "或 multipart/form-data）提交"))
                data = request.POST if request.method == "POST" else request.GET
                services.check_jurisdiction(data.get("jurisdiction_id") or request.GET.get("jurisdiction_id"))
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                response = formats.errors(fmt, exc.status, exc.problems)
                if exc.status == 429:
                    response["Retry-After"] = str(getattr(exc, "retry_after", 60))
                return response
            except Http404:
                return formats.errors(fmt, 404, [(404, _("未找到"))])
            except PermissionDenied as exc:
                return formats.errors(fmt, 403, [(403, str(exc) or _("无权执行此操作"))])
            except ValidationError as exc:
                return formats.errors(fmt, 400, [(400, m) for m in exc.messages])
            except DataError:
                return formats.errors(fmt, 400, [(400, _("请求中含有无法保存的值"))])
            except DatabaseError:
                logger.exception("open311: database unavailable")
                response = formats.errors(fmt, 503, [(503, _("暂时无法处理，请稍后重试"))])
                response["Retry-After"] = "30"  # the database is back within seconds (docs/reliability.md)
                return response

        return inner

    return wrap


def _is_xml(request: HttpRequest) -> bool:
    return "xml" in (request.content_type or "").lower()


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    text = (value or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Open311Error.one(400, _("%(name)s 须为 %(low)d 到 %(high)d 之间的整数")
                               % {"name": name, "low": low, "high": high})
    return int(text)


def _limit(request: HttpRequest, client: ApiClient) -> None:
    """Count the client's POST; Open311Error 429 over its rate (``ApiClient.rate_limit``)."""
    from django.conf import settings

    if not settings.RATELIMIT_ENABLED:
        return
    try:
        rate = ratelimit.parse_rate(client.rate_limit)
    except Exception:  # noqa: BLE001 - a mistyped rate in the admin: the default
        rate = ratelimit.parse_rate("600/m")
    if rate is None:
        return
    try:
        count, remaining = ratelimit.hit(f"open311:c{client.pk}", rate)
    except DatabaseError:
        logger.warning("open311 rate counter unavailable; request let through", exc_info=True)
        return
    if count > rate.limit:
        error = Open311Error.one(429, ratelimit.message(ratelimit.Refusal(BAD_KEY, max(1, int(remaining) + 1))))
        error.retry_after = max(1, int(remaining) + 1)
        raise error


def _client(request: HttpRequest) -> ApiClient:
    """The client whose key the POST carries (form field, or the query string as some clients send
    it); a wrong key counts against the caller's address."""
    from django.conf import settings

    raw = request.POST.get("api_key") or request.GET.get("api_key")
    try:
        client = services.authenticate(raw)
    except Open311Error:
        if settings.RATELIMIT_ENABLED and raw:
            refusal = ratelimit.check(request, BAD_KEY)
            if refusal is not None:
                error = Open311Error.one(429, ratelimit.message(refusal))
                error.retry_after = refusal.retry_after
                raise error from None
        raise
    _limit(request, client)
    return client


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "json"})).rsplit("/", 1)[0]


# --------------------------------------------------------------------------- discovery and services


@endpoint(("GET",))
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    return formats.respond(fmt, "discovery", queries.discovery(base_url(request)))


@endpoint(("GET",))
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return formats.respond(fmt, "services", [queries.service(c) for c in queries.active_categories()])


@endpoint(("GET",))
def service_definition(request: HttpRequest, service_code: str, fmt: str) -> HttpResponse:
    category = queries.active_categories().filter(code=service_code[:16]).first()
    if category is None:
        raise Open311Error.one(404, _("没有这个服务（service_code）：%(code)s") % {"code": service_code[:40]})
    return formats.respond(fmt, "service_definition", queries.definition(category))


# --------------------------------------------------------------------------- requests


@endpoint(("GET", "POST"))
def requests_(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    data = request.GET
    ids = queries.split_list(data.get("service_request_id"), queries.MAX_IDS, "service_request_id")
    codes = queries.split_list(data.get("service_code"), 200, "service_code")
    statuses = [s.lower() for s in queries.split_list(data.get("status"), 2, "status")]
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise Open311Error.one(400, _("status 只能是 open、closed，或二者以逗号分隔"))
    start = services.parse_moment(data.get("start_date"), "start_date")
    end = services.parse_moment(data.get("end_date"), "end_date")
    start, end = queries.window(start, end)
    page_size = _int(data.get("page_size"), "page_size", queries.MAX_ROWS, 1, queries.MAX_ROWS)
    page = _int(data.get("page"), "page", 1, 1, 100_000)
    rows = queries.find_requests(ids=ids, codes=codes, statuses=statuses, start=start, end=end, page=page,
                                 page_size=page_size)
    return formats.respond(fmt, "service_requests", [queries.request_item(request, c) for c in rows])


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client(request)
    form = request.POST
    attributes, problems = services.read_attributes(form)
    if problems:
        raise Open311Error(400, problems)
    sub = services.Submission(
        service_code=form.get("service_code", ""), lat=form.get("lat", ""), long=form.get("long", ""),
        address_string=form.get("address_string", ""), address_id=form.get("address_id", ""),
        description=form.get("description", ""), title=form.get("title", ""),
        first_name=form.get("first_name", ""), last_name=form.get("last_name", ""), phone=form.get("phone", ""),
        email=form.get("email", ""), account_id=form.get("account_id", ""), device_id=form.get("device_id", ""),
        media_url=form.get("media_url", ""), idempotency_key=form.get("idempotency_key", ""),
        attributes=attributes, media=request.FILES.getlist("media"))
    submitted, created = services.submit_request(client, sub)
    item: dict = ({"token": submitted.token} if client.batch
                  else {"service_request_id": submitted.case.number})
    item["service_notice"] = _("已收到，将由指挥中心受理")
    if submitted.account_id:
        item["account_id"] = submitted.account_id
    return formats.respond(fmt, "service_requests", [item], status=201 if created else 200)


@endpoint(("GET",))
def request_detail(request: HttpRequest, service_request_id: str, fmt: str) -> HttpResponse:
    case = queries.cases().filter(number=service_request_id[:32]).first()
    if case is None:
        raise Open311Error.one(404, _("没有这个案件：%(number)s") % {"number": service_request_id[:40]})
    return formats.respond(fmt, "service_requests", [queries.request_item(request, case)])


@endpoint(("GET",))
def token(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    submitted = SubmittedRequest.objects.select_related("case").filter(token=token[:40]).first()
    if submitted is None:
        raise Open311Error.one(404, _("没有这个 token"))
    return formats.respond(fmt, "service_requests", [{"token": submitted.token,
                                                      "service_request_id": submitted.case.number}])


# --------------------------------------------------------------------------- updates (FixMyStreet)


@endpoint(("GET", "POST"))
def updates(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_update(request, fmt)
    data = request.GET
    start = services.parse_moment(data.get("start_date"), "start_date")
    end = services.parse_moment(data.get("end_date"), "end_date")
    start, end = queries.window(start, end)
    ids = queries.split_list(data.get("service_request_id"), queries.MAX_IDS, "service_request_id")
    rows = queries.find_updates(start=start, end=end, ids=ids)
    return formats.respond(fmt, "service_request_updates", [queries.update_item(request, e) for e in rows])


def _post_update(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client(request)
    form = request.POST
    media = request.FILES.getlist("media") or [f for name in sorted(request.FILES)
                                                for f in request.FILES.getlist(name) if name.startswith("photo")]
    update, created = services.post_update(client, services.UpdateIn(
        service_request_id=form.get("service_request_id", ""), update_id=form.get("update_id", ""),
        status=form.get("status", ""), updated_datetime=form.get("updated_datetime", ""),
        description=form.get("description", ""), media=media))
    case = update.case
    item = {"update_id": str(update.event_id or ""), "service_request_id": case.number,
            "status": services.EXTENDED_STATUS.get(case.status, "open"),
            "updated_datetime": update.event.at if update.event_id else update.received_at}
    return formats.respond(fmt, "service_request_updates", [item], status=201 if created else 200)


# --------------------------------------------------------------------------- media


def media(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The public copy of a report or result photo (re-encoded, no EXIF): what ``media_url`` names."""
    from gongzhi.cases import photos
    from gongzhi.cases.models import CasePhoto

    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    photo = CasePhoto.objects.filter(pk=photo_id, stage__in=queries.PUBLIC_STAGES).first()
    if photo is None:
        raise Http404
    response = photos.photo_response(photo.public)
    response["Cache-Control"] = "public, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # shown by the clients' own apps and pages
    return response
