"""Writing the audit log. Service functions call ``record`` inside their transaction."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.db import models

from . import context
from .models import AuditLog


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of a model's concrete field values (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"password"} or getattr(field, "auto_now", False):
            continue  # never log secrets; the row's own time says when
        data[field.attname] = _jsonable(getattr(obj, field.attname))
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def diff(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Keep only the keys that changed, so a row shows what happened at a glance."""
    if not before or not after:
        return before, after
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


def record(
    actor,
    action: str,
    obj: models.Model | None = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    object_type: str = "",
    object_id: str = "",
) -> AuditLog:
    """Append one audit row. ``actor`` may be None for system actions (commands, the worker)."""
    ctx = context.current()
    before, after = diff(before, after)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=actor_obj,
        actor_name=(actor_obj.get_username() if actor_obj else (str(actor) if actor else "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        note=note,
        request_id=ctx.request_id if ctx else "",
        ip=ctx.ip if ctx else None,
    )
