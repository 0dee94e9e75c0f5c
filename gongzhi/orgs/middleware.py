"""Per-request account rules for logged-in web sessions: expiry, and the second factor still owed.

Installed after ``AuthenticationMiddleware``, ``MessageMiddleware`` and django-otp's
``OTPMiddleware``. Requests without a session cookie (API tokens, anonymous visitors) cost nothing
here: the session is read only when a session cookie came with the request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from gongzhi.core import audit

from . import sessions, twofactor

# Paths a session that still owes its second factor may reach.
OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/login/", "/i18n/", "/static/", "/favicon.ico",
                 "/healthz")


class AccountSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            response = self._check(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _check(self, request):
        why = sessions.expired(request)
        if why is not None:
            user = request.user
            audit.record(user, "session.expired", user, after={"reason": why})
            logout(request)
            if not request.path.startswith("/api/"):
                messages.info(request, _("您已长时间未操作，请重新登录。") if why == "idle"
                              else _("登录已超过最长有效时间，请重新登录。"))
            return None  # carry on as an anonymous request: login_required pages send to the login page
        owed = twofactor.pending(request)
        if owed is None and twofactor.SESSION_KEY not in request.session:
            # A session from before two-factor existed: decide once and remember.
            owed = twofactor.pending(request) if twofactor.start(request, request.user) != twofactor.OK else None
        if owed is None or request.path.startswith("/api/") or request.path.startswith(OPEN_PREFIXES):
            return None  # the API's session auth refuses such a session itself (gongzhi.core.api)
        target = "two_factor_verify" if owed == twofactor.VERIFY else "two_factor_setup"
        return redirect(reverse(target) + "?" + urlencode({"next": request.get_full_path()}))
