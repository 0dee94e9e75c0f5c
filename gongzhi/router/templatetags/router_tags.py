"""``{% router_suggestions case allowed as panel %}``: what the case page's 智能分派 card needs."""

from __future__ import annotations

import logging

from django import template

register = template.Library()
logger = logging.getLogger("gongzhi.router")


@register.simple_tag
def router_suggestions(case, allowed) -> dict | None:
    """The suggestions for a dispatcher who may file or dispatch this case now; None otherwise (or
    when suggestions are off). A model problem hides the card, never breaks the page."""
    allowed = allowed or ()
    if "file" not in allowed and "dispatch" not in allowed:
        return None
    from gongzhi.cases.choices import Status

    from .. import services

    try:
        result = services.suggest(case)
    except Exception:  # noqa: BLE001 - the page must show even when the model can't answer
        logger.exception("router: suggestions for case %s failed", case.pk)
        return None
    if not result.enabled:
        return None
    return {"result": result, "files": case.status == Status.REPORTED and "file" in allowed,
            "dispatches": "dispatch" in allowed or ("file" in allowed and case.status == Status.REPORTED)}


@register.filter
def percent(value) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return ""
