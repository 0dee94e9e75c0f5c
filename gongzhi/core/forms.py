"""Shared by the apps' forms and views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def add_service_errors(form, exc: ValidationError) -> None:
    """Show a service function's refusal on the form: each message at its field when the form has
    that field, otherwise at the top of the form (nothing was stored)."""
    for field, messages in getattr(exc, "message_dict", {None: exc.messages}).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def clean_text(value, field: str, label: str, max_length: int, *, required: bool = True) -> str:
    """A service's text input, stripped: ``ValidationError({field: …})`` in the user's language when
    it is not text, missing (``required``) or longer than ``max_length``."""
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise ValidationError({field: _("%(label)s格式不正确") % {"label": label}})
    if required and not value:
        raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    if len(value) > max_length:
        raise ValidationError({field: _("%(label)s不能超过 %(n)s 个字符") % {"label": label, "n": max_length}})
    return value
