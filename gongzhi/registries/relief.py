"""Relief distributions (救助物资发放): a batch of goods for listed households, issued once each
against a signed receipt (docs/registries.md).

Issuing is one conditional ``UPDATE … WHERE issued_at IS NULL`` (ARCHITECTURE pattern 4): when two
staff press 发放 for the same household at the same moment, the database lets exactly one of them
change the row; the other gets ``Conflict`` naming when it was issued.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.cases import photos
from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text

from . import rules
from .crypto import NAME, mask
from .models import Household, NeedCase, Registry, ReliefBatch, ReliefRecipient

MAX_PER_HOUSEHOLD = 1000
MAX_LISTED_AT_ONCE = 5000
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024


def _require_writer(actor, area) -> None:
    if not rules.can_write(actor, Registry.ASSISTANCE, area):
        raise PermissionDenied(_("您不能在该区域组织物资发放"))


def _require_open(batch: ReliefBatch) -> None:
    if batch.closed_at is not None:
        raise Conflict(_("该批次已于 %(when)s 结束发放") % {
            "when": timezone.localtime(batch.closed_at).strftime("%Y-%m-%d %H:%M")})


def _quantity(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"per_household": _("每户数量必须是整数")}) from None
    if isinstance(value, bool) or not 1 <= number <= MAX_PER_HOUSEHOLD:
        raise ValidationError({"per_household": _("每户数量应在 1 到 %(n)s 之间") % {"n": MAX_PER_HOUSEHOLD}})
    return number


def create_batch(actor, *, area, name, goods, per_household=1) -> ReliefBatch:
    _require_writer(actor, area)
    name = clean_text(name, "name", _("名称"), 100)
    goods = clean_text(goods, "goods", _("物资"), 200)
    per_household = _quantity(per_household)
    with transaction.atomic():
        batch = ReliefBatch.objects.create(area=area, name=name, goods=goods, per_household=per_household,
                                           created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "registries.relief_batch_create", batch,
                     after=audit.snapshot(batch, ["area", "name", "goods", "per_household", "opened_on"]))
    return batch


def _inside(batch: ReliefBatch, household: Household) -> bool:
    return household.area.path.startswith(batch.area.path)


def list_households(actor, batch: ReliefBatch, households) -> int:
    """List households for the batch; those already listed are left as they are (idempotent).
    Returns how many were added."""
    _require_writer(actor, batch.area)
    households = list({h.pk: h for h in households}.values())
    if len(households) > MAX_LISTED_AT_ONCE:
        raise ValidationError(_("一次最多列入 %(n)s 户") % {"n": MAX_LISTED_AT_ONCE})
    for household in households:
        if not _inside(batch, household):
            raise ValidationError({"households": _("户 %(number)s 不在本批次的发放区域内") % {"number": household}})
        if household.closed_at is not None or household.anonymised_at is not None:
            raise ValidationError({"households": _("户 %(number)s 已注销") % {"number": household}})
    with transaction.atomic():
        batch = ReliefBatch.objects.select_for_update().select_related("area").get(pk=batch.pk)
        _require_open(batch)
        listed = set(batch.recipients.filter(household__in=[h.pk for h in households])
                     .values_list("household_id", flat=True))
        new = [ReliefRecipient(batch=batch, household=h, quantity=batch.per_household)
               for h in households if h.pk not in listed]
        ReliefRecipient.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            audit.record(actor, "registries.relief_list", batch,
                         after={"added": len(new), "households": sorted(r.household_id for r in new)})
    return len(new)


def list_open_need_cases(actor, batch: ReliefBatch) -> int:
    """List every household of the batch's area that has an open need case."""
    _require_writer(actor, batch.area)
    households = Household.objects.filter(
        pk__in=NeedCase.objects.filter(closed_on__isnull=True, household__area__path__startswith=batch.area.path)
        .values("household"), closed_at__isnull=True, anonymised_at__isnull=True).select_related("area")
    return list_households(actor, batch, households)


