"""The notice board of an area (community, estate, building): publishing, withdrawing, read receipts,
building heads' door-to-door relay, attachments (docs/portal.md#notices).

Reads go through ``queries.visible_notices``; every write here checks its permission, validates,
and leaves an audit row."""

from __future__ import annotations

import datetime
import os
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.cases import photos
from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import jurisdiction, signed_in
from gongzhi.orgs.models import Membership

from . import queries
from .models import Notice, NoticeAttachment, NoticeReceipt

RELAY_ROLE = "building_head"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
MAX_BODY = 20_000

# extension → (content type we serve it as, the signatures its first bytes may carry)
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "ppt": ("application/vnd.ms-powerpoint", _OLE),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
}
NOTICE_FIELDS = ["area", "title", "valid_from", "valid_until", "pinned", "is_public", "needs_relay",
                 "withdrawn_at", "withdrawn_by"]


# ------------------------------------------------------------------------------ reads


def _valid_on(today: datetime.date) -> Q:
    return Q(valid_from__lte=today) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


def current_for(user, today: datetime.date | None = None) -> QuerySet:
    """Notices valid today that the user may read, pinned first, newest first (the home page's list)."""
    today = today or timezone.localdate()
    return queries.visible_notices(user).filter(_valid_on(today)).order_by("-pinned", "-published_at", "-pk")


def expired_for(user, today: datetime.date | None = None) -> QuerySet:
    today = today or timezone.localdate()
    return queries.visible_notices(user).filter(valid_until__lt=today).order_by("-valid_until", "-pk")


def upcoming_for(user, today: datetime.date | None = None) -> QuerySet:
    """Notices not valid yet: only their publishers see them before the day."""
    today = today or timezone.localdate()
    q = publish_q(user)
    if q is None:
        return Notice.objects.none()
    return queries.visible_notices(user).filter(q, valid_from__gt=today).order_by("valid_from", "-pk")


def withdrawn_for(user) -> QuerySet:
    """Withdrawn notices, for those who may publish in their area only (nobody else ever sees them),
    the latest withdrawn first."""
    q = publish_q(user)
    if q is None:
        return Notice.objects.none()
    return (Notice.objects.filter(queries.area_filter(user)).filter(q, withdrawn_at__isnull=False)
            .select_related("area", "withdrawn_by").order_by("-withdrawn_at", "-pk"))


def readable(user, today: datetime.date | None = None) -> QuerySet:
    """Notices the user may open: visible ones, except future ones for anybody but their publishers;
    withdrawn ones for their publishers only (marked 已撤回 on the page)."""
    today = today or timezone.localdate()
    live = Q(valid_from__lte=today)
    pq = publish_q(user)
    if pq is None:
        return queries.visible_notices(user).filter(live)
    if not pq:  # everywhere (an empty Q would vanish from the ORs below)
        return Notice.objects.filter(queries.area_filter(user)).select_related("area")
    shown = (Q(withdrawn_at__isnull=True) & (live | pq)) | (Q(withdrawn_at__isnull=False) & pq)
    return Notice.objects.filter(queries.area_filter(user)).filter(shown).select_related("area")


def public_board(area: Area, today: datetime.date | None = None) -> QuerySet:
    """The current public notices of an area and of the areas above it (what its residents see
    too), for everyone, signed in or not."""
    today = today or timezone.localdate()
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    return (Notice.objects.filter(area__in=ids, is_public=True, withdrawn_at__isnull=True)
            .filter(_valid_on(today)).select_related("area").order_by("-pinned", "-published_at", "-pk"))


def _publish_paths(user) -> set[str] | None:
    """Subtrees where ``user`` may publish; None for everywhere (superusers)."""
    if not signed_in(user):
        return set()
    scope = jurisdiction(user)
    if scope.everything:
        return None
    paths = set(scope.command_paths)
    for code in queries.PUBLISHER_ROLES:
        paths.update(scope.role_paths.get(code, ()))
    return paths


def publish_q(user, lookup: str = "area") -> Q | None:
    """The areas where ``user`` may publish notices, as a filter (None: nowhere)."""
    paths = _publish_paths(user)
    if paths is None:
        return Q()
    if not paths:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{f"{lookup}__path__startswith": path})
    return q


def publish_areas(user) -> QuerySet:
    """Areas (community level and below) where ``user`` may publish: the choices of the form."""
    from .residency import community_rank

    paths = _publish_paths(user)
    if paths is not None and not paths:
        return Area.objects.none()
    qs = Area.objects.filter(level__rank__gte=community_rank()).select_related("level").order_by("path")
    return qs if paths is None else qs.under_paths(paths)


def relay_areas(user) -> list[str]:
    """Paths of the buildings where ``user`` is building head."""
    if not signed_in(user):
        return []
    return list(jurisdiction(user).role_paths.get(RELAY_ROLE, ()))


def may_relay(user, notice: Notice) -> bool:
    if not notice.needs_relay or notice.withdrawn_at is not None:
        return False
    return any(path.startswith(notice.area.path) for path in relay_areas(user))


def relay_status(notice: Notice) -> dict:
    """The building heads of buildings inside the notice's area and whether each has relayed it."""
    heads = (Membership.objects.active().filter(role__code=RELAY_ROLE, area__path__startswith=notice.area.path)
             .select_related("user", "area").order_by("area__path", "user_id"))
    relayed = dict(NoticeReceipt.objects.filter(notice=notice, relayed_at__isnull=False)
                   .values_list("user_id", "relayed_at"))
    rows = [{"user": m.user, "area": m.area, "relayed_at": relayed.get(m.user_id)} for m in heads]
    return {"rows": rows, "expected": len(rows), "relayed": sum(1 for r in rows if r["relayed_at"])}


