"""Rate limits on the public doors: login, the report page, the report API and the device webhook.

Counters live in the database (``core_ratecounter``), so every gunicorn process on every host
shares them; a request costs one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (PostgreSQL and
SQLite ≥ 3.35). Windows are fixed (a minute by default): simple, one row per bucket, and a burst of
at most twice the limit across a window boundary — acceptable for abuse control.

Who is counted (docs/security.md#web):

- anonymous requests per client address (IPv6 per /64), e.g. login attempts;
- logged-in users per user, API tokens per token;
- "trusted" users — staff, anyone holding a role in an area (网格员, 网格长 …) or working for a
  department — get the high limit (``RATELIMIT_INTAKE_TRUSTED``, 6,000/min by default: the intake is
  benchmarked at hundreds of reports a second from a few grid-worker tokens). Whether a user is
  trusted is looked up only once their count passes the ordinary limit, and is then remembered in
  the process for a minute, so the steady-state cost stays one query.

A request over its limit gets 429 with ``Retry-After`` and a message in the user's language (the
API's error body ``{"error": {"code": "rate_limited", …}}`` for the API, the webhook and the
report page's JSON mode). If the counter can't be written (database down), the request is let
through and a warning logged: the limit protects the service, it must not become the outage.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from .middleware import client_ip

logger = logging.getLogger("gongzhi.ratelimit")

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
TRUST_TTL = 60.0  # seconds a process remembers whether a user is trusted, or which user a token is
STALE_AFTER = 86400  # counters untouched for a day are deleted (at most every PURGE_EVERY seconds)
PURGE_EVERY = 600.0


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}s"


def parse_rate(value: str | None) -> Rate | None:
    """``"60/m"`` → Rate(60, 60): N per s, m, h or d (or sec, min, hour, day). Empty, ``0`` or ``off``: no limit."""
    text = (value or "").strip().lower()
    if text in ("", "0", "off", "none"):
        return None
    count, sep, unit = text.partition("/")
    try:
        limit = int(count)
    except ValueError:
        limit = -1
    if not sep or limit < 1 or unit not in PERIODS:
        raise ImproperlyConfigured(f"A rate limit must look like 60/m (N per s, m, h or d), got {value!r}")
    return Rate(limit, PERIODS[unit])


@dataclass(frozen=True)
class Door:
    """A limited entry point: the view names it covers and the settings naming its rates."""

    name: str
    anonymous: str  # setting with the per-address rate for anonymous requests ("" → not counted)
    user: str = ""  # setting with the per-user/per-token rate
    trusted: str = ""  # setting with the rate for trusted users (falls back to ``user``)
    api: bool = False  # JSON answers; anonymous requests are left to the API's 401

    def rate(self, setting: str) -> Rate | None:
        return parse_rate(getattr(settings, setting, "")) if setting else None


LOGIN = Door("login", anonymous="RATELIMIT_LOGIN")
INTAKE = Door("intake", anonymous="RATELIMIT_INTAKE_ANON", user="RATELIMIT_INTAKE_USER",
              trusted="RATELIMIT_INTAKE_TRUSTED")
API_INTAKE = Door("intake", anonymous="", user="RATELIMIT_INTAKE_USER", trusted="RATELIMIT_INTAKE_TRUSTED",
                  api=True)
WEBHOOK = Door("webhook", anonymous="RATELIMIT_WEBHOOK", api=True)

#: Limited views (by URL name) → door; only POSTs are counted. (The API's operations share their
#: URL pattern with the other methods on the same path, so they are matched by their path.)
DOORS: dict[str, Door] = {
    "login": LOGIN,
    "report:report": INTAKE,
    "hooks:device_alert": WEBHOOK,
}
API_DOORS: dict[str, Door] = {
    "api:report_case": API_INTAKE,
    "api:report_case_with_photos": API_INTAKE,
}


# --- the counter ---------------------------------------------------------------------------------

def _upsert_sql(connection) -> str:
    from .models import RateCounter

    q = connection.ops.quote_name
    table = q(RateCounter._meta.db_table)
    bucket, start, hits = q("bucket"), q("window_start"), q("hits")
    return (
        f"INSERT INTO {table} ({bucket}, {start}, {hits}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({bucket}) DO UPDATE SET "
        f"{hits} = CASE WHEN {table}.{start} = EXCLUDED.{start} THEN {table}.{hits} + 1 ELSE 1 END, "
        f"{start} = EXCLUDED.{start} "
        f"RETURNING {hits}"
    )


_state = threading.local()
_last_purge = 0.0


def hit(bucket: str, rate: Rate, now: float | None = None) -> tuple[int, float]:
    """Count one request in ``bucket``'s current window: ``(requests so far, seconds until it ends)``."""
    from .models import RateCounter

    now = time.time() if now is None else now
    start = int(now // rate.period * rate.period)
    connection = connections[router.db_for_write(RateCounter)]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(connection), [bucket[:120], start])
        count = cursor.fetchone()[0]
    if count == 1:
        _maybe_purge(now)
    return count, start + rate.period - now


def _maybe_purge(now: float) -> None:
    """Forget counters of clients not seen for a day; one DELETE per process every ten minutes."""
    global _last_purge
    if now - _last_purge < PURGE_EVERY:
        return
    _last_purge = now
    from .models import RateCounter

    RateCounter.objects.filter(window_start__lt=int(now) - STALE_AFTER).delete()


