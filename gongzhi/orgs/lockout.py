"""Locking logins out after repeated wrong passwords (等保 level 3: 登录失败处理; ASVS 2.2.1).

Failures are counted per account and per client address, each in a ``LoginThrottle`` row:

- an account is locked for ``LOGIN_LOCKOUT_SECONDS`` after ``LOGIN_FAILURE_LIMIT`` wrong passwords
  within ``LOGIN_FAILURE_WINDOW`` seconds (default 5 in 15 minutes → 15 minutes);
- a client address after ``LOGIN_IP_FAILURE_LIMIT`` (default 20: a street office's staff share one
  address behind NAT, so its limit is higher than an account's).

A locked login is refused before the password is checked. A correct password clears the account's
count (not the address's). Names that match no account are counted and locked like accounts, so
the answer never tells whether an account exists. Every failure and every lockout leaves an audit
row; ``unlock`` (admin action, service) ends a lockout early.

The backend (orgs.backends) calls ``refuse_if_locked``, ``record_failure`` and ``record_success``; so
the rule holds for every door that calls ``authenticate()`` with a request.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit

from .models import LoginThrottle, User


@dataclass(frozen=True)
class Lock:
    scope: str
    until: datetime.datetime

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))

    @property
    def message(self) -> str:
        if self.scope == LoginThrottle.Scope.IP:
            return _("此网络地址登录失败次数过多，请 %(minutes)s 分钟后再试。") % {"minutes": self.minutes}
        return _("密码错误次数过多，账号已锁定，请 %(minutes)s 分钟后再试，或联系管理员解锁。") % {
            "minutes": self.minutes}


def account_key(login: str, user: User | None) -> str:
    if user is not None:
        return f"user:{user.pk}"
    return "login:" + login.strip().casefold()[:150]


def current_lock(*, login: str, user: User | None, ip: str | None) -> Lock | None:
    """The lock that refuses this login now, if any (the later one when both apply)."""
    now = timezone.now()
    where = Q(scope=LoginThrottle.Scope.ACCOUNT, key=account_key(login, user))
    if ip:
        where |= Q(scope=LoginThrottle.Scope.IP, key=ip)
    row = LoginThrottle.objects.filter(where, locked_until__gt=now).order_by("-locked_until").first()
    return Lock(row.scope, row.locked_until) if row else None


def _count(scope: str, key: str, limit: int, user: User | None, now) -> tuple[LoginThrottle, bool]:
    """Add one failure to a row; returns the row and whether this failure locked it."""
    row, _created = LoginThrottle.objects.select_for_update().get_or_create(
        scope=scope, key=key, defaults={"user": user, "first_failure_at": now, "last_failure_at": now})
    window = datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    lock_ended = row.locked_until is not None and row.locked_until <= now
    if lock_ended or row.first_failure_at < now - window or row.failures == 0:
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    row.last_failure_at = now
    locked = row.failures >= limit and not row.is_locked(now)
    if locked:
        row.locked_until = now + datetime.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    row.save()
    return row, locked


@transaction.atomic
def record_failure(*, login: str, user: User | None, ip: str | None) -> Lock | None:
    """Count a wrong password; returns the lock this failure started, if it started one."""
    now = timezone.now()
    login = login.strip()[:150]
    rows = [_count(LoginThrottle.Scope.ACCOUNT, account_key(login, user), settings.LOGIN_FAILURE_LIMIT, user, now)]
    if ip:
        rows.append(_count(LoginThrottle.Scope.IP, ip, settings.LOGIN_IP_FAILURE_LIMIT, None, now))
    account_row = rows[0][0]
    audit.record(login or None, "login.failed", user, object_type="orgs.user", note=login,
                 after={"failures": account_row.failures, "ip": ip})
    started = None
    for row, locked in rows:
        if locked:
            audit.record(None, "login.locked", row, note=login,
                         after={"scope": row.scope, "key": row.key, "locked_until": row.locked_until.isoformat()})
            started = started or Lock(row.scope, row.locked_until)
    # Rows of failures long past say nothing any more: keep the table small.
    LoginThrottle.objects.filter(last_failure_at__lt=now - datetime.timedelta(days=1)).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)).delete()
    return started


def record_success(user: User) -> None:
    """A correct password clears the account's count (an active lock has been checked before)."""
    LoginThrottle.objects.filter(scope=LoginThrottle.Scope.ACCOUNT, key=account_key("", user)).delete()


@transaction.atomic
def unlock(*, actor, user: User | None = None, ip: str | None = None) -> int:
    """End the lockout (and the failure count) of an account and/or a client address."""
    where = Q(pk__in=[])
    if user is not None:
        keys = {account_key("", user), account_key(user.username, None)}
        if user.phone:
            keys.add(account_key(user.phone, None))
        where |= Q(scope=LoginThrottle.Scope.ACCOUNT, key__in=keys)
    if ip:
        where |= Q(scope=LoginThrottle.Scope.IP, key=ip)
    rows = list(LoginThrottle.objects.select_for_update().filter(where))
    for row in rows:
        audit.record(actor, "login.unlock", row, before={"failures": row.failures,
                                                         "locked_until": row.locked_until and row.locked_until.isoformat()})
    LoginThrottle.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


@transaction.atomic
def unlock_key(*, actor, row: LoginThrottle) -> int:
    """Clear one row (e.g. a login name that matches no account)."""
    audit.record(actor, "login.unlock", row, before={"failures": row.failures,
                                                     "locked_until": row.locked_until and row.locked_until.isoformat()})
    deleted, _rows = LoginThrottle.objects.filter(pk=row.pk).delete()
    return deleted
