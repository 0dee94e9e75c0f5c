"""Races on PostgreSQL (real row locks, one connection per thread): the balance guard, stock, the
per-person limit, one redemption per voucher, one award per attendance.

PostgreSQL here allows 100 connections for everyone on the machine, so "100 parallel purchases" are
100 attempts started together on 25 threads (4 each, back to back): every attempt overlaps others.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gongzhi.orgs import services as org_services
from gongzhi.points import queries, services
from gongzhi.points.models import Account, Offer, Transaction, Voucher
from gongzhi.race_testing import run_parallel

from .conftest import T0, award

H = datetime.timedelta(hours=1)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections"),
]




def test_100_parallel_purchases_against_a_balance_for_10(world, scheme):
    award(world, world.resident, 300)  # the offer costs 30: ten vouchers
    results = run_parallel(25, lambda i: services.buy_voucher(
        Offer.objects.get(pk=scheme.offer.pk), actor=world.resident, now=T0 + H).pk, per_thread=4)
    ok = [r for r in results if r[0] == "ok"]
    errors = [r[1] for r in results if r[0] == "error"]
    assert len(ok) == 10 and len({pk for _s, pk in ok}) == 10, errors[:3]
    assert all(isinstance(e, ValidationError) and "积分不足" in str(e) for e in errors), errors[:3]
    account = Account.objects.get(kind=Account.Kind.RESIDENT_POINTS, user=world.resident)
    assert account.balance == 0 and queries.balance(account) == 0
    assert Voucher.objects.count() == 10 and Transaction.objects.filter(kind="redeem").count() == 10
    assert queries.invariant_violations() == []


def test_stock_holds_under_parallel_buyers(world, scheme):
    offer = services.create_offer(scheme.merchant, actor=world.dispatcher, title="限量券", gives="x", price=1,
                                  stock=5, valid_from=T0)
    buyers = [org_services.create_user(actor=None, username=f"buyer{i}", password="x-correct-horse")
              for i in range(12)]
    for user in buyers:
        award(world, user, 10)
    results = run_parallel(12, lambda i: services.buy_voucher(Offer.objects.get(pk=offer.pk),
                                                                  actor=buyers[i], now=T0 + H).pk)
    assert sum(r[0] == "ok" for r in results) == 5
    assert all("已兑完" in str(r[1]) for r in results if r[0] == "error"), results
    offer.refresh_from_db()
    assert offer.stock == 0 and Voucher.objects.filter(offer=offer).count() == 5
    assert queries.invariant_violations() == []


def test_the_per_person_limit_holds_under_parallel_purchases(world, scheme):
    offer = services.create_offer(scheme.merchant, actor=world.dispatcher, title="每人两张", gives="x", price=1,
                                  per_person_limit=2, valid_from=T0)
    award(world, world.resident, 100)
    results = run_parallel(8, lambda i: services.buy_voucher(Offer.objects.get(pk=offer.pk),
                                                                 actor=world.resident, now=T0 + H).pk)
    assert sum(r[0] == "ok" for r in results) == 2, results
    assert queries.points_of(world.resident) == 98


def test_two_devices_scan_one_voucher_at_the_same_moment(world, scheme):
    award(world, world.resident, 300)
    vouchers = [services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H) for _ in range(5)]
    for voucher in vouchers:  # five rounds: one by code, one by QR token, at the same instant
        results = run_parallel(2, lambda i, v=voucher: services.redeem_voucher(
            actor=scheme.cashier, now=T0 + 2 * H, **({"code": v.code} if i else {"token": v.token})).pk)
        assert sorted(r[0] for r in results) == ["error", "ok"], results
        error = next(r[1] for r in results if r[0] == "error")
        assert "已于" in str(error) and "使用" in str(error)
    assert Transaction.objects.filter(kind="use").count() == 5
    receivable = Account.objects.get(kind=Account.Kind.MERCHANT_RECEIVABLE, merchant=scheme.merchant)
    assert queries.balance(receivable) == 150
    assert queries.invariant_violations() == []


def test_a_scan_racing_a_cancellation_one_wins(world, scheme):
    award(world, world.resident, 30)
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)
    results = run_parallel(2, lambda i: (
        services.redeem_voucher(actor=scheme.cashier, code=voucher.code, now=T0 + H) if i
        else services.cancel_voucher(Voucher.objects.get(pk=voucher.pk), actor=world.resident, now=T0 + H)).status)
    assert sorted(r[0] for r in results) == ["error", "ok"], results
    voucher.refresh_from_db()
    assert queries.points_of(world.resident) == (30 if voucher.status == Voucher.Status.CANCELLED else 0)
    assert queries.invariant_violations() == []


def test_confirming_one_attendance_twice_at_once_credits_once(world, scheme):
    signup = services.sign_up(scheme.activity, actor=world.resident, now=T0 - H)
    services.check_in(signup, actor=world.dispatcher, now=T0)
    services.check_out(signup, actor=world.dispatcher, now=T0 + 2 * H)
    results = run_parallel(4, lambda i: services.confirm_attendance(signup, actor=world.dispatcher,
                                                                       now=T0 + 3 * H).pk)
    assert all(r[0] == "ok" for r in results) and len({r[1] for r in results}) == 1, results
    assert queries.points_of(world.resident) == 30
    assert Transaction.objects.filter(kind="award", signup=signup).count() == 1
