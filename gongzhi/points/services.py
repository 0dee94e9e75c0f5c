"""Every write of the volunteer-points scheme is one of these functions: check who may, check the
input and the state, lock, write (one database transaction), leave an audit row (``points.*``).

Who may manage a community's scheme (publish activities, confirm attendance, approve good deeds,
register merchants, reverse awards): a superuser, a command-center role, or a 领导 / 社区书记 / 网格长
at or above the area. An activity's organiser checks people in and out and confirms their attendance.
A merchant's active staff redeem its vouchers; its managers (店长) publish its offers. ``actor=None``
means the system (the worker, commands, the demo) and is always allowed.

Lock order, everywhere (no deadlocks): activity or signup or good deed or voucher → the resident's
points account → hours account → offer.
"""

from __future__ import annotations

import datetime
import math
import re
import uuid
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import acting_user, jurisdiction

from . import ledger
from .models import (
    Account,
    Activity,
    GoodDeed,
    LeaderboardChoice,
    Merchant,
    MerchantStaff,
    Offer,
    Signup,
    Transaction,
    Voucher,
)

Kind = Account.Kind
MANAGER_ROLES = ("leader", "party_secretary", "grid_head")
MAX_GOOD_DEED_POINTS = 1000
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,60}$")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


# ------------------------------------------------------------------------------------ permissions


def can_manage(user, area) -> bool:
    if user is None:
        return True
    scope = jurisdiction(user)
    return scope.everything or scope.commands_path(area.path) or scope.holds_role_over(MANAGER_ROLES, area.path)


def _require_manager(actor, area, message: str) -> None:
    if not can_manage(actor, area):
        raise PermissionDenied(message)


def _require_organiser(actor, activity: Activity) -> None:
    if actor is not None and actor.pk != activity.organiser_id and not can_manage(actor, activity.area):
        raise PermissionDenied(_("您不是该活动的组织者"))


def is_merchant_staff(user, merchant: Merchant, *, manager: bool = False) -> bool:
    if user is None or getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    posts = MerchantStaff.objects.filter(merchant=merchant, user=user, is_active=True)
    if manager:
        posts = posts.filter(is_manager=True)
    return posts.exists()


def _require_resident(actor):
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("请先登录"))



def _whole(value, field: str, label: str, *, minimum: int = 0, maximum: int = 10**9, optional: bool = False):
    if value is None or value == "":
        if optional:
            return None
        raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r" *-?[0-9]{1,12} *", value):
        number = int(value)
    else:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise ValidationError({field: _("%(label)s应为 %(lo)s 到 %(hi)s 之间的整数")
                               % {"label": label, "lo": minimum, "hi": maximum}})
    return number


# ------------------------------------------------------------------------------------ activities


def clean_eligibility(value) -> dict:
    from gongzhi.orgs.models import Role

    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or set(value) - {"roles"} or not isinstance(value.get("roles", []), list):
        raise ValidationError({"eligibility": _('参加条件应写作 {"roles": ["角色代码", …]}')})
    roles = [r for r in value.get("roles", []) if isinstance(r, str)]
    unknown = set(roles) - set(Role.objects.filter(code__in=roles).values_list("code", flat=True))
    if unknown or len(roles) != len(value.get("roles", [])):
        raise ValidationError({"eligibility": _("未知的角色：%(codes)s") % {"codes": ", ".join(sorted(map(str, unknown)))}})
    return {"roles": roles} if roles else {}


