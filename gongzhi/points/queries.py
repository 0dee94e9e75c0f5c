"""Reads: balances (the sum of the entries), a resident's history, checks of the ledger's invariants."""

from __future__ import annotations

from django.db.models import Sum

from . import ledger
from .models import Account, EarningBatch, Entry, Transaction

Kind = Account.Kind


def balance(account: Account) -> int:
    """The truth: the sum of the account's entries (the cached column must equal it)."""
    return ledger.entries_sum(account)


def points_of(user) -> int:
    account = Account.objects.filter(kind=Kind.RESIDENT_POINTS, user=user).first()
    return balance(account) if account else 0


def minutes_of(user) -> int:
    account = Account.objects.filter(kind=Kind.RESIDENT_HOURS, user=user).first()
    return balance(account) if account else 0


def history(user):
    """The resident's entries, newest first, with their transactions."""
    return (Entry.objects.filter(account__user=user).select_related("transaction", "account")
            .order_by("-transaction__created_at", "-id"))


def expiring(user, before):
    """Batches of the resident that still hold points and expire before ``before``."""
    return EarningBatch.objects.filter(account__user=user, account__kind=Kind.RESIDENT_POINTS, remaining__gt=0,
                                       expired_at__isnull=True, expires_at__lt=before).order_by("expires_at", "id")


def invariant_violations() -> list[str]:
    """Everything that should never happen, as sentences (empty: the ledger is sound). Used by the
    tests after every step, and cheap enough for an operator's check on a small city."""
    problems: list[str] = []
    for row in (Entry.objects.values("transaction_id", "account__unit").annotate(s=Sum("amount"))
                .exclude(s=0)):
        problems.append(f"transaction {row['transaction_id']} does not sum to zero in {row['account__unit']}")
    for row in Entry.objects.values("account__unit").annotate(s=Sum("amount")).exclude(s=0):
        problems.append(f"all entries in {row['account__unit']} sum to {row['s']}, not zero")
    empty = Transaction.objects.filter(entries__isnull=True).values_list("pk", flat=True)
    problems += [f"transaction {pk} has no entries" for pk in empty]
    sums = dict(Entry.objects.values_list("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))
    for acc in Account.objects.all():
        total = sums.get(acc.pk, 0)
        if acc.kind in Account.GUARDED:
            if acc.balance != total:
                problems.append(f"account {acc.pk}: cached balance {acc.balance} != sum of entries {total}")
            if total < 0:
                problems.append(f"account {acc.pk} is negative: {total}")
        elif acc.balance is not None:
            problems.append(f"account {acc.pk}: an unguarded account has a cached balance")
        if acc.kind == Kind.RESIDENT_POINTS:
            live = EarningBatch.objects.filter(account=acc, expired_at__isnull=True).aggregate(
                s=Sum("remaining"))["s"] or 0
            if live != total:
                problems.append(f"account {acc.pk}: live batches hold {live}, the balance is {total}")
    for batch in EarningBatch.objects.annotate(moved=Sum("moves__amount")):
        if batch.remaining != batch.amount + (batch.moved or 0):
            problems.append(f"batch {batch.pk}: remaining {batch.remaining} != amount + moves")
    return problems
