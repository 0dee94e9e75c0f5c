"""The points services one by one: permissions, bad input (a clear Chinese error, nothing stored),
the ledger they write."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.test.utils import override_settings

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AppendOnlyError, AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.points import ledger, queries, services
from gongzhi.points.models import (
    Account,
    Activity,
    EarningBatch,
    Entry,
    GoodDeed,
    Signup,
    Transaction,
    Voucher,
)

from .conftest import T0, award, make_activity

H = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
pytestmark = pytest.mark.django_db


def sound():
    assert queries.invariant_violations() == []


# ------------------------------------------------------------------------------------ activities


def test_a_manager_publishes_an_activity_others_may_not(world):
    activity = make_activity(world)
    assert activity.organiser == world.dispatcher and activity.difficulty == 1.5
    assert AuditLog.objects.filter(action="points.activity.create", object_id=str(activity.pk)).exists()
    for user in (world.worker, world.resident, world.outsider):
        with pytest.raises(PermissionDenied):
            make_activity(world, actor=user, title="不该出现")
    assert not Activity.objects.filter(title="不该出现").exists()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"ends_at": T0 - H}, "ends_at", "结束时间应晚于开始时间"),
    ({"title": "  "}, "title", "请填写活动名称"),
    ({"slots": 0}, "slots", "名额应为 1 到"),
    ({"slots": "十"}, "slots", "名额应为"),
    ({"difficulty": "abc"}, "difficulty", "难度系数"),
    ({"difficulty": "0"}, "difficulty", "难度系数"),
    ({"points_per_hour": -5}, "points_per_hour", "每小时积分应为"),
    ({"eligibility": {"roles": ["nobody"]}}, "eligibility", "未知的角色"),
    ({"eligibility": ["grid_head"]}, "eligibility", "参加条件"),
])
def test_bad_activity_input_is_refused_clearly(world, changes, field, words):
    with pytest.raises(ValidationError) as info:
        make_activity(world, **changes)
    assert words in " ".join(info.value.message_dict[field])
    assert not Activity.objects.exists()


def test_sign_up_slots_duplicates_and_eligibility(world):
    activity = make_activity(world, slots=1)
    signup = services.sign_up(activity, actor=world.resident, now=T0 - DAY)
    with pytest.raises(Conflict, match="您已报名"):
        services.sign_up(activity, actor=world.resident, now=T0 - DAY)
    with pytest.raises(Conflict, match="名额已满"):
        services.sign_up(activity, actor=world.worker, now=T0 - DAY)
    services.cancel_signup(signup, actor=world.resident)
    services.sign_up(activity, actor=world.worker, now=T0 - DAY)  # the freed slot
    with pytest.raises(Conflict, match="已结束"):
        services.sign_up(make_activity(world, title="旧活动"), actor=world.resident, now=T0 + 4 * H)

    heads_only = make_activity(world, title="栋长培训", eligibility={"roles": ["building_head"]})
    with pytest.raises(PermissionDenied, match="参加条件"):
        services.sign_up(heads_only, actor=world.resident, now=T0 - DAY)
    org_services.assign_role(actor=None, user=world.resident, area=world.grid_a1,
                             role=Role.objects.get(code="building_head"))
    world.resident = type(world.resident).objects.get(pk=world.resident.pk)  # a fresh jurisdiction
    assert services.sign_up(heads_only, actor=world.resident, now=T0 - DAY).status == Signup.Status.SIGNED_UP


def attended(world, activity=None, checkin=T0, checkout=T0 + 3 * H):
    activity = activity or make_activity(world)
    signup = services.sign_up(activity, actor=world.resident, now=T0 - DAY)
    services.check_in(signup, actor=world.dispatcher, now=checkin)
    services.check_out(signup, actor=world.dispatcher, now=checkout)
    return signup


def test_the_organiser_checks_in_and_confirms_hours_and_points_credited_once(world):
    activity = make_activity(world)
    signup = services.sign_up(activity, actor=world.resident, now=T0 - DAY)
    with pytest.raises(PermissionDenied, match="组织者"):
        services.check_in(signup, actor=world.resident, now=T0)
    with pytest.raises(Conflict, match="请先签退"):
        services.confirm_attendance(signup, actor=world.dispatcher)
    services.check_in(signup, actor=world.dispatcher, now=T0)
    with pytest.raises(Conflict, match="已签到"):
        services.check_in(signup, actor=world.dispatcher, now=T0)
    services.check_out(signup, actor=world.dispatcher, now=T0 + 3 * H)
    txn = services.confirm_attendance(signup, actor=world.dispatcher, now=T0 + 4 * H)
    # 3 h attended, 2 h credited (the cap) × 10 points/h × 1.5 = 30 points
    signup.refresh_from_db()
    assert (signup.status, signup.minutes, signup.points) == (Signup.Status.CONFIRMED, 120, 30)
    assert queries.points_of(world.resident) == 30 and queries.minutes_of(world.resident) == 120
    again = services.confirm_attendance(signup, actor=world.dispatcher, now=T0 + 5 * H)
    assert again == txn and Transaction.objects.filter(kind="award").count() == 1
    assert queries.points_of(world.resident) == 30
    assert sorted(txn.entries.values_list("amount", flat=True)) == [-120, -30, 30, 120]
    batch = txn.batch
    assert batch.remaining == 30 and batch.expires_at == T0 + 4 * H + datetime.timedelta(days=730)
    assert AuditLog.objects.filter(action="points.award").count() == 1
    sound()


def test_minutes_are_clipped_to_the_window_and_points_capped(world):
    activity = make_activity(world, cap_minutes=600, cap_points=40)
    assert services.credited_minutes(activity, T0 - 2 * H, T0 + 90 * datetime.timedelta(minutes=1)) == 90
    assert services.attendance_points(activity, 90) == 22  # 1.5 h × 10 × 1.5 = 22.5, rounded down
    assert services.attendance_points(activity, 600) == 40  # capped
    signup = services.sign_up(activity, actor=world.resident, now=T0 - DAY)
    with pytest.raises(ValidationError, match="认定时长应为 0 到 600"):
        services.confirm_attendance(signup, actor=world.dispatcher, minutes=601)
    services.confirm_attendance(signup, actor=world.dispatcher, minutes="45", now=T0 + 4 * H)
    assert queries.minutes_of(world.resident) == 45 and queries.points_of(world.resident) == 11


def test_an_outsider_cannot_confirm(world):
    signup = attended(world)
    with pytest.raises(PermissionDenied):
        services.confirm_attendance(signup, actor=world.outsider)
    assert not Transaction.objects.exists()


# ------------------------------------------------------------------------------------ good deeds


def test_good_deeds_are_reported_and_approved_by_a_manager(world):
    deed = services.report_good_deed(actor=world.worker, resident=world.resident, area=world.community_a,
                                     description="引导救护车找到生病的邻居", occurred_on=datetime.date(2026, 5, 30))
    with pytest.raises(PermissionDenied):
        services.approve_good_deed(deed, actor=world.worker, points=20)
    with pytest.raises(PermissionDenied):
        services.approve_good_deed(deed, actor=world.outsider, points=20)
    with pytest.raises(ValidationError, match="积分应为 1 到 1000"):
        services.approve_good_deed(deed, actor=world.dispatcher, points=0)
    txn = services.approve_good_deed(deed, actor=world.dispatcher, points=20)
    assert services.approve_good_deed(deed, actor=world.dispatcher, points=20) == txn  # idempotent
    assert queries.points_of(world.resident) == 20 and queries.minutes_of(world.resident) == 0
    with pytest.raises(Conflict, match="已审核"):
        services.reject_good_deed(deed, actor=world.dispatcher, note="重复")
    sound()


def test_nobody_approves_their_own_good_deed_and_bad_reports_store_nothing(world):
    deed = services.report_good_deed(actor=world.worker, resident=world.dispatcher, area=world.community_a,
                                     description="帮助老人", occurred_on=datetime.date(2026, 5, 30))
    with pytest.raises(PermissionDenied, match="自己"):
        services.approve_good_deed(deed, actor=world.dispatcher, points=5)
    with pytest.raises(ValidationError, match="请填写事迹"):
        services.report_good_deed(actor=world.worker, resident=world.resident, area=world.community_a,
                                  description=" ", occurred_on=datetime.date(2026, 5, 30))
    with pytest.raises(ValidationError, match="不能晚于今天"):
        services.report_good_deed(actor=world.worker, resident=world.resident, area=world.community_a,
                                  description="x", occurred_on=datetime.date(2999, 1, 1))
    rejected = services.reject_good_deed(deed, actor=world.admin, note="不属实")
    assert rejected.status == GoodDeed.Status.REJECTED and GoodDeed.objects.count() == 1


# ------------------------------------------------------------------------------------ vouchers


def test_buying_without_enough_points_stores_nothing(world, scheme):
    award(world, world.resident, 29)
    with pytest.raises(Conflict, match="积分不足"):
        services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)
    assert not Voucher.objects.exists() and Transaction.objects.filter(kind="redeem").count() == 0
    assert queries.points_of(world.resident) == 29
    sound()


def test_buying_spends_the_oldest_batch_first(world, scheme):
    first = award(world, world.resident, 20, now=T0).batch
    second = award(world, world.resident, 20, now=T0 + DAY).batch
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + 2 * DAY)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.remaining, second.remaining) == (0, 10)
    assert voucher.status == Voucher.Status.ISSUED and len(voucher.code) == 8 and len(voucher.token) >= 30
    assert queries.points_of(world.resident) == 10
    escrow = Account.objects.get(kind=Account.Kind.VOUCHER_ESCROW, merchant=scheme.merchant)
    assert queries.balance(escrow) == 30 and escrow.balance is None  # not cached: no hot row
    sound()


def test_a_retried_purchase_returns_the_same_voucher(world, scheme):
    award(world, world.resident, 100)
    a = services.buy_voucher(scheme.offer, actor=world.resident, key="req-1", now=T0 + H)
    b = services.buy_voucher(scheme.offer, actor=world.resident, key="req-1", now=T0 + H)
    assert a == b and queries.points_of(world.resident) == 70
    with pytest.raises(ValidationError, match="请求编号格式不正确"):
        services.buy_voucher(scheme.offer, actor=world.resident, key="带空格 的键", now=T0 + H)


def test_stock_and_the_per_person_limit(world, scheme):
    offer = services.create_offer(scheme.merchant, actor=scheme.cashier if False else world.dispatcher,
                                  title="洗车", gives="洗车一次", price=10, stock=2, per_person_limit=1,
                                  valid_from=T0 - DAY)
    award(world, world.resident, 100)
    award(world, world.worker, 100)
    award(world, world.handler, 100)
    services.buy_voucher(offer, actor=world.resident, now=T0 + H)
    with pytest.raises(Conflict, match="每人限兑 1 张"):
        services.buy_voucher(offer, actor=world.resident, now=T0 + H)
    services.buy_voucher(offer, actor=world.worker, now=T0 + H)
    with pytest.raises(Conflict, match="已兑完"):
        services.buy_voucher(offer, actor=world.handler, now=T0 + H)
    offer.refresh_from_db()
    assert offer.stock == 0 and queries.points_of(world.handler) == 100


def test_offers_out_of_their_window_or_withdrawn_are_refused(world, scheme):
    award(world, world.resident, 100)
    late = services.create_offer(scheme.merchant, actor=world.dispatcher, title="节日券", gives="x", price=5,
                                 valid_from=T0 + DAY, valid_until=T0 + 2 * DAY)
    with pytest.raises(Conflict, match="不在兑换期内"):
        services.buy_voucher(late, actor=world.resident, now=T0)
    scheme.merchant.is_active = False
    scheme.merchant.save()
    with pytest.raises(Conflict, match="已下架"):
        services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)


def test_only_managers_and_the_merchants_manager_publish_offers(world, scheme):
    with pytest.raises(PermissionDenied):
        services.create_offer(scheme.merchant, actor=scheme.cashier, title="x", gives="x", price=5)
    with pytest.raises(ValidationError, match="所需积分应为 1 到"):
        services.create_offer(scheme.merchant, actor=world.dispatcher, title="x", gives="x", price=0)
    manager = org_services.create_user(actor=None, username="boss", password="x-correct-horse")
    services.add_merchant_staff(scheme.merchant, actor=world.dispatcher, user=manager, is_manager=True)
    assert services.create_offer(scheme.merchant, actor=manager, title="店长券", gives="x", price=5).price == 5
    with pytest.raises(PermissionDenied):
        services.create_merchant(actor=world.outsider, area=world.community_a, name="x")


def bought(world, scheme, now=T0 + H):
    award(world, world.resident, 100)
    return services.buy_voucher(scheme.offer, actor=world.resident, now=now)


def test_the_merchant_redeems_once_by_code_or_token(world, scheme):
    voucher = bought(world, scheme)
    typed = f" {voucher.code[:4].lower()}-{voucher.code[4:].lower()} "
    used = services.redeem_voucher(actor=scheme.cashier, code=typed, now=T0 + 2 * H)
    assert used.status == Voucher.Status.REDEEMED and used.redeemed_by == scheme.cashier
    with pytest.raises(Conflict, match="该券已于 .* 使用"):
        services.redeem_voucher(actor=scheme.cashier, token=voucher.token, now=T0 + 3 * H)
    receivable = Account.objects.get(kind=Account.Kind.MERCHANT_RECEIVABLE, merchant=scheme.merchant)
    escrow = Account.objects.get(kind=Account.Kind.VOUCHER_ESCROW, merchant=scheme.merchant)
    assert (queries.balance(receivable), queries.balance(escrow)) == (30, 0)
    with pytest.raises(Conflict):
        services.cancel_voucher(voucher, actor=world.resident, now=T0 + 2 * H)
    sound()


def test_redeeming_someone_elses_or_a_wrong_code(world, scheme):
    voucher = bought(world, scheme)
    with pytest.raises(PermissionDenied, match="不属于本店"):
        services.redeem_voucher(actor=scheme.other_cashier, code=voucher.code)
    with pytest.raises(PermissionDenied):
        services.redeem_voucher(actor=world.resident, code=voucher.code)
    with pytest.raises(ValidationError, match="券码无效"):
        services.redeem_voucher(actor=scheme.cashier, code="NOPE1234")
    with pytest.raises(ValidationError, match="请输入券码"):
        services.redeem_voucher(actor=scheme.cashier, code="  ")
    with pytest.raises(Conflict, match="已过期"):
        services.redeem_voucher(actor=scheme.cashier, code=voucher.code, now=T0 + 31 * DAY)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED and not Transaction.objects.filter(kind="use").exists()


def test_cancel_within_the_window_returns_the_points_to_their_batches(world, scheme):
    voucher = bought(world, scheme)
    batch = EarningBatch.objects.get()
    assert batch.remaining == 70
    services.cancel_voucher(voucher, actor=world.resident, now=T0 + H + 29 * datetime.timedelta(minutes=1))
    batch.refresh_from_db()
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.CANCELLED and batch.remaining == 100
    assert queries.points_of(world.resident) == 100
    with pytest.raises(Conflict, match="已取消"):
        services.cancel_voucher(voucher, actor=world.resident, now=T0 + 2 * H)
    with pytest.raises(Conflict, match="已取消"):
        services.redeem_voucher(actor=scheme.cashier, code=voucher.code, now=T0 + 2 * H)
    sound()


def test_after_the_window_only_a_manager_cancels(world, scheme):
    voucher = bought(world, scheme)
    with pytest.raises(Conflict, match="已超过可取消时限"):
        services.cancel_voucher(voucher, actor=world.resident, now=T0 + 2 * H)
    with pytest.raises(PermissionDenied):
        services.cancel_voucher(voucher, actor=world.outsider, now=T0 + 2 * H)
    services.cancel_voucher(voucher, actor=world.dispatcher, now=T0 + 2 * H)
    assert queries.points_of(world.resident) == 100


def test_an_unused_voucher_expires_and_its_points_come_back(world, scheme):
    voucher = bought(world, scheme)
    assert services.expire_vouchers(now=T0 + 30 * DAY) == 0
    assert services.expire_vouchers(now=T0 + 31 * DAY) == 1
    assert services.expire_vouchers(now=T0 + 32 * DAY) == 0
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.EXPIRED and queries.points_of(world.resident) == 100
    sound()


# ------------------------------------------------------------------------------------ expiry


@override_settings(POINTS_VALIDITY_DAYS=10)
def test_points_expire_by_batch_oldest_first_and_idempotently(world, scheme):
    award(world, world.resident, 20, now=T0)
    award(world, world.resident, 30, now=T0 + 5 * DAY)
    assert services.expire_batches(now=T0 + 9 * DAY) == 0
    assert services.expire_batches(now=T0 + 11 * DAY) == 20
    assert services.expire_batches(now=T0 + 11 * DAY) == 0
    assert queries.points_of(world.resident) == 30
    assert Transaction.objects.filter(kind="expire").count() == 1
    sink = Account.objects.get(kind=Account.Kind.EXPIRED)
    assert queries.balance(sink) == 20
    # No worker needed: a purchase after the second date first expires what is due.
    with pytest.raises(Conflict, match="积分不足"):
        services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + 16 * DAY)
    assert queries.points_of(world.resident) == 30  # the refusal rolled the inline expiry back, too
    assert services.expire_job(now=T0 + 16 * DAY) == "points: expired 30 points, 0 vouchers"
    sound()


@override_settings(POINTS_VALIDITY_DAYS=10)
def test_a_cancelled_voucher_whose_batch_expired_meanwhile_gives_nothing_back(world, scheme):
    award(world, world.resident, 30, now=T0)
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + 9 * DAY)
    services.cancel_voucher(voucher, actor=world.dispatcher, now=T0 + 12 * DAY)
    assert queries.points_of(world.resident) == 0
    assert queries.balance(Account.objects.get(kind=Account.Kind.EXPIRED)) == 30
    sound()


# ------------------------------------------------------------------------------------ reversal


def test_an_award_is_reversed_by_a_new_transaction_once(world):
    txn = services.confirm_attendance(attended(world), actor=world.dispatcher, now=T0 + 4 * H)
    with pytest.raises(ValidationError, match="请填写冲正原因"):
        services.reverse_transaction(txn, actor=world.dispatcher, reason="")
    with pytest.raises(PermissionDenied):
        services.reverse_transaction(txn, actor=world.outsider, reason="误录")
    out = services.reverse_transaction(txn, actor=world.dispatcher, reason="误录", now=T0 + 5 * H)
    assert out.reverses == txn and out.kind == "reverse"
    assert queries.points_of(world.resident) == 0 and queries.minutes_of(world.resident) == 0
    assert Entry.objects.filter(transaction=txn).count() == 4  # the original is untouched
    with pytest.raises(Conflict, match="已冲正"):
        services.reverse_transaction(txn, actor=world.dispatcher, reason="再来", now=T0 + 5 * H)
    with pytest.raises(Conflict, match="只能冲正积分发放"):
        services.reverse_transaction(out, actor=world.dispatcher, reason="x")
    sound()


def test_spent_points_cannot_be_reversed_until_the_voucher_is_cancelled(world, scheme):
    txn = award(world, world.resident, 30)
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)
    with pytest.raises(Conflict, match="积分不足"):
        services.reverse_transaction(txn, actor=world.dispatcher, reason="误录", now=T0 + H)
    services.cancel_voucher(voucher, actor=world.resident, now=T0 + H)
    services.reverse_transaction(txn, actor=world.dispatcher, reason="误录", now=T0 + H)
    assert queries.points_of(world.resident) == 0
    sound()


# ------------------------------------------------------------------------------------ append-only


def test_ledger_rows_are_never_edited_or_deleted(world):
    txn = award(world, world.resident, 10)
    entry = txn.entries.first()
    entry.amount = 1000
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        Entry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(AppendOnlyError):
        Transaction.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        txn.save()
    # Below the ORM, the database refuses too.
    for sql in ("UPDATE points_entry SET amount = 1000", "UPDATE points_transaction SET note = 'x'",
                *(("DELETE FROM points_entry",) if connection.vendor == "postgresql" else ())):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert sorted(Entry.objects.values_list("amount", flat=True)) == [-10, 10]


def test_an_unbalanced_transaction_is_refused_by_the_ledger(world):
    a = ledger.account(Account.Kind.RESIDENT_POINTS, user=world.resident)
    b = ledger.account(Account.Kind.ISSUER_POINTS, area=world.community_a)
    h = ledger.account(Account.Kind.RESIDENT_HOURS, user=world.resident)
    with pytest.raises(ValueError, match="unbalanced"):
        ledger.post(kind="award", key="x1", lines=[(a, 5), (b, -4)], now=T0)
    with pytest.raises(ValueError, match="unbalanced"):  # points and minutes do not mix
        ledger.post(kind="award", key="x2", lines=[(a, 5), (h, -5)], now=T0)
    with pytest.raises(TypeError):
        ledger.post(kind="award", key="x3", lines=[(a, 1.5), (b, -1.5)], now=T0)
    assert not Transaction.objects.exists()


def test_a_code_that_clashes_is_drawn_again(world, scheme, monkeypatch):
    award(world, world.resident, 100)
    codes = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr(Voucher._meta.get_field("code"), "_get_default", lambda: next(codes))
    first = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)
    second = services.buy_voucher(scheme.offer, actor=world.resident, now=T0 + H)
    assert (first.code, second.code) == ("AAAAAAAA", "BBBBBBBB")
    assert queries.points_of(world.resident) == 40
    sound()


def test_an_award_of_hours_only_is_reversed_too(world):
    activity = make_activity(world, points_per_hour=0)
    txn = services.confirm_attendance(attended(world, activity), actor=world.dispatcher, now=T0 + 4 * H)
    assert queries.minutes_of(world.resident) == 120 and queries.points_of(world.resident) == 0
    services.reverse_transaction(txn, actor=world.dispatcher, reason="误录", now=T0 + 5 * H)
    assert queries.minutes_of(world.resident) == 0
    sound()