@transaction.atomic
def create_activity(*, actor, area, title: str, starts_at: datetime.datetime, ends_at: datetime.datetime,
                    slots, points_per_hour, cap_points, difficulty="1", cap_minutes=120, place: str = "",
                    description: str = "", eligibility: dict | None = None, organiser=None) -> Activity:
    _require_manager(actor, area, _("您不能在该区域发布志愿活动"))
    title = clean_text(title, "title", _("活动名称"), 120)
    place = clean_text(place, "place", _("地点"), 200, required=False)
    if not isinstance(starts_at, datetime.datetime) or not isinstance(ends_at, datetime.datetime):
        raise ValidationError({"starts_at": _("请填写开始和结束时间")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("结束时间应晚于开始时间")})
    try:
        coefficient = Decimal(str(difficulty).strip())
    except (InvalidOperation, ValueError):
        coefficient = Decimal("NaN")
    if not coefficient.is_finite() or not Decimal("0.1") <= coefficient <= Decimal("10") \
            or coefficient != coefficient.quantize(Decimal("0.01")):
        raise ValidationError({"difficulty": _("难度系数应为 0.1 到 10 之间的数，最多两位小数")})
    activity = Activity.objects.create(
        area=area, organiser=organiser or acting_user(actor), title=title, place=place, description=description or "",
        starts_at=starts_at, ends_at=ends_at, slots=_whole(slots, "slots", _("名额"), minimum=1, maximum=100000),
        points_per_hour=_whole(points_per_hour, "points_per_hour", _("每小时积分"), maximum=10000),
        cap_points=_whole(cap_points, "cap_points", _("积分上限"), maximum=100000),
        cap_minutes=_whole(cap_minutes, "cap_minutes", _("计时上限"), minimum=1, maximum=24 * 60),
        difficulty=coefficient, eligibility=clean_eligibility(eligibility))
    if activity.organiser_id is None:
        raise ValidationError({"organiser": _("请指定组织者")})
    audit.record(actor, "points.activity.create", activity, after=audit.snapshot(activity))
    return activity


def may_join(user, activity: Activity) -> bool:
    """Everyone, or holders of one of the listed roles in the activity's area, above or below it."""
    roles = (activity.eligibility or {}).get("roles") or []
    if not roles:
        return True
    scope, path = jurisdiction(user), activity.area.path
    return scope.everything or any(p.startswith(path) or path.startswith(p)
                                   for code in roles for p in scope.role_paths.get(code, ()))


def sign_up(activity: Activity, *, actor, now=None) -> Signup:
    """The actor signs up; slots hold under concurrency (the activity row is locked)."""
    _require_resident(actor)
    now = _now(now)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().select_related("area").get(pk=activity.pk)
        if activity.status != Activity.Status.PUBLISHED:
            raise Conflict(_("该活动已取消"))
        if now >= activity.ends_at:
            raise Conflict(_("该活动已结束，不能报名"))
        if not may_join(actor, activity):
            raise PermissionDenied(_("您不符合该活动的参加条件"))
        live = activity.signups.exclude(status=Signup.Status.CANCELLED)
        if live.filter(resident=actor).exists():
            raise Conflict(_("您已报名该活动"))
        if live.count() >= activity.slots:
            raise Conflict(_("名额已满"))
        signup = Signup.objects.create(activity=activity, resident=actor, signed_up_at=now)
        audit.record(actor, "points.signup", signup, after=audit.snapshot(signup))
    return signup


def cancel_signup(signup: Signup, *, actor) -> Signup:
    with transaction.atomic():
        signup = Signup.objects.select_for_update().select_related("activity__area").get(pk=signup.pk)
        if actor is not None and actor.pk != signup.resident_id:
            _require_organiser(actor, signup.activity)
        if signup.status != Signup.Status.SIGNED_UP:
            raise Conflict(_("已签到的报名不能取消"))
        before = audit.snapshot(signup)
        signup.status = Signup.Status.CANCELLED
        signup.save(update_fields=["status"])
        audit.record(actor, "points.signup.cancel", signup, before=before, after=audit.snapshot(signup))
    return signup


