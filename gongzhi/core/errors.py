"""Domain errors shared by every app; the API maps them to HTTP statuses (core/api.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """The object's state does not allow this now (HTTP 409): often someone else acted first."""
