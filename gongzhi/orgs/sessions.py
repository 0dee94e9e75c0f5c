"""Web sessions: idle and absolute expiry, the list of a person's sessions, "logout everywhere".

Sessions are stored in the database (Django's default engine). Each login also writes a
``UserSession`` row (user, session key, address, browser) so a person's sessions can be found
without reading every session; ``end_other_sessions`` deletes all of them but the current one. It
revokes nothing else: API tokens stay valid (they are listed and revoked on their own).

Expiry (checked by ``AccountSecurityMiddleware`` on every request of a logged-in session):

- idle: no request for ``SESSION_IDLE_TIMEOUT`` seconds (default 30 min) ends the session;
- absolute: ``SESSION_COOKIE_AGE`` seconds after login (default 8 h) the session ends, busy or not.

The time of the last request is written to the session at most once a minute, so an active session
costs one session write per minute, not one per request.
"""

from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.middleware import client_ip

from .models import User, UserSession

LOGIN_AT = "gz_login_at"
SEEN_AT = "gz_seen_at"
SEEN_RESOLUTION = 60  # seconds: how stale the recorded last activity may be


def on_login(request, user: User) -> None:
    """Stamp a new login's session and remember it for the session list (called at every login)."""
    now = int(time.time())
    session = request.session
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    if not session.session_key:
        session.save()
    UserSession.objects.update_or_create(session_key=session.session_key, defaults={
        "user": user, "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    })


def on_logout(request) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


def expired(request, now: int | None = None) -> str | None:
    """"idle" or "absolute" when the session's time is up, else None. Stamps old sessions that have
    no times yet (made before this feature) and refreshes the activity time once a minute."""
    now = now or int(time.time())
    session = request.session
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        session[LOGIN_AT] = login_at if isinstance(login_at, int) else now
        session[SEEN_AT] = now
        return None
    if now - login_at >= settings.SESSION_COOKIE_AGE:
        return "absolute"
    if now - seen_at >= settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    if now - seen_at >= SEEN_RESOLUTION:
        session[SEEN_AT] = now
    return None


def active_sessions(user: User):
    """The person's sessions that still exist and have not expired, newest first."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return UserSession.objects.filter(user=user, session_key__in=live)


def _end(user: User, keep: str | None) -> int:
    engine = import_module(settings.SESSION_ENGINE)
    rows = list(UserSession.objects.select_for_update().filter(user=user).exclude(session_key=keep or ""))
    for row in rows:
        engine.SessionStore(session_key=row.session_key).delete()
    UserSession.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


@transaction.atomic
def end_other_sessions(request) -> int:
    """"Logout everywhere else": end every session of the person but this one."""
    user = request.user
    count = _end(user, request.session.session_key)
    audit.record(user, "session.logout_others", user, after={"ended": count})
    return count


@transaction.atomic
def end_sessions(*, actor, user: User, note: str = "") -> int:
    """End every session of a person (an administrator's action, e.g. after resetting their 2FA)."""
    count = _end(user, None)
    audit.record(actor, "session.logout_all", user, after={"ended": count}, note=note)
    return count
