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
