from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from .models import User


class UsernameOrPhoneBackend(ModelBackend):
    """Log in with a username or an 11-digit mobile number and the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        login = str(username).strip()[:150]
        user = User.objects.filter(Q(username=login) | Q(phone=login)).order_by("pk").first()
        if user is None:
            User().set_password(password)  # same time whether or not the account exists
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
