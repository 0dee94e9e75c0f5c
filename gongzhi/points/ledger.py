"""The double-entry core, used by ``services`` only (always inside their database transaction).

- ``account``: the one account of a kind for an owner (created on first use; safe under races).
- ``post``: one transaction with its entries; refuses anything that does not sum to zero per unit;
  moves the cached balance of guarded accounts by a conditional UPDATE (``balance >= amount``), which
  is the guard: a balance can never go negative, whatever runs concurrently.
- Earning batches: ``take`` spends points oldest batch first, ``give_back`` returns them to the
  batches they came from, ``expire_due`` expires an account's batches past their date.

Callers lock the resident's points account (``lock``) before they touch its batches, so batch
bookkeeping for one account never interleaves.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from gongzhi.core.errors import Conflict

from .models import Account, BatchMove, EarningBatch, Entry, Transaction, Unit

Kind = Account.Kind


def account(kind: str, *, user=None, area=None, merchant=None) -> Account:
    unit = Account.UNITS.get(kind, Unit.POINTS)
    balance = 0 if kind in Account.GUARDED else None
    acc, _created = Account.objects.get_or_create(kind=kind, user=user, area=area, merchant=merchant,
                                                  defaults={"unit": unit, "balance": balance})
    return acc


def expired_sink() -> Account:
    return account(Kind.EXPIRED)


def lock(acc: Account) -> Account:
    """The account row, locked until the end of the transaction (re-read: the balance is fresh)."""
    return Account.objects.select_for_update().get(pk=acc.pk)


def entries_sum(acc: Account) -> int:
    return Entry.objects.filter(account=acc).aggregate(s=Sum("amount"))["s"] or 0


def shortfall_message(acc: Account) -> str:
    if acc.unit == Unit.MINUTES:
        return _("服务时长不足")
    return _("积分不足")


def post(*, kind: str, key: str, lines: list[tuple[Account, int]], actor=None, now: datetime.datetime,
         **links) -> Transaction:
    """Write one balanced transaction. ``lines``: (account, amount) pairs; amounts on the same
    account are netted, zero lines dropped. ``links``: area, signup, good_deed, voucher, reverses, note.

    Raises Conflict when a guarded account would go negative (the caller's atomic block rolls back)."""
    net: dict[int, int] = defaultdict(int)
    accounts: dict[int, Account] = {}
    for acc, amount in lines:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("ledger amounts are integers")
        net[acc.pk] += amount
        accounts[acc.pk] = acc
    per_unit: dict[str, int] = defaultdict(int)
    for pk, amount in net.items():
        per_unit[accounts[pk].unit] += amount
    if any(per_unit.values()):
        raise ValueError(f"unbalanced transaction {key}: {dict(per_unit)}")
    if not any(net.values()):
        raise ValueError(f"empty transaction {key}")
    actor = actor if getattr(actor, "is_authenticated", False) else None
    txn = Transaction.objects.create(kind=kind, idempotency_key=key, created_at=now, actor=actor, **links)
    # Guarded rows are always locked in the same order: a resident's points account before their hours.
    for pk in sorted(net, key=lambda p: (accounts[p].unit != Unit.POINTS, p)):
        amount = net[pk]
        if amount == 0:
            continue
        acc = accounts[pk]
        if acc.kind in Account.GUARDED:
            moved = Account.objects.filter(pk=pk, balance__gte=-amount if amount < 0 else 0).update(
                balance=F("balance") + amount)
            if moved != 1:
                raise Conflict(shortfall_message(acc))
    Entry.objects.bulk_create([Entry(transaction=txn, account=accounts[pk], amount=amount)
                               for pk, amount in sorted(net.items()) if amount])
    return txn


# ------------------------------------------------------------------------------------ batches


def validity() -> datetime.timedelta:
    return datetime.timedelta(days=settings.POINTS_VALIDITY_DAYS)


def new_batch(acc: Account, award: Transaction, amount: int, now: datetime.datetime) -> EarningBatch:
    return EarningBatch.objects.create(account=acc, award=award, amount=amount, remaining=amount, earned_at=now,
                                       expires_at=now + validity())


def plan_take(acc: Account, amount: int, now: datetime.datetime, first: EarningBatch | None = None
              ) -> list[tuple[EarningBatch, int]]:
    """Which live batches pay ``amount``: ``first`` (if given), then the oldest. The account must be
    locked and its due batches expired. Raises Conflict when they do not cover it."""
    plan: list[tuple[EarningBatch, int]] = []
    left = amount
    batches = list(EarningBatch.objects.filter(account=acc, remaining__gt=0, expired_at__isnull=True,
                                               expires_at__gt=now).order_by("expires_at", "id"))
    if first is not None:
        batches.sort(key=lambda b: b.pk != first.pk)
    for batch in batches:
        if left == 0:
            break
        part = min(batch.remaining, left)
        plan.append((batch, part))
        left -= part
    if left:
        raise Conflict(_("积分不足"))
    return plan


def apply_moves(txn: Transaction, moves: list[tuple[EarningBatch, int]]) -> None:
    """Record and apply batch moves (negative: taken; positive: given back)."""
    for batch, amount in moves:
        if amount:
            EarningBatch.objects.filter(pk=batch.pk).update(remaining=F("remaining") + amount)
    BatchMove.objects.bulk_create([BatchMove(batch=b, transaction=txn, amount=a) for b, a in moves if a])


def expire_due(acc: Account, now: datetime.datetime, actor=None) -> int:
    """Expire the account's batches whose date has passed: each remainder goes to the expired-points
    account in a transaction of its own (``expire:batch:<id>``, so never twice). The account must be
    locked. Returns the points expired."""
    total = 0
    sink = None
    for batch in EarningBatch.objects.filter(account=acc, expired_at__isnull=True, expires_at__lte=now).order_by(
            "expires_at", "id"):
        if batch.remaining:
            sink = sink or expired_sink()
            txn = post(kind=Transaction.Kind.EXPIRE, key=f"expire:batch:{batch.pk}", now=now, actor=actor,
                       lines=[(acc, -batch.remaining), (sink, batch.remaining)],
                       note=_("积分到期（%(date)s 获得）") % {"date": f"{batch.earned_at:%Y-%m-%d}"})
            apply_moves(txn, [(batch, -batch.remaining)])
            total += batch.remaining
        EarningBatch.objects.filter(pk=batch.pk).update(expired_at=now)
    return total
