"""喜邻 volunteer points (issue 9): activities and attendance, good deeds, two double-entry ledgers
(spendable points; service hours in minutes), earning batches that expire oldest first, partner
merchants, their offers and single-use vouchers.

The ledger (docs/points.md): every movement is a ``Transaction`` whose ``Entry`` rows move integer
amounts between ``Account`` rows and sum to zero per unit; a balance is the sum of an account's
entries. ``Account.balance`` is a cache kept only for the accounts that must never go negative (a
resident's points and hours): it is written in the same database transaction as the entries, by a
conditional ``UPDATE … WHERE balance >= amount`` — that row is the concurrency guard — and the tests
check it always equals the sum. Transactions, entries and batch moves are append-only: the models
refuse to save a second time or delete, and a database trigger refuses UPDATE (and, on PostgreSQL,
DELETE). A correction is a reversing transaction.

Every write goes through ``services``; each leaves an audit row (``points.*``).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import AppendOnlyMixin, AppendOnlyQuerySet


class AppendOnly(AppendOnlyMixin, models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True


# ------------------------------------------------------------------------------------ activities


class Activity(models.Model):
    """A volunteer activity published by a community (or a street, a station …).

    Points for an attendance: credited minutes (check-in to check-out, at most ``cap_minutes``) ×
    ``points_per_hour`` / 60 × ``difficulty``, rounded down, at most ``cap_points``. Who may join is
    data: ``eligibility = {"roles": ["building_head", …]}`` (holders of one of these roles at or
    above the activity's area), ``{}`` for everyone.
    """

    class Status(models.TextChoices):
        PUBLISHED = "published", _("已发布")
        CANCELLED = "cancelled", _("已取消")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="point_activities")
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("组织者"), on_delete=models.PROTECT,
                                  related_name="organised_activities")
    title = models.CharField(_("活动名称"), max_length=120)
    description = models.TextField(_("活动内容"), blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    slots = models.PositiveIntegerField(_("名额"))
    eligibility = models.JSONField(_("参加条件"), default=dict, blank=True,
                                   help_text=_('如 {"roles": ["building_head"]}；留空为所有人'))
    points_per_hour = models.PositiveIntegerField(_("每小时积分"))
    difficulty = models.DecimalField(_("难度系数"), max_digits=4, decimal_places=2, default=1)
    cap_minutes = models.PositiveIntegerField(_("计时上限（分钟）"), default=120)
    cap_points = models.PositiveIntegerField(_("积分上限"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("志愿活动")
        verbose_name_plural = _("志愿活动")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="points_activity_ends_after"),
            models.CheckConstraint(condition=Q(difficulty__gt=0), name="points_activity_difficulty_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Signup(models.Model):
    class Status(models.TextChoices):
        SIGNED_UP = "signed_up", _("已报名")
        CHECKED_IN = "checked_in", _("已签到")
        CHECKED_OUT = "checked_out", _("已签退")
        CONFIRMED = "confirmed", _("已确认")
        CANCELLED = "cancelled", _("已取消")

    activity = models.ForeignKey(Activity, verbose_name=_("活动"), on_delete=models.PROTECT, related_name="signups")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("志愿者"), on_delete=models.PROTECT,
                                 related_name="point_signups")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SIGNED_UP)
    signed_up_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("确认人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveIntegerField(_("认定时长（分钟）"), null=True, blank=True)
    points = models.PositiveIntegerField(_("获得积分"), null=True, blank=True)

    class Meta:
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        ordering = ["activity", "signed_up_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "resident"], condition=~Q(status="cancelled"),
                                    name="points_one_live_signup"),
        ]

    def __str__(self) -> str:
        return f"{self.activity} · {self.resident}"


class GoodDeed(models.Model):
    """A good deed reported by someone about a resident; points after a manager's approval."""

    class Status(models.TextChoices):
        REPORTED = "reported", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("未通过")

    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="good_deeds")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("好人好事当事人"), on_delete=models.PROTECT,
                                 related_name="good_deeds")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("报告人"), on_delete=models.PROTECT,
                                    related_name="reported_good_deeds")
    description = models.TextField(_("事迹"))
    occurred_on = models.DateField(_("发生日期"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.REPORTED)
    points = models.PositiveIntegerField(_("积分"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)
    reported_at = models.DateTimeField(_("报告时间"), default=timezone.now)

    class Meta:
        verbose_name = _("好人好事")
        verbose_name_plural = _("好人好事")
        ordering = ["-reported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.resident} · {self.occurred_on}"


class LeaderboardChoice(models.Model):
    """Whether a resident appears, by display name, on the leaderboards of the communities where they
    serve. No row (the default) means not shown: privacy first. Changed only by
    ``services.set_leaderboard_choice`` (an audit row each time)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("居民"), on_delete=models.CASCADE,
                                related_name="leaderboard_choice")
    shown = models.BooleanField(_("在排行榜上显示"), default=False)
    changed_at = models.DateTimeField(_("修改时间"), default=timezone.now)

    class Meta:
        verbose_name = _("排行榜显示设置")
        verbose_name_plural = _("排行榜显示设置")

    def __str__(self) -> str:
        return f"{self.user} · {'shown' if self.shown else 'hidden'}"


class Certificate(models.Model):
    """One 志愿服务时长证明 as issued: its verification code and what it stated, so that anyone holding
    the paper can check it on ``/points/verify/`` (docs/points.md). The same resident, hours, awards
    and day give the same code, hence one row."""

    code = models.CharField(_("验证码"), max_length=14, unique=True)
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="volunteer_certificates")
    minutes = models.PositiveIntegerField(_("累计服务时长（分钟）"))
    services = models.PositiveIntegerField(_("服务次数"))
    issuer = models.CharField(_("出具单位"), max_length=100)
    issued_on = models.DateField(_("出具日期"))
    first_issued_at = models.DateTimeField(_("首次出具时间"), default=timezone.now)

    class Meta:
        verbose_name = _("志愿服务时长证明")
        verbose_name_plural = _("志愿服务时长证明")
        ordering = ["-issued_on", "-id"]

    def __str__(self) -> str:
        return self.code


# ------------------------------------------------------------------------------------ merchants


class Merchant(models.Model):
    """A partner merchant showing the 喜邻 sign."""

    name = models.CharField(_("商户名称"), max_length=120)
    area = models.ForeignKey("areas.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT,
                             related_name="point_merchants")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    description = models.TextField(_("简介"), blank=True)
    is_active = models.BooleanField(_("合作中"), default=True)
    joined_on = models.DateField(_("加入日期"), default=timezone.localdate)

    class Meta:
        verbose_name = _("合作商户")
        verbose_name_plural = _("合作商户")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class MerchantStaff(models.Model):
    merchant = models.ForeignKey(Merchant, verbose_name=_("商户"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.CASCADE,
                             related_name="merchant_posts")
    is_manager = models.BooleanField(_("店长"), default=False)
    is_active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("商户店员")
        verbose_name_plural = _("商户店员")
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="points_one_staff_post")]

    def __str__(self) -> str:
        return f"{self.merchant} · {self.user}"


class Offer(models.Model):
    """What a merchant gives for points. ``stock`` counts the vouchers still available (``None``:
    unlimited); it goes down by a conditional UPDATE at purchase and up again on cancellation."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("商户"), on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(_("名称"), max_length=120)
    gives = models.TextField(_("兑换内容"), help_text=_("如：理发一次八折；满 50 元减 10 元"))
    price = models.PositiveIntegerField(_("所需积分"))
    stock = models.PositiveIntegerField(_("剩余库存"), null=True, blank=True, help_text=_("留空为不限"))
    per_person_limit = models.PositiveIntegerField(_("每人限兑"), null=True, blank=True, help_text=_("留空为不限"))
    valid_from = models.DateTimeField(_("兑换开始"), default=timezone.now)
    valid_until = models.DateTimeField(_("兑换截止"), null=True, blank=True)
    voucher_days = models.PositiveIntegerField(_("券有效天数"), default=30)
    cancel_minutes = models.PositiveIntegerField(_("可取消时限（分钟）"), default=30)
    is_active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("兑换项目")
        verbose_name_plural = _("兑换项目")
        ordering = ["merchant", "price", "id"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="points_offer_price_positive")]

    def __str__(self) -> str:
        return f"{self.merchant} · {self.title}"


# Short codes: no 0/O, 1/I/L — typed by a cashier from a phone screen.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Voucher(models.Model):
    """A single-use voucher: ``code`` typed at the counter, ``token`` in the QR code. The status
    changes only by conditional UPDATEs from ``issued`` (services), so it is consumed exactly once."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("未使用")
        REDEEMED = "redeemed", _("已使用")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")

    offer = models.ForeignKey(Offer, verbose_name=_("兑换项目"), on_delete=models.PROTECT, related_name="vouchers")
    merchant = models.ForeignKey(Merchant, verbose_name=_("商户"), on_delete=models.PROTECT, related_name="vouchers")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("持有人"), on_delete=models.PROTECT,
                                 related_name="vouchers")
    price = models.PositiveIntegerField(_("积分"))
    code = models.CharField(_("券码"), max_length=16, unique=True, default=new_code)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("兑换时间"), default=timezone.now)
    cancellable_until = models.DateTimeField(_("可取消至"))
    valid_until = models.DateTimeField(_("有效期至"))
    redeemed_at = models.DateTimeField(_("核销时间"), null=True, blank=True)
    redeemed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("核销人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("取消/过期时间"), null=True, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)

    class Meta:
        verbose_name = _("兑换券")
        verbose_name_plural = _("兑换券")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["offer", "resident", "status"], name="points_voucher_per_person"),
            models.Index(fields=["status", "valid_until"], name="points_voucher_due"),
            models.Index(fields=["merchant", "redeemed_at"], name="points_voucher_settlement"),
        ]

    def __str__(self) -> str:
        return self.code


# ------------------------------------------------------------------------------------ the ledger


class Unit(models.TextChoices):
    POINTS = "points", _("积分")
    MINUTES = "minutes", _("服务时长（分钟）")


class Account(models.Model):
    """One account of the ledgers. Exactly one owner field is set, according to ``kind``."""

    class Kind(models.TextChoices):
        RESIDENT_POINTS = "resident_points", _("个人积分")
        RESIDENT_HOURS = "resident_hours", _("个人服务时长")
        ISSUER_POINTS = "issuer_points", _("社区积分发放")
        ISSUER_HOURS = "issuer_hours", _("社区服务时长认定")
        VOUCHER_ESCROW = "voucher_escrow", _("商户未核销券")
        MERCHANT_RECEIVABLE = "merchant_receivable", _("商户应结算")
        EXPIRED = "expired", _("过期积分")

    UNITS = {Kind.RESIDENT_HOURS: Unit.MINUTES, Kind.ISSUER_HOURS: Unit.MINUTES}
    #: kinds whose balance is cached, guarded and never negative
    GUARDED = (Kind.RESIDENT_POINTS, Kind.RESIDENT_HOURS)

    kind = models.CharField(_("类型"), max_length=24, choices=Kind.choices)
    unit = models.CharField(_("单位"), max_length=8, choices=Unit.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("居民"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="point_accounts")
    area = models.ForeignKey("areas.Area", verbose_name=_("区域"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="point_accounts")
    merchant = models.ForeignKey(Merchant, verbose_name=_("商户"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="accounts")
    #: the cached sum of the entries (guarded kinds only; NULL for the others: sum their entries)
    balance = models.BigIntegerField(_("余额"), null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(_("开户时间"), default=timezone.now)

    class Meta:
        verbose_name = _("账户")
        verbose_name_plural = _("账户")
        constraints = [
            models.UniqueConstraint(fields=["kind", "user"], condition=Q(user__isnull=False),
                                    name="points_account_per_user"),
            models.UniqueConstraint(fields=["kind", "area"], condition=Q(area__isnull=False),
                                    name="points_account_per_area"),
            models.UniqueConstraint(fields=["kind", "merchant"], condition=Q(merchant__isnull=False),
                                    name="points_account_per_merchant"),
            models.UniqueConstraint(fields=["kind"], condition=Q(user__isnull=True, area__isnull=True,
                                                                 merchant__isnull=True),
                                    name="points_account_singleton"),
            models.CheckConstraint(condition=Q(balance__isnull=True) | Q(balance__gte=0),
                                   name="points_account_never_negative"),
        ]

    def __str__(self) -> str:
        owner = self.user or self.area or self.merchant or ""
        return f"{self.get_kind_display()} {owner}".strip()


class Transaction(AppendOnly):
    """One movement: its entries sum to zero per unit. ``idempotency_key`` is unique, so the same
    award (an attendance, a good deed), purchase or expiry is written once whatever retries happen."""

    class Kind(models.TextChoices):
        AWARD = "award", _("发放")
        REDEEM = "redeem", _("兑换")
        USE = "use", _("核销")
        CANCEL = "cancel", _("退回")
        REVERSE = "reverse", _("冲正")
        EXPIRE = "expire", _("过期")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    idempotency_key = models.CharField(_("幂等键"), max_length=80, unique=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey("areas.Area", verbose_name=_("区域"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    signup = models.ForeignKey(Signup, verbose_name=_("活动报名"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="transactions")
    good_deed = models.ForeignKey(GoodDeed, verbose_name=_("好人好事"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="transactions")
    voucher = models.ForeignKey(Voucher, verbose_name=_("兑换券"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="transactions")
    reverses = models.OneToOneField("self", verbose_name=_("冲正的交易"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reversed_by")
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("积分交易")
        verbose_name_plural = _("积分交易")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Entry(AppendOnly):
    transaction = models.ForeignKey(Transaction, verbose_name=_("交易"), on_delete=models.PROTECT,
                                    related_name="entries")
    account = models.ForeignKey(Account, verbose_name=_("账户"), on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(_("金额"))

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        indexes = [models.Index(fields=["account", "transaction"], name="points_entry_account")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="points_entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount:+d}"


class EarningBatch(models.Model):
    """The points of one award, expiring together. ``remaining`` (a cache of ``amount`` + the batch's
    moves) changes only under the resident's account lock; spending takes the oldest batch first."""

    account = models.ForeignKey(Account, verbose_name=_("账户"), on_delete=models.PROTECT, related_name="batches")
    award = models.OneToOneField(Transaction, verbose_name=_("发放交易"), on_delete=models.PROTECT,
                                 related_name="batch")
    amount = models.PositiveIntegerField(_("积分"))
    remaining = models.PositiveIntegerField(_("剩余"))
    earned_at = models.DateTimeField(_("获得时间"))
    expires_at = models.DateTimeField(_("到期时间"), db_index=True)
    expired_at = models.DateTimeField(_("已过期于"), null=True, blank=True)

    class Meta:
        verbose_name = _("积分批次")
        verbose_name_plural = _("积分批次")
        ordering = ["expires_at", "id"]
        indexes = [models.Index(fields=["account", "expires_at", "id"], name="points_batch_fifo")]
        constraints = [models.CheckConstraint(condition=Q(remaining__lte=models.F("amount")),
                                              name="points_batch_remaining_le_amount")]

    def __str__(self) -> str:
        return f"{self.account} {self.remaining}/{self.amount} → {self.expires_at:%Y-%m-%d}"


class BatchMove(AppendOnly):
    """Which batches a transaction took points from (negative) or gave them back to (positive)."""

    batch = models.ForeignKey(EarningBatch, verbose_name=_("批次"), on_delete=models.PROTECT, related_name="moves")
    transaction = models.ForeignKey(Transaction, verbose_name=_("交易"), on_delete=models.PROTECT,
                                    related_name="batch_moves")
    amount = models.IntegerField(_("积分"))

    class Meta:
        verbose_name = _("批次变动")
        verbose_name_plural = _("批次变动")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="points_batchmove_not_zero")]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.amount:+d}"
