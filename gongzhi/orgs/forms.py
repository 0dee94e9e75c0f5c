"""Forms for logging in and for the second factor."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's login form; a locked-out login gets the lockout message (see orgs.lockout)."""

    locked_message = ""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            lock = getattr(self.request, "login_lock", None)
            if lock is not None:
                self.locked_message = lock.message
                raise ValidationError(lock.message, code="locked") from None
            raise


class CodeForm(forms.Form):
    code = forms.CharField(label=_("验证码"), max_length=32, strip=True,
                           error_messages={"required": _("请输入验证码")})
