"""Writes for people, roles and departments; each leaves an audit row."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.models import ApiToken

from .models import Department, Membership, Role, Staff, User


@transaction.atomic
def assign_role(*, actor, user: User, area, role: Role) -> Membership:
    existing = Membership.objects.active().filter(user=user, area=area, role=role).first()
    if existing:
        return existing
    membership = Membership.objects.create(user=user, area=area, role=role)
    audit.record(actor, "membership.create", membership, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def end_role(membership: Membership, *, actor, on: datetime.date | None = None) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.ended_on is not None:
        raise ValidationError(_("该任职已结束"))
    before = audit.snapshot(membership)
    membership.ended_on = on or timezone.localdate()
    membership.save(update_fields=["ended_on"])
    audit.record(actor, "membership.end", membership, before=before, after=audit.snapshot(membership))
    return membership


@transaction.atomic
def create_department(*, actor, name: str, code: str, kind: str, areas=(), home_area=None, **extra) -> Department:
    department = Department.objects.create(name=name, code=code, kind=kind, home_area=home_area, **extra)
    department.areas.set(areas)
    audit.record(actor, "department.create", department,
                 after={**audit.snapshot(department), "areas": sorted(a.pk for a in areas)})
    return department


@transaction.atomic
def add_staff(*, actor, department: Department, user: User, title: str = "", is_head: bool = False) -> Staff:
    staff, created = Staff.objects.get_or_create(department=department, user=user,
                                                 defaults={"title": title, "is_head": is_head})
    if created:
        audit.record(actor, "staff.create", staff, after=audit.snapshot(staff))
    return staff


@transaction.atomic
def create_user(*, actor, username: str, password: str | None, display_name: str = "", phone: str | None = None,
                **extra) -> User:
    user = User(username=username, display_name=display_name, phone=phone or None, **extra)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(actor, "user.create", user, after=audit.snapshot(user))
    return user


@transaction.atomic
def create_api_token(*, actor, user: User, name: str, scope: str = ApiToken.Scope.READ,
                     expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; the clear text is returned once and never stored.

    Every token expires: ``API_TOKEN_DEFAULT_DAYS`` (90) after creation unless asked otherwise, and
    never later than ``API_TOKEN_MAX_DAYS`` (365)."""
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": [_("未知的权限范围")]})
    now = timezone.now()
    if expires_at is None:
        expires_at = now + datetime.timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    if expires_at <= now:
        raise ValidationError({"expires_at": [_("过期时间必须在将来")]})
    if expires_at > now + datetime.timedelta(days=settings.API_TOKEN_MAX_DAYS, minutes=5):
        raise ValidationError({"expires_at": [
            _("有效期最长 %(days)s 天") % {"days": settings.API_TOKEN_MAX_DAYS}]})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=user, name=name.strip() or _("未命名"), prefix=raw[:10],
                                    digest=ApiToken.hash(raw), scope=scope, expires_at=expires_at)
    audit.record(actor, "api_token.create", token, after=audit.snapshot(token, ["name", "prefix", "scope", "expires_at"]))
    return token, raw


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor, "api_token.revoke", token)
    return token


# Account security: the services live beside their rules (lockout, twofactor, sessions); these are
# the administrator's doors to them.

def unlock_login(*, actor, user: User | None = None, ip: str | None = None) -> int:
    """End a login lockout early (an account, a client address, or both); returns rows cleared."""
    from . import lockout

    return lockout.unlock(actor=actor, user=user, ip=ip)


def reset_two_factor(*, actor, user: User) -> None:
    """Remove a person's authenticator and recovery codes (a lost phone) and end their sessions."""
    from . import twofactor

    twofactor.reset(actor=actor, user=user)


def end_all_sessions(*, actor, user: User) -> int:
    from . import sessions

    return sessions.end_sessions(actor=actor, user=user)