def _attendance_step(signup: Signup, *, actor, expected: str, new: str, field: str, action: str, now) -> Signup:
    now = _now(now)
    with transaction.atomic():
        signup = Signup.objects.select_for_update().select_related("activity__area").get(pk=signup.pk)
        _require_organiser(actor, signup.activity)
        if signup.status != expected:
            raise Conflict(_("当前状态为“%(status)s”，不能进行此操作") % {"status": signup.get_status_display()})
        before = audit.snapshot(signup)
        signup.status = new
        setattr(signup, field, now)
        signup.save(update_fields=["status", field])
        audit.record(actor, action, signup, before=before, after=audit.snapshot(signup))
    return signup


def check_in(signup: Signup, *, actor, now=None) -> Signup:
    return _attendance_step(signup, actor=actor, expected=Signup.Status.SIGNED_UP, new=Signup.Status.CHECKED_IN,
                            field="checked_in_at", action="points.check_in", now=now)


def check_out(signup: Signup, *, actor, now=None) -> Signup:
    signup = _attendance_step(signup, actor=actor, expected=Signup.Status.CHECKED_IN,
                              new=Signup.Status.CHECKED_OUT, field="checked_out_at", action="points.check_out",
                              now=now)
    return signup


def credited_minutes(activity: Activity, checked_in: datetime.datetime, checked_out: datetime.datetime) -> int:
    """Minutes inside the activity's window between check-in and check-out, at most ``cap_minutes``."""
    start, end = max(checked_in, activity.starts_at), min(checked_out, activity.ends_at)
    seconds = max(0, int((end - start).total_seconds()))
    return min(seconds // 60, activity.cap_minutes)


def attendance_points(activity: Activity, minutes: int) -> int:
    """minutes / 60 × points per hour × difficulty, exactly (fractions), rounded down, capped."""
    value = Fraction(minutes, 60) * activity.points_per_hour * Fraction(str(activity.difficulty))
    return min(math.floor(value), activity.cap_points)


def _award(*, actor, key: str, area, user, points: int, minutes: int, now, **links) -> Transaction:
    lines = []
    if points:
        lines += [(ledger.account(Kind.ISSUER_POINTS, area=area), -points),
                  (ledger.account(Kind.RESIDENT_POINTS, user=user), points)]
    if minutes:
        lines += [(ledger.account(Kind.ISSUER_HOURS, area=area), -minutes),
                  (ledger.account(Kind.RESIDENT_HOURS, user=user), minutes)]
    txn = ledger.post(kind=Transaction.Kind.AWARD, key=key, lines=lines, actor=actor, now=now, area=area, **links)
    if points:
        ledger.new_batch(ledger.account(Kind.RESIDENT_POINTS, user=user), txn, points, now)
    return txn


def confirm_attendance(signup: Signup, *, actor, minutes=None, now=None) -> Transaction | None:
    """The organiser confirms: service hours and points are credited once. Confirming again returns
    the same transaction (``None`` when nothing was credited). ``minutes`` overrides the clock (an
    attendance list without check-out times), within the activity's cap."""
    now = _now(now)
    with transaction.atomic():
        signup = Signup.objects.select_for_update().select_related("activity__area").get(pk=signup.pk)
        activity = signup.activity
        _require_organiser(actor, activity)
        if signup.status == Signup.Status.CONFIRMED:
            return Transaction.objects.filter(idempotency_key=f"award:signup:{signup.pk}").first()
        if minutes is not None:
            minutes = _whole(minutes, "minutes", _("认定时长"), maximum=activity.cap_minutes)
            if signup.status not in (Signup.Status.CHECKED_IN, Signup.Status.CHECKED_OUT, Signup.Status.SIGNED_UP):
                raise Conflict(_("当前状态为“%(status)s”，不能确认") % {"status": signup.get_status_display()})
        elif signup.status != Signup.Status.CHECKED_OUT:
            raise Conflict(_("请先签退，或填写认定时长"))
        else:
            minutes = credited_minutes(activity, signup.checked_in_at, signup.checked_out_at)
        points = attendance_points(activity, minutes)
        before = audit.snapshot(signup)
        signup.status, signup.confirmed_at, signup.confirmed_by = Signup.Status.CONFIRMED, now, acting_user(actor)
        signup.minutes, signup.points = minutes, points
        signup.save(update_fields=["status", "confirmed_at", "confirmed_by", "minutes", "points"])
        txn = None
        if points or minutes:
            txn = _award(actor=actor, key=f"award:signup:{signup.pk}", area=activity.area, user=signup.resident,
                         points=points, minutes=minutes, now=now, signup=signup,
                         note=_("参加活动：%(title)s") % {"title": activity.title[:150]})
        audit.record(actor, "points.award", signup, before=before, after=audit.snapshot(signup),
                     note=f"txn={txn.pk if txn else '-'}")
    return txn


# ------------------------------------------------------------------------------------ good deeds


@transaction.atomic
def report_good_deed(*, actor, resident, area, description: str, occurred_on: datetime.date) -> GoodDeed:
    _require_resident(actor)
    description = clean_text(description, "description", _("事迹"), 2000)
    if not isinstance(occurred_on, datetime.date) or occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": _("发生日期不能晚于今天")})
    if resident is None:
        raise ValidationError({"resident": _("请选择当事人")})
    deed = GoodDeed.objects.create(area=area, resident=resident, reported_by=actor, description=description,
                                   occurred_on=occurred_on)
    audit.record(actor, "points.good_deed.report", deed, after=audit.snapshot(deed))
    return deed


def approve_good_deed(deed: GoodDeed, *, actor, points, note: str = "", now=None) -> Transaction:
    points = _whole(points, "points", _("积分"), minimum=1, maximum=MAX_GOOD_DEED_POINTS)
    note = clean_text(note, "note", _("审核意见"), 500, required=False)
    now = _now(now)
    with transaction.atomic():
        deed = GoodDeed.objects.select_for_update().select_related("area").get(pk=deed.pk)
        _require_manager(actor, deed.area, _("您不能审核该区域的好人好事"))
        if actor is not None and actor.pk == deed.resident_id:
            raise PermissionDenied(_("不能审核自己的好人好事"))
        if deed.status == GoodDeed.Status.APPROVED:
            return Transaction.objects.get(idempotency_key=f"award:deed:{deed.pk}")
        if deed.status != GoodDeed.Status.REPORTED:
            raise Conflict(_("该事迹已审核"))
        before = audit.snapshot(deed)
        deed.status, deed.points, deed.decided_by, deed.decided_at, deed.decision_note = (
            GoodDeed.Status.APPROVED, points, acting_user(actor), now, note)
        deed.save(update_fields=["status", "points", "decided_by", "decided_at", "decision_note"])
        txn = _award(actor=actor, key=f"award:deed:{deed.pk}", area=deed.area, user=deed.resident, points=points,
                     minutes=0, now=now, good_deed=deed, note=_("好人好事"))
        audit.record(actor, "points.good_deed.approve", deed, before=before, after=audit.snapshot(deed),
                     note=f"txn={txn.pk}")
    return txn


def reject_good_deed(deed: GoodDeed, *, actor, note: str, now=None) -> GoodDeed:
    note = clean_text(note, "note", _("审核意见"), 500)
    with transaction.atomic():
        deed = GoodDeed.objects.select_for_update().select_related("area").get(pk=deed.pk)
        _require_manager(actor, deed.area, _("您不能审核该区域的好人好事"))
        if deed.status != GoodDeed.Status.REPORTED:
            raise Conflict(_("该事迹已审核"))
        before = audit.snapshot(deed)
        deed.status, deed.decided_by, deed.decided_at, deed.decision_note = (
            GoodDeed.Status.REJECTED, acting_user(actor), _now(now), note)
        deed.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(actor, "points.good_deed.reject", deed, before=before, after=audit.snapshot(deed))
    return deed


# ------------------------------------------------------------------------------------ merchants


@transaction.atomic
def create_merchant(*, actor, area, name: str, address: str = "", phone: str = "", description: str = "") -> Merchant:
    _require_manager(actor, area, _("您不能在该区域登记合作商户"))
    merchant = Merchant.objects.create(area=area, name=clean_text(name, "name", _("商户名称"), 120),
                                       address=clean_text(address, "address", _("地址"), 200, required=False),
                                       phone=clean_text(phone, "phone", _("联系电话"), 20, required=False),
                                       description=description or "")
    audit.record(actor, "points.merchant.create", merchant, after=audit.snapshot(merchant))
    return merchant


@transaction.atomic
def add_merchant_staff(merchant: Merchant, *, actor, user, is_manager: bool = False) -> MerchantStaff:
    if not (can_manage(actor, merchant.area) or is_merchant_staff(actor, merchant, manager=True)):
        raise PermissionDenied(_("您不能管理该商户的店员"))
    post, created = MerchantStaff.objects.get_or_create(merchant=merchant, user=user,
                                                        defaults={"is_manager": is_manager})
    if not created:
        raise Conflict(_("该人员已是本店店员"))
    audit.record(actor, "points.merchant.staff_add", post, after=audit.snapshot(post))
    return post


@transaction.atomic
def create_offer(merchant: Merchant, *, actor, title: str, gives: str, price, stock=None, per_person_limit=None,
                 valid_from=None, valid_until=None, voucher_days=30, cancel_minutes=30) -> Offer:
    if not (can_manage(actor, merchant.area) or is_merchant_staff(actor, merchant, manager=True)):
        raise PermissionDenied(_("您不能发布该商户的兑换项目"))
    valid_from = valid_from or timezone.now()
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError({"valid_until": _("兑换截止应晚于兑换开始")})
    offer = Offer.objects.create(
        merchant=merchant, title=clean_text(title, "title", _("名称"), 120), gives=clean_text(gives, "gives", _("兑换内容"), 500),
        price=_whole(price, "price", _("所需积分"), minimum=1, maximum=10**6),
        stock=_whole(stock, "stock", _("库存"), maximum=10**6, optional=True),
        per_person_limit=_whole(per_person_limit, "per_person_limit", _("每人限兑"), minimum=1, maximum=1000,
                                optional=True),
        valid_from=valid_from, valid_until=valid_until,
        voucher_days=_whole(voucher_days, "voucher_days", _("券有效天数"), minimum=1, maximum=366),
        cancel_minutes=_whole(cancel_minutes, "cancel_minutes", _("可取消时限"), maximum=7 * 24 * 60))
    audit.record(actor, "points.offer.create", offer, after=audit.snapshot(offer))
    return offer


# ------------------------------------------------------------------------------------ vouchers


def _new_voucher(**fields) -> Voucher:
    """A voucher with a fresh random code; a clash with an existing code (31⁸ codes) draws again."""
    for attempt in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(**fields)
        except IntegrityError:
            if attempt == 4 or Voucher.objects.filter(idempotency_key=fields["idempotency_key"]).exists():
                raise
    raise AssertionError("unreachable")


def buy_voucher(offer: Offer, *, actor, key: str | None = None, now=None) -> Voucher:
    """Spend points on a voucher (oldest batch first). ``key`` makes a retried request return the
    voucher it already bought. The resident's account row is locked first, so their purchases are
    serialised (the per-person limit holds); stock goes down by a conditional UPDATE; the balance by
    the ledger's guarded UPDATE: it never goes negative."""
    _require_resident(actor)
    key = key if key is not None else uuid.uuid4().hex
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationError({"key": _("请求编号格式不正确")})
    full_key = f"buy:{actor.pk}:{key}"
    now = _now(now)
    with transaction.atomic():
        account = ledger.lock(ledger.account(Kind.RESIDENT_POINTS, user=actor))
        existing = Voucher.objects.filter(idempotency_key=full_key).first()
        if existing is not None:
            if existing.offer_id != offer.pk:
                raise ValidationError({"key": _("该请求编号已用于其他兑换")})
            return existing
        offer = Offer.objects.select_related("merchant").get(pk=offer.pk)
        if not offer.is_active or not offer.merchant.is_active:
            raise Conflict(_("该兑换项目已下架"))
        if now < offer.valid_from or (offer.valid_until is not None and now >= offer.valid_until):
            raise Conflict(_("不在兑换期内"))
        if offer.per_person_limit is not None:
            held = Voucher.objects.filter(offer=offer, resident=actor,
                                          status__in=[Voucher.Status.ISSUED, Voucher.Status.REDEEMED]).count()
            if held >= offer.per_person_limit:
                raise Conflict(_("每人限兑 %(n)s 张") % {"n": offer.per_person_limit})
        ledger.expire_due(account, now)
        if offer.stock is not None and not Offer.objects.filter(pk=offer.pk, stock__gte=1).update(stock=F("stock") - 1):
            raise Conflict(_("已兑完"))
        plan = ledger.plan_take(account, offer.price, now)
        voucher = _new_voucher(offer=offer, merchant=offer.merchant, resident=actor, price=offer.price, issued_at=now,
                               cancellable_until=now + datetime.timedelta(minutes=offer.cancel_minutes),
                               valid_until=now + datetime.timedelta(days=offer.voucher_days), idempotency_key=full_key)
        txn = ledger.post(kind=Transaction.Kind.REDEEM, key=f"redeem:{voucher.pk}", actor=actor, now=now,
                          voucher=voucher, note=str(offer)[:200],
                          lines=[(account, -offer.price),
                                 (ledger.account(Kind.VOUCHER_ESCROW, merchant=offer.merchant), offer.price)])
        ledger.apply_moves(txn, [(batch, -part) for batch, part in plan])
        audit.record(actor, "points.voucher.buy", voucher, after={"offer": offer.pk, "price": offer.price,
                                                                  "txn": txn.pk})
    return voucher


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def redeem_voucher(*, actor, code: str = "", token: str = "", now=None) -> Voucher:
    """The merchant scans the QR (``token``) or types the code. Exactly once: the status leaves
    ``issued`` by one conditional UPDATE; a second scan, even at the same moment, is told when and
    by whom it was used."""
    now = _now(now)
    if token:
        voucher = Voucher.objects.filter(token=str(token)[:64]).select_related("merchant").first()
    else:
        code = normalise_code(code)
        if not code:
            raise ValidationError({"code": _("请输入券码")})
        voucher = Voucher.objects.filter(code=code[:16]).select_related("merchant").first()
    if voucher is None:
        raise ValidationError({"code": _("券码无效")})
    if not is_merchant_staff(actor, voucher.merchant):
        raise PermissionDenied(_("该券不属于本店"))
    with transaction.atomic():
        won = Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.ISSUED, valid_until__gt=now).update(
            status=Voucher.Status.REDEEMED, redeemed_at=now, redeemed_by=acting_user(actor))
        if not won:
            voucher.refresh_from_db()
            raise Conflict(_why_not(voucher, now))
        voucher.status, voucher.redeemed_at, voucher.redeemed_by = Voucher.Status.REDEEMED, now, acting_user(actor)
        ledger.post(kind=Transaction.Kind.USE, key=f"use:{voucher.pk}", actor=actor, now=now, voucher=voucher,
                    lines=[(ledger.account(Kind.VOUCHER_ESCROW, merchant=voucher.merchant), -voucher.price),
                           (ledger.account(Kind.MERCHANT_RECEIVABLE, merchant=voucher.merchant), voucher.price)])
        audit.record(actor, "points.voucher.redeem", voucher, after={"status": voucher.status})
    return voucher


