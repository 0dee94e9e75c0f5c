"""The one door that shows sensitive values in full (docs/registries.md#reveal).

``reveal(user, obj, purpose=…, reason=…)`` checks the permission, takes the stated purpose, writes
one ``AccessLog`` row and returns the plaintext of the record's sealed fields. Pages, the API and
the subject export call it; nothing else calls ``Sealed.reveal()`` for display. The record must
already have come through the read door (``queries.get_visible_or_404``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from gongzhi.core import context
from gongzhi.core.forms import clean_text

from . import models as m
from . import queries, rules
from .crypto import sealed_fields

Purpose = m.AccessLog.Purpose
MIN_REASON = 4

#: the record kinds that may be revealed, by the name used in URLs and the API
REVEALABLE: dict[str, type] = {
    model._meta.model_name: model
    for model in (m.Person, *queries.SPECS) if sealed_fields(model)
}


def check_purpose(purpose, reason) -> tuple[str, str]:
    """A purpose from the list and a reason in words (at least a few characters): the two together
    are what PIPL's "specific purpose" asks the officer to state."""
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": _("请选择查看用途")})
    reason = clean_text(reason, "reason", _("用途说明"), 200)
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": _("请具体说明用途（至少 %(n)s 个字）") % {"n": MIN_REASON}})
    return purpose, reason


def log_row(user, obj, *, purpose: str, reason: str, fields: list[str], registry: str | None = None,
            person=None) -> m.AccessLog:
    """One access-log row, not yet saved (exports write theirs with one ``bulk_create``; ``person``
    given saves looking it up)."""
    ctx = context.current()
    return m.AccessLog(
        user=user if getattr(user, "is_authenticated", False) else None,
        user_name=(user.get_username() if getattr(user, "is_authenticated", False) else "system")[:150],
        registry=registry or queries.registry_of(obj),
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        person=person if person is not None else queries.person_of(obj),
        purpose=purpose,
        reason=reason,
        fields=fields,
        request_id=ctx.request_id if ctx else "",
        ip=ctx.ip if ctx else None,
    )


def log(user, obj, *, purpose: str, reason: str, fields: list[str], registry: str | None = None) -> m.AccessLog:
    """Append one access-log row."""
    row = log_row(user, obj, purpose=purpose, reason=reason, fields=fields, registry=registry)
    row.save()
    return row


def reveal(user, obj, *, purpose, reason) -> tuple[m.AccessLog, list[tuple[str, str]]]:
    """The plaintext of ``obj``'s sealed fields as (label, value), after logging the access."""
    if not rules.may_reveal(user):
        raise PermissionDenied(_("您没有查看完整敏感信息的权限"))
    purpose, reason = check_purpose(purpose, reason)
    fields = sealed_fields(type(obj))
    row = log(user, obj, purpose=purpose, reason=reason, fields=[f.name for f in fields])
    return row, [(str(f.verbose_name), getattr(obj, f.attname).reveal()) for f in fields]
