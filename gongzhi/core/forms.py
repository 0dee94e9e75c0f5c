"""Shared by the apps' forms and views."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def add_service_errors(form, exc: ValidationError) -> None:
    """Show a service function's refusal on the form: each message at its field when the form has
    that field, otherwise at the top of the form (nothing was stored)."""
    for field, messages in getattr(exc, "message_dict", {None: exc.messages}).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