def _why_not(voucher: Voucher, now) -> str:
    local = timezone.localtime
    if voucher.status == Voucher.Status.REDEEMED:
        return _("该券已于 %(at)s 使用") % {"at": f"{local(voucher.redeemed_at):%Y-%m-%d %H:%M:%S}"}
    if voucher.status == Voucher.Status.CANCELLED:
        return _("该券已取消")
    if voucher.status == Voucher.Status.EXPIRED or voucher.valid_until <= now:
        return _("该券已过期")
    return _("该券当前不能使用")


def _refund(voucher: Voucher, *, actor, now, note: str) -> Transaction:
    """Points of a cancelled or expired voucher go back to the batches they came from; the part
    whose batch has expired meanwhile goes to the expired-points account."""
    account = ledger.lock(ledger.account(Kind.RESIDENT_POINTS, user=voucher.resident))
    ledger.expire_due(account, now)
    purchase = Transaction.objects.get(idempotency_key=f"redeem:{voucher.pk}")
    back, lapsed = [], 0
    for move in purchase.batch_moves.select_related("batch"):
        if move.batch.expired_at is None:
            back.append((move.batch, -move.amount))
        else:
            lapsed += -move.amount
    lines = [(ledger.account(Kind.VOUCHER_ESCROW, merchant=voucher.merchant), -voucher.price),
             (account, voucher.price - lapsed)]
    if lapsed:
        lines.append((ledger.expired_sink(), lapsed))
    txn = ledger.post(kind=Transaction.Kind.CANCEL, key=f"cancel:{voucher.pk}", actor=actor, now=now,
                      voucher=voucher, lines=lines, note=note)
    ledger.apply_moves(txn, back)
    Offer.objects.filter(pk=voucher.offer_id, stock__isnull=False).update(stock=F("stock") + 1)
    return txn


