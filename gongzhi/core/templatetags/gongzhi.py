"""Template helpers shared by every app."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def lname(obj) -> str:
    """The object's English name (``name_en``) when the page is in English and one is set."""
    if obj is None:
        return ""
    name_en = getattr(obj, "name_en", "")
    if name_en and (get_language() or "").startswith("en"):
        return name_en
    return str(getattr(obj, "name", obj))
