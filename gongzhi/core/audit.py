"""Writing the audit log. Service functions call ``record`` inside their transaction."""

from __future__ import annotations

import csv
import datetime
import decimal
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import context
from .models import AuditChain, AuditCheckpoint, AuditLog


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


# ---------------------------------------------------------------------------------------------
# The hash chain (docs/security.md#audit).
#
# ``record`` stays one INSERT: rows are born unsealed (seq NULL). The sealing pass (``seal``, run by
# the worker, by ``audit_verify`` and before a purge) locks the chain head, gives each unsealed row
# the next place in the chain in id order, and stores HMAC(key, prev_hash ‖ row content). Only one
# sealer holds the head at a time, so the chain never forks; a row committed late by a slow
# transaction (lower id, later commit) simply takes the next free place in a later pass.
# ---------------------------------------------------------------------------------------------

GENESIS = "0" * 64
#: Retention may not be shorter than six calendar months: July–December is 184 days (等保 三级).
MIN_RETENTION_DAYS = 184
SEAL_BATCH = 2000


def chain_key() -> bytes:
    """The key of the chain's HMACs: AUDIT_CHAIN_KEY, or one derived from SECRET_KEY."""
    from django.conf import settings

    key = getattr(settings, "AUDIT_CHAIN_KEY", "") or ""
    if key:
        return key.encode()
    return hashlib.sha256(b"gongzhi.audit.chain\x00" + settings.SECRET_KEY.encode()).digest()


def _mac(*parts: Any) -> str:
    message = "\x1f".join("" if p is None else str(p) for p in parts).encode()
    return hmac.new(chain_key(), message, hashlib.sha256).hexdigest()


