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