def issue(actor, recipient: ReliefRecipient, *, signed_by, signature=None) -> ReliefRecipient:
    """Hand the goods to a listed household against a signed receipt — at most once, ever."""
    batch = recipient.batch
    _require_writer(actor, batch.area)
    signed_by = clean_text(signed_by, "signed_by", _("签收人"), 64)
    image = None
    if signature is not None:
        if getattr(signature, "size", 0) > MAX_SIGNATURE_BYTES:
            raise ValidationError({"signature": _("签名图片不能超过 2 MB")})
        try:
            image = photos.check_upload(signature)  # sniffed, size-checked, decoded; stored re-encoded
        except ValidationError as exc:
            raise ValidationError({"signature": exc.messages}) from None
    now = timezone.now()
    by = actor if getattr(actor, "is_authenticated", False) else None
    with photos.removed_on_error(), transaction.atomic():
        changed = ReliefRecipient.objects.filter(
            pk=recipient.pk, issued_at__isnull=True,
            batch_id__in=ReliefBatch.objects.filter(pk=recipient.batch_id, closed_at__isnull=True).values("pk"),
        ).update(issued_at=now, issued_by=by, signed_by=signed_by)
        if changed != 1:
            current = ReliefRecipient.objects.select_related("batch", "issued_by").get(pk=recipient.pk)
            if current.issued_at is not None:
                who = str(current.issued_by) if current.issued_by else _("系统")
                raise Conflict(_("该户已于 %(when)s 领取（发放人：%(who)s）") % {
                    "when": timezone.localtime(current.issued_at).strftime("%Y-%m-%d %H:%M"), "who": who})
            _require_open(current.batch)
            raise Conflict(_("无法发放，请刷新后重试"))
        recipient = ReliefRecipient.objects.select_related("batch", "household").get(pk=recipient.pk)
        if image is not None:
            photos.write_jpeg(recipient.signature, f"{uuid.uuid4().hex}.jpg", image, max_side=1200, quality=80)
            ReliefRecipient.objects.filter(pk=recipient.pk).update(signature=recipient.signature.name)
        audit.record(actor, "registries.relief_issue", recipient,
                     after=audit.snapshot(recipient, ["batch", "household", "quantity", "issued_at", "issued_by"]))
    return recipient


def close_batch(actor, batch: ReliefBatch) -> ReliefBatch:
    """End the distribution: nothing more is listed or issued; the receipts stay."""
    _require_writer(actor, batch.area)
    with transaction.atomic():
        batch = ReliefBatch.objects.select_for_update().select_related("area").get(pk=batch.pk)
        _require_open(batch)
        batch.closed_at = timezone.now()
        batch.save(update_fields=["closed_at"])
        audit.record(actor, "registries.relief_batch_close", batch, after={**audit.snapshot(batch, ["closed_at"]),
                                                                          **totals(batch).as_dict()})
    return batch


@dataclass(frozen=True)
class Totals:
    listed: int
    issued: int
    items: int  # goods handed out (the issued households' quantities)

    @property
    def waiting(self) -> int:
        return self.listed - self.issued

    def as_dict(self) -> dict[str, int]:
        return {"listed": self.listed, "issued": self.issued, "items": self.items}


def totals(batch: ReliefBatch) -> Totals:
    issued = Q(issued_at__isnull=False)
    row = batch.recipients.aggregate(listed=Count("pk"), issued=Count("pk", filter=issued),
                                     items=Sum("quantity", filter=issued))
    return Totals(row["listed"] or 0, row["issued"] or 0, row["items"] or 0)


def receipts_xlsx(actor, batch: ReliefBatch) -> bytes:
    """The receipt list: household number and area only — no address; the signer's name masked."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = _("签收名单")[:31]
    ws.append([batch.name, batch.goods, batch.area.name])
    ws.append([_("户号"), _("所在区域"), _("数量"), _("发放时间"), _("发放人"), _("签收人"), _("签名")])
    rows = batch.recipients.select_related("household__area", "issued_by").order_by("household__number", "pk")
    for r in rows:
        ws.append([
            r.household.number or f"#{r.household_id}", r.household.area.name, r.quantity,
            timezone.localtime(r.issued_at).strftime("%Y-%m-%d %H:%M") if r.issued_at else "",
            str(r.issued_by) if r.issued_by else "",
            mask(r.signed_by, NAME) if r.signed_by else "",
            _("有") if r.signature else "",
        ])
    t = totals(batch)
    ws.append([])
    ws.append([_("列入户数"), t.listed, _("已发放户数"), t.issued, _("已发放件数"), t.items])
    audit.record(actor, "registries.relief_receipts_export", batch, after=t.as_dict())
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
