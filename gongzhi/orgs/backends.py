from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from gongzhi.core.middleware import client_ip

from . import lockout
from .models import User


class UsernameOrPhoneBackend(ModelBackend):
    """Log in with a username or an 11-digit mobile number and the password.

    Locked-out logins (orgs.lockout) are refused before the password is checked: the backend raises
    PermissionDenied, which makes ``authenticate()`` stop and report a failure; the lock is left on
    ``request.login_lock`` for the login form's message.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        login = str(username).strip()[:150]
        user = User.objects.filter(Q(username=login) | Q(phone=login)).order_by("pk").first()
        ip = client_ip(request) if request is not None else None
        lock = lockout.current_lock(login=login, user=user, ip=ip)
        if lock is not None:
            if request is not None:
                request.login_lock = lock
            raise PermissionDenied(lock.message)
        if user is None:
            User().set_password(password)  # same time whether or not the account exists
        elif user.check_password(password):
            if not self.user_can_authenticate(user):
                return None
            lockout.record_success(user)
            return user
        started = lockout.record_failure(login=login, user=user, ip=ip)
        if started is not None and request is not None:
            request.login_lock = started
        return None
