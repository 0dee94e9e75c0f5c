from __future__ import annotations

from . import context


def client_ip(request) -> str | None:
    """The client address. Behind a proxy, the proxy must set X-Real-IP (see docs/deploy.md)."""
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        real = request.META.get("HTTP_X_REAL_IP")
        if real:
            return real.strip()
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and records it for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = context.new_request_id()
        token = context.push(context.RequestContext(request.request_id, client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            context.pop(token)
        response["X-Request-ID"] = request.request_id
        return response


class LanguageMiddleware:
    """Chinese first: the language is the user's choice (the language cookie set by the switch),
    else zh-hans — whatever the browser's Accept-Language says. API clients, which have no switch,
    may ask for English with Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation
        from django.utils.cache import patch_vary_headers

        supported = dict(settings.LANGUAGES)
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in supported and request.path.startswith("/api/"):
            lang = translation.get_language_from_request(request)
        if lang not in supported:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        patch_vary_headers(response, ("Cookie", "Accept-Language") if request.path.startswith("/api/") else ("Cookie",))
        return response


def _is_json_client(request) -> bool:
    return (request.path.startswith(("/api/", "/hooks/"))
            or "application/json" in request.headers.get("Accept", ""))


def _refuse(request, status: int, code: str, message: str):
    """A refusal in the API's error shape for API clients, plain text in the user's language otherwise."""
    from django.http import HttpResponse, JsonResponse

    if _is_json_client(request):
        return JsonResponse({"error": {"code": code, "message": str(message), "fields": {}}}, status=status)
    return HttpResponse(str(message), status=status, content_type="text/plain; charset=utf-8")


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware doesn't send: ``Permissions-Policy`` (camera and
    geolocation for this site only — the report page uses both — everything else off) and
    ``Cross-Origin-Resource-Policy: same-origin`` (no other site may embed our responses), and
    ``Cache-Control: no-store`` on every answer under ``PRIVATE_PATH_PREFIXES``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.path.startswith(tuple(getattr(settings, "PRIVATE_PATH_PREFIXES", ()))):
            # Registries of people: never kept by a browser or a proxy, whatever the view forgot to say
            # (a list, a paginated API answer, an error page).
            response.headers["Cache-Control"] = "no-store, private, max-age=0"
        return response


class BodyLimitMiddleware:
    """Refuses, from the declared ``Content-Length`` and before anything is read, a body larger
    than the server takes: uploads (multipart) up to ``REQUEST_MAX_BODY_BYTES`` (photos: count ×
    size), anything else up to ``DATA_UPLOAD_MAX_MEMORY_SIZE``. Answered 413 with a clear message
    (Django would otherwise fail later with a bare 400, or the API with a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils.translation import gettext as _

        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > 0:
            multipart = request.content_type == "multipart/form-data"
            limit = settings.REQUEST_MAX_BODY_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and declared > limit:
                return _refuse(request, 413, "too_large", _("提交的内容过大（不能超过 %(mb).1f MB）")
                               % {"mb": limit / (1024 * 1024)})
        return self.get_response(request)


class RejectNulMiddleware:
    """NUL characters can't be stored (PostgreSQL refuses them in text): a request carrying one in
    its query or form fields is answered 400 before any view sees it.

    It is also the first to parse a form body, so it turns Django's refusals of a malformed or
    oversized form (too many files, too many fields, fields too large) into a clear 400/413 instead
    of a bare error page — for the API as well, whose framework would answer them with a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.core.exceptions import (
            RequestDataTooBig,
            SuspiciousOperation,
            TooManyFieldsSent,
            TooManyFilesSent,
        )
        from django.http.multipartparser import MultiPartParserError
        from django.utils.translation import gettext as _

        def has_nul(querydict) -> bool:
            return any("\x00" in k or any("\x00" in v for v in values) for k, values in querydict.lists())

        try:
            form_nul = (request.method == "POST" and request.content_type != "application/json"
                        and has_nul(request.POST))
        except TooManyFilesSent:
            return _refuse(request, 400, "invalid", _("最多上传 %(n)d 张照片")
                           % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
        except TooManyFieldsSent:
            return _refuse(request, 400, "invalid", _("提交的字段过多"))
        except RequestDataTooBig:
            return _refuse(request, 413, "too_large", _("提交的内容过大"))
        except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError):
            return _refuse(request, 400, "invalid", _("提交的内容格式有误"))
        if "\x00" in request.path or has_nul(request.GET) or form_nul:
            if request.path.startswith("/api/"):
                return _refuse(request, 400, "invalid", "请求中含有无法保存的空字符（NUL）")
            from django.http import HttpResponseBadRequest

            return HttpResponseBadRequest("请求中含有无法保存的空字符（NUL）。/ The request contains a NUL character.",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: a refused form post explained in the user's language (403) — the form
    page was open too long, cookies are off, or the post came from another site."""
    from django.shortcuts import render
    from django.utils.translation import gettext as _

    message = _("安全校验（CSRF）未通过：页面可能已过期，请刷新页面后重新提交。")
    if _is_json_client(request):
        return _refuse(request, 403, "csrf_failed", message)
    return render(request, "core/csrf_failure.html", {"message": message}, status=403)


def explain_csrf_failure(exc):
    """The API's session auth (django-ninja) fails CSRF with an English "CSRF check Failed": the
    same refusal in the user's language, with what to send."""
    from django.utils.translation import gettext as _
    from ninja.errors import HttpError

    if getattr(exc, "status_code", None) == 403 and str(exc) == "CSRF check Failed":
        return HttpError(403, _("安全校验（CSRF）未通过：以网页会话调用写操作时须带 X-CSRFToken 请求头；"
                                "程序调用请使用 API 令牌"))
    return exc
