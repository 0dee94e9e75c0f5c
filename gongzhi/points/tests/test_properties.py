"""Property tests (hypothesis) of the ledger's invariants over random sequences of awards (attendance
and good deeds, each confirmed twice), purchases, cancellations, redemptions, reversals, expiries
and the passing of time. After every step:

- every transaction sums to zero per unit, and all entries together sum to zero;
- no balance is negative; each cached balance equals the sum of its entries; the live batches of a
  resident hold exactly their balance;
- nothing written before was edited or deleted (every earlier entry and transaction is unchanged);
- a refused operation (a Conflict) stored nothing;
- confirming or approving again credits nothing.

Each example runs in a savepoint that is rolled back, on the same small world.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test.utils import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gongzhi.core.errors import Conflict
from gongzhi.points import queries, services
from gongzhi.points.models import BatchMove, Entry, GoodDeed, Transaction

from .conftest import T0

pytestmark = pytest.mark.django_db

RESIDENTS = 3
steps = st.lists(st.one_of(
    st.tuples(st.just("deed"), st.integers(0, RESIDENTS - 1), st.integers(1, 40)),
    st.tuples(st.just("attend"), st.integers(0, RESIDENTS - 1), st.integers(0, 150)),
    st.tuples(st.just("buy"), st.integers(0, RESIDENTS - 1), st.integers(0, 1)),
    st.tuples(st.just("cancel"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("redeem"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("reverse"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("wait"), st.integers(0, 3 * 24 * 60), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
), min_size=1, max_size=25)


def ledger_rows() -> tuple[set, set, set]:
    return (set(Entry.objects.values_list("id", "transaction_id", "account_id", "amount")),
            set(Transaction.objects.values_list("id", "kind", "idempotency_key", "reverses_id")),
            set(BatchMove.objects.values_list("id", "batch_id", "transaction_id", "amount")))


@override_settings(POINTS_VALIDITY_DAYS=6)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(script=steps)
def test_ledger_invariants_hold_over_random_sequences(world, scheme, script):
    residents = [world.resident, world.worker, world.handler]
    with transaction.atomic():
        cheap = services.create_offer(scheme.merchant, actor=world.dispatcher, title="小券", gives="x", price=7,
                                      stock=4, valid_from=T0, cancel_minutes=60, voucher_days=3)
        dear = services.create_offer(scheme.merchant, actor=world.dispatcher, title="大券", gives="x", price=13,
                                     per_person_limit=2, valid_from=T0, cancel_minutes=60, voucher_days=3)
        activity = services.create_activity(
            actor=world.dispatcher, area=world.community_a, title="巡逻", starts_at=T0,
            ends_at=T0 + datetime.timedelta(days=60), slots=1000, points_per_hour=9, difficulty="1.3",
            cap_minutes=150, cap_points=25)
        now = T0
        vouchers, awards = [], []
        for resident in residents:  # something to spend from the first step
            deed = GoodDeed.objects.create(area=world.community_a, resident=resident, reported_by=world.worker,
                                           description="x", occurred_on=T0)
            awards.append(services.approve_good_deed(deed, actor=world.dispatcher, points=20, now=now))
        for op, a, b in script:
            before = ledger_rows()
            try:
                with transaction.atomic():
                    if op == "deed":
                        deed = GoodDeed.objects.create(area=world.community_a, resident=residents[a],
                                                       reported_by=world.worker, description="x", occurred_on=T0)
                        txn = services.approve_good_deed(deed, actor=world.dispatcher, points=b, now=now)
                        awards.append(txn)
                        mid = ledger_rows()
                        assert services.approve_good_deed(deed, actor=world.dispatcher, points=b, now=now) == txn
                        assert ledger_rows() == mid  # approving again credits nothing
                    elif op == "attend":
                        signup = services.sign_up(activity, actor=residents[a], now=now)
                        txn = services.confirm_attendance(signup, actor=world.dispatcher, minutes=b, now=now)
                        if txn is not None:
                            awards.append(txn)
                        mid = ledger_rows()
                        assert services.confirm_attendance(signup, actor=world.dispatcher, minutes=b, now=now) == txn
                        assert ledger_rows() == mid  # confirming again credits nothing
                    elif op == "buy":
                        vouchers.append(services.buy_voucher((cheap, dear)[b], actor=residents[a], now=now))
                    elif op in ("cancel", "redeem") and not vouchers:
                        op = "nothing"
                    elif op == "cancel":
                        voucher = vouchers[a % len(vouchers)]
                        actor = world.dispatcher if b else voucher.resident
                        services.cancel_voucher(voucher, actor=actor, now=now)
                    elif op == "redeem":
                        services.redeem_voucher(actor=scheme.cashier, code=vouchers[a % len(vouchers)].code, now=now)
                    elif op == "reverse":
                        services.reverse_transaction(awards[a % len(awards)], actor=world.dispatcher, reason="纠错",
                                                     now=now)
                    elif op == "wait":
                        now += datetime.timedelta(minutes=a)
                    elif op == "expire":
                        services.expire_job(now=now)
                event(f"{op}: done")
            except Conflict:
                event(f"{op}: refused")
                assert ledger_rows() == before, f"{op} was refused but stored something"
            after = ledger_rows()
            for old, new in zip(before, after, strict=True):
                assert old <= new, f"{op} edited or deleted ledger rows"
            assert queries.invariant_violations() == [], (op, a, b)
        transaction.set_rollback(True)
