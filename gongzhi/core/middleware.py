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


class RejectNulMiddleware:
    """NUL characters can't be stored (PostgreSQL refuses them in text): a request carrying one in
    its query or form fields is answered 400 before any view sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponseBadRequest, JsonResponse

        def has_nul(querydict) -> bool:
            return any("\x00" in k or any("\x00" in v for v in values) for k, values in querydict.lists())

        if "\x00" in request.path or has_nul(request.GET) or (
            request.method == "POST" and request.content_type != "application/json" and has_nul(request.POST)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": "请求中含有无法保存的空字符（NUL）",
                                               "fields": {}}}, status=400)
            return HttpResponseBadRequest("请求中含有无法保存的空字符（NUL）。/ The request contains a NUL character.",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)