def cancel_voucher(voucher: Voucher, *, actor, now=None) -> Voucher:
    """The holder cancels within the offer's window; a scheme manager at any time before it is used."""
    now = _now(now)
    voucher = Voucher.objects.select_related("merchant__area").get(pk=voucher.pk)
    holder = actor is not None and actor.pk == voucher.resident_id
    if not holder and not can_manage(actor, voucher.merchant.area):
        raise PermissionDenied(_("您不能取消该券"))
    with transaction.atomic():
        claim = Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.ISSUED, valid_until__gt=now)
        if holder and not can_manage(actor, voucher.merchant.area):
            claim = claim.filter(cancellable_until__gte=now)
        if not claim.update(status=Voucher.Status.CANCELLED, closed_at=now):
            voucher.refresh_from_db()
            if voucher.status == Voucher.Status.ISSUED and voucher.valid_until > now:
                raise Conflict(_("已超过可取消时限"))
            raise Conflict(_why_not(voucher, now))
        txn = _refund(voucher, actor=actor, now=now, note=_("取消兑换"))
        voucher.refresh_from_db()
        audit.record(actor, "points.voucher.cancel", voucher, after={"status": voucher.status, "txn": txn.pk})
    return voucher


def expire_vouchers(now=None) -> int:
    """Issued vouchers past their date: expired, points returned (the worker; idempotent)."""
    now = _now(now)
    done = 0
    for pk in Voucher.objects.filter(status=Voucher.Status.ISSUED, valid_until__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            if not Voucher.objects.filter(pk=pk, status=Voucher.Status.ISSUED).update(
                    status=Voucher.Status.EXPIRED, closed_at=now):
                continue
            voucher = Voucher.objects.select_related("merchant").get(pk=pk)
            txn = _refund(voucher, actor=None, now=now, note=_("兑换券过期退回"))
            audit.record(None, "points.voucher.expire", voucher, after={"status": voucher.status, "txn": txn.pk})
            done += 1
    return done


# ------------------------------------------------------------------------------------ corrections


def reverse_transaction(txn: Transaction, *, actor, reason: str, now=None) -> Transaction:
    """Undo an award by a reversing transaction (never an edit). The resident's points come from the
    award's own batch first, then the oldest; refused when they have been spent (cancel the voucher
    first) or have expired. Vouchers are undone by cancelling them, not by reversal."""
    reason = clean_text(reason, "reason", _("冲正原因"), 200)
    now = _now(now)
    with transaction.atomic():
        txn = Transaction.objects.select_related("area").get(pk=txn.pk)
        if txn.kind != Transaction.Kind.AWARD:
            raise Conflict(_("只能冲正积分发放；兑换请取消兑换券"))
        _require_manager(actor, txn.area, _("您不能冲正该区域的积分"))
        entries = list(txn.entries.select_related("account"))
        guarded = sorted({e.account.pk: e.account for e in entries if e.account.kind in Account.GUARDED}.values(),
                         key=lambda a: (a.kind != Kind.RESIDENT_POINTS, a.pk))
        resident = guarded[0] if guarded else None
        for acc in guarded:  # the lock order: points, then hours; a second reversal waits here
            ledger.lock(acc)
        points_account = next((a for a in guarded if a.kind == Kind.RESIDENT_POINTS), None)
        if points_account is not None:
            ledger.expire_due(points_account, now)
        if Transaction.objects.filter(reverses=txn).exists():
            raise Conflict(_("该交易已冲正"))
        batch = getattr(txn, "batch", None)
        plan = []
        if batch is not None:
            batch.refresh_from_db()
            if batch.expired_at is not None:
                raise Conflict(_("该批积分已过期，不能冲正"))
            plan = ledger.plan_take(points_account, batch.amount, now, first=batch)
        out = ledger.post(kind=Transaction.Kind.REVERSE, key=f"reverse:{txn.pk}", actor=actor, now=now,
                          area=txn.area, reverses=txn, note=reason,
                          lines=[(e.account, -e.amount) for e in entries])
        ledger.apply_moves(out, [(b, -part) for b, part in plan])
        audit.record(actor, "points.reverse", out, after={"reverses": txn.pk, "account": resident.pk if resident else None},
                     note=reason)
    return out


def expire_batches(now=None, limit: int = 500) -> int:
    """Expire every batch past its date, oldest first, one account at a time (the worker; idempotent:
    an expired batch is marked, and its transaction's key is unique). Returns the points expired."""
    from .models import EarningBatch

    now = _now(now)
    total = 0
    account_ids = list(EarningBatch.objects.filter(expired_at__isnull=True, expires_at__lte=now)
                       .order_by().values_list("account_id", flat=True).distinct()[:limit])
    for account_id in account_ids:
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=account_id)
            points = ledger.expire_due(account, now)
            if points:
                audit.record(None, "points.expire", account, after={"expired": points})
            total += points
    return total