def receipts(notice: Notice) -> QuerySet:
    return NoticeReceipt.objects.filter(notice=notice).select_related("user").order_by("read_at", "pk")


# ------------------------------------------------------------------------------ attachments


def check_attachment(upload) -> tuple[str, str]:
    """Validate one upload: ``(extension, content type)`` or ValidationError in the user's language."""
    name = os.path.basename(getattr(upload, "name", "") or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        raise ValidationError(_("附件“%(name)s”的类型不支持：只能上传 PDF、图片（JPG、PNG）和办公文档"
                                "（Word、Excel、PowerPoint）") % {"name": name[:60]}, code="bad_type")
    limit_mb = MAX_ATTACHMENT_BYTES // (1024 * 1024)
    too_big = ValidationError(_("附件“%(name)s”超过 %(mb)d MB") % {"name": name[:60], "mb": limit_mb},
                              code="too_large")
    if upload.size is not None and upload.size > MAX_ATTACHMENT_BYTES:
        raise too_big
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head:
        raise ValidationError(_("附件“%(name)s”是空文件") % {"name": name[:60]}, code="empty")
    content_type, signatures = ALLOWED[ext]
    if not any(head.startswith(sig) for sig in signatures):
        raise ValidationError(_("附件“%(name)s”的内容与其类型不符") % {"name": name[:60]}, code="mismatch")
    return ext, content_type


def check_attachments(uploads) -> list[tuple]:
    uploads = [u for u in uploads if u]
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": _("每条通知最多 %(n)d 个附件") % {"n": MAX_ATTACHMENTS}})
    checked = []
    for upload in uploads:
        try:
            checked.append((upload, *check_attachment(upload)))
        except ValidationError as exc:
            raise ValidationError({"attachments": exc.messages}) from None
    return checked


def attachment_response(attachment: NoticeAttachment) -> FileResponse:
    """Serve a stored attachment as a download under our content type (never sniffed, never run)."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.name,
                            content_type=attachment.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------------------ writes


def publish_notice(actor, *, area, title, body, valid_from, valid_until=None, pinned=False, is_public=False,
                   needs_relay=False, attachments=()) -> Notice:
    if area is None or not isinstance(area, Area):
        raise ValidationError({"area": _("请选择发布范围")})
    if not queries.can_publish(actor, area):
        raise PermissionDenied
    title = clean_text(title, "title", _("标题"), 120)
    body = clean_text(body, "body", _("正文"), MAX_BODY)
    if not isinstance(valid_from, datetime.date):
        raise ValidationError({"valid_from": _("请填写生效日期")})
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError({"valid_until": _("失效日期不能早于生效日期")})
    checked = check_attachments(attachments)
    with photos.removed_on_error(), transaction.atomic():  # a failed publish leaves no attachment file
        notice = Notice.objects.create(
            area=area, title=title, body=body, valid_from=valid_from, valid_until=valid_until,
            pinned=bool(pinned), is_public=bool(is_public), needs_relay=bool(needs_relay),
            published_by=actor if signed_in(actor) else None)
        for upload, ext, content_type in checked:
            attachment = NoticeAttachment(notice=notice, name=os.path.basename(upload.name)[:200],
                                          size=upload.size or 0, content_type=content_type)
            photos.save_file(attachment.file, f"{uuid.uuid4().hex}.{ext}", upload)  # never the uploaded name
            attachment.save()
        audit.record(actor, "portal.notice_publish", notice, after={
            **audit.snapshot(notice, NOTICE_FIELDS), "attachments": [a.name for a in notice.attachments.all()]})
    return notice


def withdraw(actor, notice: Notice) -> Notice:
    with transaction.atomic():
        notice = Notice.objects.select_for_update().select_related("area").get(pk=notice.pk)
        if not queries.can_publish(actor, notice.area):
            raise PermissionDenied
        if notice.withdrawn_at is not None:
            raise ValidationError(_("该通知已撤回"))
        before = audit.snapshot(notice, NOTICE_FIELDS)
        notice.withdrawn_at = timezone.now()
        notice.withdrawn_by = actor if signed_in(actor) else None
        notice.save(update_fields=["withdrawn_at", "withdrawn_by"])
        audit.record(actor, "portal.notice_withdraw", notice, before=before,
                     after=audit.snapshot(notice, NOTICE_FIELDS))
    return notice


def mark_read(user, notice: Notice) -> NoticeReceipt | None:
    """Record that ``user`` has read the notice (once; a second call changes nothing)."""
    if not signed_in(user):
        return None
    receipt, _created = NoticeReceipt.objects.get_or_create(notice=notice, user=user)
    return receipt


def mark_relayed(user, notice: Notice) -> NoticeReceipt:
    """A building head of a building inside the notice's area has passed it on door to door."""
    notice = Notice.objects.select_related("area").get(pk=notice.pk)
    if not signed_in(user) or not may_relay(user, notice):
        raise PermissionDenied
    with transaction.atomic():
        NoticeReceipt.objects.get_or_create(notice=notice, user=user)
        receipt = NoticeReceipt.objects.select_for_update().get(notice=notice, user=user)
        if receipt.relayed_at is None:
            receipt.relayed_at = timezone.now()
            receipt.save(update_fields=["relayed_at"])
            audit.record(user, "portal.notice_relay", notice, after={"relayed_at": receipt.relayed_at.isoformat(),
                                                                    "user": user.pk})
    return receipt