def reset() -> None:
    """Forget what this process remembers (tests)."""
    global _last_purge
    _last_purge = 0.0
    _trusted.clear()
    _tokens.clear()


# --- who is asking -------------------------------------------------------------------------------

_trusted: dict[int, tuple[float, bool]] = {}
_tokens: dict[str, tuple[float, int, int]] = {}  # digest → (expires, token id, user id)


def _remember(cache: dict, key, value) -> None:
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = value


def is_trusted(user_id: int) -> bool:
    """Staff, superusers, role holders in an area and department staff (one query, kept a minute)."""
    now = time.monotonic()
    known = _trusted.get(user_id)
    if known is not None and known[0] > now:
        return known[1]
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, OuterRef, Q

    from gongzhi.orgs.models import Membership, Staff

    trusted = get_user_model().objects.filter(pk=user_id, is_active=True).filter(
        Q(is_staff=True) | Q(is_superuser=True)
        | Exists(Membership.objects.active().filter(user=OuterRef("pk")))
        | Exists(Staff.objects.filter(user=OuterRef("pk")))
    ).exists()
    _remember(_trusted, user_id, (now + TRUST_TTL, trusted))
    return trusted


def _token_owner(raw: str) -> tuple[int, int] | None:
    """``(token id, user id)`` of a valid-looking bearer token, or None. Validity (revoked, expired,
    scope) is the API's business: this only names the bucket."""
    from .models import ApiToken

    digest = ApiToken.hash(raw)
    now = time.monotonic()
    known = _tokens.get(digest)
    if known is not None and known[0] > now:
        return known[1], known[2]
    row = ApiToken.objects.filter(digest=digest, revoked_at__isnull=True).values_list("pk", "user_id").first()
    if row is None:
        return None
    _remember(_tokens, digest, (now + TRUST_TTL, row[0], row[1]))
    return row


def address_key(request: HttpRequest) -> str:
    """The client address; IPv6 addresses count per /64 (one subscriber's network)."""
    raw = client_ip(request) or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def identify(request: HttpRequest, door: Door) -> tuple[str, int | None] | None:
    """``(bucket identity, user id or None)`` for a request at ``door``; None: not counted here."""
    if door.api:
        header = request.headers.get("Authorization", "")
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() == "bearer" and raw.strip() and len(raw) <= 200:
            owner = _token_owner(raw.strip())
            if owner is not None:
                return f"t{owner[0]}", owner[1]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and door.user:
        return f"u{user.pk}", user.pk
    if door.api and door.name == "intake":
        return None  # the API answers 401 before anything is done
    return f"ip{address_key(request)}", None


# --- the decision --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    door: Door
    retry_after: int


def check(request: HttpRequest, door: Door, now: float | None = None) -> Refusal | None:
    """Count the request; a Refusal when it is over its limit."""
    who = identify(request, door)
    if who is None:
        return None
    ident, user_id = who
    if user_id is None:
        rate = door.rate(door.anonymous)
    else:
        rate = door.rate(door.user) or door.rate(door.trusted)
    if rate is None:
        return None
    try:
        count, remaining = hit(f"{door.name}:{ident}", rate, now)
    except DatabaseError:
        logger.warning("rate limit counter unavailable; request let through", exc_info=True)
        return None
    if count <= rate.limit:
        return None
    if user_id is not None and door.trusted and is_trusted(user_id):
        high = door.rate(door.trusted)  # counted in the same window: scaled to its length
        if high is None or count <= high.limit * rate.period / high.period:
            return None
    return Refusal(door, max(1, math.ceil(remaining)))


def message(refusal: Refusal) -> str:
    if refusal.door is LOGIN:
        return _("登录尝试过于频繁，请在 %(seconds)d 秒后重试") % {"seconds": refusal.retry_after}
    return _("请求过于频繁，请在 %(seconds)d 秒后重试") % {"seconds": refusal.retry_after}


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    text = message(refusal)
    if refusal.door.api or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {"error": {"code": "rate_limited", "message": text, "fields": {}}}, status=429)
    else:
        response = render(request, "core/too_many_requests.html", {"message": text}, status=429)
    response["Retry-After"] = str(refusal.retry_after)
    return response


class RateLimitMiddleware:
    """Counts POSTs to the doors in ``DOORS`` before the body is parsed or the view runs.

    Sits after the authentication middleware (it needs ``request.user``); API tokens are recognised
    by their hash, without waiting for the API's own authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._api_paths: dict[str, Door] | None = None
        for door in [*DOORS.values(), *API_DOORS.values()]:  # a mistyped rate stops the start
            for setting in (door.anonymous, door.user, door.trusted):
                door.rate(setting)

    def door_for(self, request: HttpRequest) -> Door | None:
        if self._api_paths is None:
            self._api_paths = {reverse(name): door for name, door in API_DOORS.items()}
        door = self._api_paths.get(request.path_info)
        if door is not None:
            return door
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        return DOORS.get(match.view_name)

    def __call__(self, request: HttpRequest):
        if request.method == "POST" and settings.RATELIMIT_ENABLED:
            door = self.door_for(request)
            if door is not None:
                try:
                    refusal = check(request, door)
                except DatabaseError:  # token or trust lookup failed: the database is down
                    logger.warning("rate limit check unavailable; request let through", exc_info=True)
                    refusal = None
                if refusal is not None:
                    return refusal_response(request, refusal)
        return self.get_response(request)