def expire_job(now=None) -> str | None:
    """For the worker's loop: batches and vouchers past their dates."""
    points = expire_batches(now)
    vouchers = expire_vouchers(now)
    if points or vouchers:
        return f"points: expired {points} points, {vouchers} vouchers"
    return None


# ------------------------------------------------------------------------------------ leaderboard


def set_leaderboard_choice(*, actor, shown: bool, now=None) -> LeaderboardChoice:
    """The resident chooses whether they appear on their communities' leaderboards (by display name).
    Nobody else may choose for them; setting the same value again changes nothing and writes no row."""
    _require_resident(actor)
    if not isinstance(shown, bool):
        raise ValidationError({"shown": _("请选择是否在排行榜上显示")})
    now = _now(now)
    with transaction.atomic():
        choice, created = LeaderboardChoice.objects.select_for_update().get_or_create(
            user=actor, defaults={"shown": shown, "changed_at": now})
        if not created and choice.shown == shown:
            return choice
        before = None if created else audit.snapshot(choice, ["shown"])
        if not created:
            choice.shown, choice.changed_at = shown, now
            choice.save(update_fields=["shown", "changed_at"])
        audit.record(actor, "points.leaderboard_choice", choice, before=before,
                     after=audit.snapshot(choice, ["shown"]))
    return choice