def _utc(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def row_content(row: AuditLog) -> bytes:
    """The bytes a row's hash covers. Not ``actor_id``: deleting a user nulls it (the name stays)."""
    data = [row.seq, row.pk, _utc(row.at), row.actor_name, row.action, row.object_type, row.object_id,
            row.object_repr, row.before, row.after, row.note, row.request_id, row.ip]
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(row: AuditLog, prev_hash: str) -> str:
    return hmac.new(chain_key(), prev_hash.encode() + b"\n" + row_content(row), hashlib.sha256).hexdigest()


def head_mac(head: AuditChain) -> str:
    return _mac("head", head.seq, head.hash)


def checkpoint_mac(cp: AuditCheckpoint) -> str:
    return _mac("checkpoint", cp.seq, cp.hash, _utc(cp.purged_before), cp.purged_rows)


class ChainHeadMissing(Exception):
    """Sealed rows exist but the chain head is gone: someone deleted it (see ``audit_verify``)."""


def _locked_head(*, repair: bool = False) -> AuditChain:
    """The chain head, locked for this transaction (created on first use).

    A missing head is only created silently while nothing is sealed yet; otherwise it is an alarm
    (rows may have been cut off the end) and needs ``repair=True`` (``audit_verify --repair-head``).
    """
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    last = AuditLog.objects.filter(seq__isnull=False).order_by("-seq").first()
    cp = AuditCheckpoint.objects.order_by("-seq").first()
    if (last is not None or cp is not None) and not repair:
        # Another sealer may have created the head and sealed since our first look (the very first
        # seal, two workers at once): this statement sees what it committed meanwhile.
        head = AuditChain.objects.select_for_update().filter(pk=1).first()
        if head is not None:
            return head
        raise ChainHeadMissing("the audit chain head is missing; run `gongzhi audit_verify --repair-head`")
    head = AuditChain(pk=1, seq=0, hash=GENESIS)
    if last is not None:
        head.seq, head.hash = last.seq, last.hash
    elif cp is not None:
        head.seq, head.hash = cp.seq, cp.hash
    head.mac = head_mac(head)
    try:
        with transaction.atomic():
            head.save(force_insert=True)
    except IntegrityError:
        pass  # another sealer created it first
    if repair and last is not None:
        record(None, "audit.repair_head", object_type=AuditLog._meta.label_lower, object_id=str(head.seq),
               note="audit_verify --repair-head")
    return AuditChain.objects.select_for_update().get(pk=1)


def seal(*, batch: int = SEAL_BATCH, limit: int | None = None, repair_head: bool = False) -> int:
    """Give every unsealed row its place in the chain; returns how many rows were sealed.

    Each batch is one short transaction holding the chain head (``SELECT … FOR UPDATE``); writers
    of new audit rows never wait for it. Safe to run from several workers at once.
    """
    sealed = 0
    while limit is None or sealed < limit:
        size = batch if limit is None else min(batch, limit - sealed)
        with transaction.atomic():
            head = _locked_head(repair=repair_head)
            rows = list(AuditLog.objects.filter(seq__isnull=True).order_by("pk")[:size])
            if not rows:
                break
            seq, prev = head.seq, head.hash
            for row in rows:
                seq += 1
                row.seq, row.prev_hash = seq, prev
                row.hash = prev = row_hash(row, prev)
            AuditLog.objects.bulk_update(rows, ["seq", "prev_hash", "hash"])
            head.seq, head.hash, head.sealed_at = seq, prev, timezone.now()
            head.mac = head_mac(head)
            head.save()
            sealed += len(rows)
        if len(rows) < size:
            break
    return sealed


@dataclass
class Verification:
    """What ``verify`` found: rows checked, the first broken link (if any), rows not yet sealed."""

    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint: AuditCheckpoint | None = None
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    unsealed: int = 0
    oldest_unsealed: datetime.datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.reason


def verify(*, progress: Callable[[int], None] | None = None) -> Verification:
    """Walk the chain from the newest checkpoint (or the genesis) and stop at the first broken link.

    Checks, in order: each checkpoint's MAC; the first remaining row continues the checkpoint;
    places are consecutive (a gap is a deleted row); each row's ``prev_hash`` is the previous row's
    hash and its own hash matches its content; the head (MAC-protected) is the last row (rows cut
    off the end).
    """
    result = Verification()
    for cp in AuditCheckpoint.objects.order_by("seq"):
        if not hmac.compare_digest(cp.mac, checkpoint_mac(cp)):
            result.reason = _("清理检查点 #%(seq)s 的校验码不符（检查点被改动）") % {"seq": cp.seq}
            result.broken_seq = cp.seq
            return result
        result.checkpoint = cp
    cp = result.checkpoint
    expected_seq = (cp.seq if cp else 0) + 1
    expected_prev = cp.hash if cp else GENESIS
    unsealed = AuditLog.objects.filter(seq__isnull=True)
    result.unsealed = unsealed.count()
    result.oldest_unsealed = unsealed.order_by("at").values_list("at", flat=True).first()

    rows = AuditLog.objects.filter(seq__isnull=False).order_by("seq")
    if cp is not None:
        stale = rows.filter(seq__lte=cp.seq).order_by("seq").first()
        if stale is not None:
            result.broken_seq, result.broken_id = stale.seq, stale.pk
            result.reason = _("第 %(seq)s 条应已在检查点之前清理，却仍存在") % {"seq": stale.seq}
            return result
    for row in rows.iterator(chunk_size=2000):
        if row.seq != expected_seq:
            result.broken_seq, result.broken_id = expected_seq, row.pk
            result.reason = _("链序号 %(expected)s 至 %(found)s 之间的记录缺失（被删除）") % {
                "expected": expected_seq, "found": row.seq - 1} if row.seq > expected_seq else _(
                "链序号 %(seq)s 重复") % {"seq": row.seq}
            return result
        if row.prev_hash != expected_prev:
            result.broken_seq, result.broken_id = row.seq, row.pk
            result.reason = _("第 %(seq)s 条记录的前一条哈希与上一条不符") % {"seq": row.seq}
            return result
        if not hmac.compare_digest(row.hash, row_hash(row, row.prev_hash)):
            result.broken_seq, result.broken_id = row.seq, row.pk
            result.reason = _("第 %(seq)s 条记录的内容与哈希不符（记录被改动）") % {"seq": row.seq}
            return result
        if result.first_seq is None:
            result.first_seq = row.seq
        result.last_seq = row.seq
        result.checked += 1
        expected_seq, expected_prev = row.seq + 1, row.hash
        if progress is not None and result.checked % 10000 == 0:
            progress(result.checked)
    head = AuditChain.objects.filter(pk=1).first()
    if head is not None:
        if not hmac.compare_digest(head.mac, head_mac(head)):
            result.reason = _("链头的校验码不符（链头被改动）")
        elif head.seq != expected_seq - 1 or head.hash != expected_prev:
            result.broken_seq = expected_seq
            result.reason = _("链头指向第 %(head)s 条，但最后一条是第 %(last)s 条（末尾记录被删除）") % {
                "head": head.seq, "last": expected_seq - 1}
    elif expected_seq > 1 and cp is None:
        result.reason = _("链头缺失")
    return result


# ---------------------------------------------------------------------------------------------
# Retention and purge.
# ---------------------------------------------------------------------------------------------


def retention_days() -> int:
    from django.conf import settings

    return int(getattr(settings, "AUDIT_RETENTION_DAYS", 365))


@dataclass
class Purge:
    cutoff: datetime.datetime
    rows: int
    through_seq: int | None
    committed: bool
    checkpoint: AuditCheckpoint | None = None


def purge_expired(*, commit: bool = True, now: datetime.datetime | None = None, actor=None) -> Purge:
    """Delete audit rows older than AUDIT_RETENTION_DAYS, leaving a checkpoint; dry run unless commit.

    Only a prefix of the chain is removed (every row before the first row still within retention),
    so the rest still verifies from the checkpoint. Rows are sealed first.
    """
    days = retention_days()
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION_DAYS={days} is shorter than the minimum of {MIN_RETENTION_DAYS} days")
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    seal()
    with transaction.atomic():
        head = _locked_head()
        sealed = AuditLog.objects.filter(seq__isnull=False)
        boundary = sealed.filter(at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
        if boundary is None:
            boundary = head.seq + 1
        doomed = sealed.filter(seq__lt=boundary)
        count = doomed.count()
        last = doomed.order_by("-seq").first()
        if not count or last is None:
            return Purge(cutoff=cutoff, rows=0, through_seq=None, committed=commit)
        if not commit:
            return Purge(cutoff=cutoff, rows=count, through_seq=last.seq, committed=False)
        checkpoint = AuditCheckpoint(seq=last.seq, hash=last.hash, purged_before=cutoff, purged_rows=count,
                                     actor_name=_actor_label(actor))
        checkpoint.mac = checkpoint_mac(checkpoint)
        checkpoint.save()
        doomed.delete()  # no signals, no cascades: one DELETE (AuditLog.delete() is never called)
        record(actor, "audit.purge", object_type=AuditLog._meta.label_lower, object_id=str(last.seq),
               after={"rows": count, "through_seq": last.seq, "before": _utc(cutoff), "retention_days": days})
    return Purge(cutoff=cutoff, rows=count, through_seq=last.seq, committed=True, checkpoint=checkpoint)


def _actor_label(actor) -> str:
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()[:150]
    return (str(actor) if actor else "system")[:150]


def run_periodic() -> tuple[int, Purge]:
    """The worker's job (every few minutes): seal new rows, then purge expired ones."""
    sealed = seal()
    return sealed, purge_expired(commit=True)


# ---------------------------------------------------------------------------------------------
# Export.
# ---------------------------------------------------------------------------------------------

EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS = ["seq", "id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
                  "before", "after", "note", "request_id", "ip", "prev_hash", "hash"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_row(row: AuditLog) -> dict[str, Any]:
    return {"seq": row.seq, "id": row.pk, "at": _utc(row.at), "actor_id": row.actor_id,
            "actor_name": row.actor_name, "action": row.action, "object_type": row.object_type,
            "object_id": row.object_id, "object_repr": row.object_repr, "before": row.before, "after": row.after,
            "note": row.note, "request_id": row.request_id, "ip": row.ip, "prev_hash": row.prev_hash,
            "hash": row.hash}


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # no formulas when the file is opened in a spreadsheet (OWASP CSV injection)
    return value


def export(queryset, out: TextIO, fmt: str = "jsonl") -> int:
    """Write the rows of ``queryset`` (oldest first) to ``out`` as JSON lines or CSV; returns the count."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    count = 0
    writer = None
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
    for row in queryset.order_by("at", "pk").iterator(chunk_size=2000):
        data = export_row(row)
        if writer is not None:
            writer.writerow([_csv_cell(data[c]) for c in EXPORT_COLUMNS])
        else:
            out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
