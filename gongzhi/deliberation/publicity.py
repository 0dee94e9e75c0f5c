"""公示 — publications and objections, shared by decisions (their result), the 四议三公开 procedure
(topic, decision, implementation result) and projects (the implementation result, the cost-sharing
statement).

A publication's content is fixed when it is published: its SHA-256 is stored beside it
(``content_hash``) and ``verify`` recomputes it. Nothing edits a publication; a correction is a new
one. Objections are raised while it runs and answered by a manager; each step leaves an audit row.
"""

from __future__ import annotations

import datetime
import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text

from .models import Objection, Publication
from .queries import can_manage

MAX_DAYS = 366


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def verify(publication: Publication) -> bool:
    """Does the stored content still match the hash taken when it was published?"""
    return content_hash(publication.content) == publication.content_hash


@transaction.atomic
def publish(*, actor, kind: str, area, title: str, content: str, channel: str,
            starts_on: datetime.date | None = None, days: int = 7, decision=None, procedure=None,
            project=None) -> Publication:
    """Publish ``content`` for ``days`` days from ``starts_on`` (today by default)."""
    if not can_manage(actor, area):
        raise PermissionDenied(_("您不能在该区域发布公示"))
    if kind not in Publication.Kind.values:
        raise ValidationError({"kind": _("未知的公示类别")})
    title = clean_text(title, "title", _("标题"), 200)
    content = clean_text(content, "content", _("内容"), 100_000)
    channel = clean_text(channel, "channel", _("公示渠道"), 200)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": _("公示期应为 1 到 %(n)s 天") % {"n": MAX_DAYS}})
    starts_on = starts_on or timezone.localdate()
    publication = Publication.objects.create(
        kind=kind, area=area, decision=decision, procedure=procedure, project=project, title=title,
        content=content, content_hash=content_hash(content), channel=channel, starts_on=starts_on,
        ends_on=starts_on + datetime.timedelta(days=days - 1), published_by=actor if actor else None)
    audit.record(actor, "deliberation.publish", publication, after=audit.snapshot(publication))
    return publication


@transaction.atomic
def raise_objection(publication: Publication, *, actor, text: str, name: str = "",
                    today: datetime.date | None = None) -> Objection:
    """Anyone who can see the publication may object while it runs (the read door decides who sees)."""
    today = today or timezone.localdate()
    if not publication.starts_on <= today <= publication.ends_on:
        raise Conflict(_("公示期已过或尚未开始，不能再提出异议"))
    text = clean_text(text, "text", _("异议内容"), 5000)
    name = (name or "").strip()[:64] or (getattr(actor, "display_name", "") or str(actor or ""))[:64]
    objection = Objection.objects.create(publication=publication, raised_by=actor if actor else None,
                                         raised_by_name=name, text=text)
    audit.record(actor, "deliberation.object", objection, after=audit.snapshot(objection))
    return objection


@transaction.atomic
def answer_objection(objection: Objection, *, actor, answer: str) -> Objection:
    objection = Objection.objects.select_for_update().select_related("publication__area").get(pk=objection.pk)
    if not can_manage(actor, objection.publication.area):
        raise PermissionDenied(_("您不能答复该异议"))
    if objection.answered_at:
        raise Conflict(_("该异议已经答复"))
    before = audit.snapshot(objection)
    objection.answer = clean_text(answer, "answer", _("答复"), 5000)
    objection.answered_by = actor if actor else None
    objection.answered_at = timezone.now()
    objection.save(update_fields=["answer", "answered_by", "answered_at"])
    audit.record(actor, "deliberation.answer_objection", objection, before=before, after=audit.snapshot(objection))
    return objection
