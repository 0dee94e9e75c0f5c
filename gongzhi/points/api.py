"""/api/v1/points: 喜邻积分 as JSON, for a WeChat mini-program or a merchant's till — the same
operations as the pages (docs/points.md#api), every write through ``services``, every read through
``queries``:

- ``GET /me``: my points and service minutes, points expiring within 30 days, my ledger (paginated,
  newest first);
- activities: the calendar and what I signed up for or run (``queries.visible_activities``; anything
  else is a 404), sign up, withdraw;
- ``POST /deeds``: report a good deed (validated by the page's own form);
- offers on sale, buy (an idempotency ``key``: the same key again returns the same voucher, 200),
  my vouchers, cancel one;
- ``POST /redeem``: merchant staff redeem a voucher by its code or QR token (the redeem page's rule:
  others 403).

Refusals: ``PermissionDenied`` → 403, ``ValidationError`` → 400 with field messages, ``Conflict`` (the
state: already signed up, full, too few points, already used …) → 409, not visible → 404 — by the
handlers of ``gongzhi.core.api``.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import Pagination, errors
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import MAX_ID, one_or_404

from . import queries, services
from .forms import GoodDeedForm
from .models import Activity, Voucher

router = Router(tags=["points 喜邻积分"])

EXPIRING_DAYS = 30


# ------------------------------------------------------------------------------------ schemas


class PointsEntryOut(Schema):
    id: int
    at: datetime.datetime = Field(..., description="交易时间")
    kind: str = Field(..., description="交易类型：award 发放 | redeem 兑换 | use 核销 | cancel 退回 | reverse 冲正 | "
                                       "expire 过期")
    kind_label: str = Field(..., description="交易类型（中文）")
    unit: str = Field(..., description="单位：points 积分 | minutes 服务时长（分钟）")
    amount: int = Field(..., description="变动数额，收入为正、支出为负")
    note: str = Field(..., description="说明")
    transaction_id: int
    voucher_id: int | None = Field(None, description="相关兑换券")

    @staticmethod
    def resolve_at(obj):
        return obj.transaction.created_at

    @staticmethod
    def resolve_kind(obj):
        return obj.transaction.kind

    @staticmethod
    def resolve_kind_label(obj):
        return str(obj.transaction.get_kind_display())

    @staticmethod
    def resolve_unit(obj):
        return obj.account.unit

    @staticmethod
    def resolve_note(obj):
        return obj.transaction.note

    @staticmethod
    def resolve_voucher_id(obj):
        return obj.transaction.voucher_id


class PointsLedgerPage(Schema):
    items: list[PointsEntryOut]
    count: int = Field(..., description="分录总数；超过 10000 时为 10001")
    count_exact: bool = Field(..., description="count 是否为精确值")
    page: int = Field(..., description="当前页码")
    page_size: int = Field(..., description="每页条数")


class PointsExpiringOut(Schema):
    remaining: int = Field(..., description="该批次剩余积分")
    earned_at: datetime.datetime = Field(..., description="获得时间")
    expires_at: datetime.datetime = Field(..., description="到期时间")


class PointsMeOut(Schema):
    points: int = Field(..., description="可用积分（账户分录之和）")
    minutes: int = Field(..., description="累计服务时长（分钟）")
    expiring: list[PointsExpiringOut] = Field(..., description=f"{EXPIRING_DAYS} 天内到期的积分批次，先到期的在前")
    ledger: PointsLedgerPage = Field(..., description="我的积分与服务时长明细，最新的在前（分页）")


class PointsLedgerQuery(Schema):
    page: int = Field(1, ge=1, le=100_000, description="明细页码")
    page_size: int | None = Field(None, ge=1, le=500, description="每页条数")


class PointsMySignupOut(Schema):
    id: int
    status: str = Field(..., description="signed_up 已报名 | checked_in 已签到 | checked_out 已签退 | confirmed 已确认")


class PointsActivityOut(Schema):
    id: int
    title: str = Field(..., description="活动名称")
    description: str = Field(..., description="活动内容")
    place: str = Field(..., description="地点")
    area_id: int
    area: str = Field(..., description="所属区域名称")
    status: str = Field(..., description="published 已发布 | cancelled 已取消")
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    slots: int = Field(..., description="名额")
    left: int = Field(..., description="剩余名额")
    points_per_hour: int = Field(..., description="每小时积分")
    difficulty: str = Field(..., description="难度系数（0.1–10，两位小数）")
    cap_minutes: int = Field(..., description="每人计时上限（分钟）")
    cap_points: int = Field(..., description="每人积分上限")
    eligible_roles: list[str] = Field(..., description="可参加的角色代码；空表示所有人")
    may_join: bool = Field(..., description="调用者是否符合参加条件")
    started: bool = Field(..., description="活动是否已开始")
    ended: bool = Field(..., description="活动是否已结束")
    my_signup: PointsMySignupOut | None = Field(None, description="调用者的报名（未取消的），没有则为空")

    @staticmethod
    def resolve_area(obj):
        return obj.area.name

    @staticmethod
    def resolve_left(obj):
        return max(obj.slots - obj.taken, 0)

    @staticmethod
    def resolve_difficulty(obj):
        return f"{obj.difficulty:.2f}"

    @staticmethod
    def resolve_eligible_roles(obj):
        return list((obj.eligibility or {}).get("roles") or [])

    @staticmethod
    def resolve_may_join(obj, context):
        return services.may_join(context["request"].user, obj)

    @staticmethod
    def resolve_started(obj):
        return obj.starts_at <= timezone.now()

    @staticmethod
    def resolve_ended(obj):
        return obj.ends_at <= timezone.now()

    @staticmethod
    def resolve_my_signup(obj):
        if getattr(obj, "my_signup_id", None) is None:
            return None
        return {"id": obj.my_signup_id, "status": obj.my_status}


class PointsActivityFilter(Schema):
    area: int | None = Field(None, ge=1, le=MAX_ID, description="只列出该区域及其下级区域的活动")


class PointsSignupOut(Schema):
    id: int
    activity_id: int
    status: str = Field(..., description="signed_up 已报名 | checked_in 已签到 | checked_out 已签退 | confirmed 已确认 | "
                                         "cancelled 已取消")
    signed_up_at: datetime.datetime


class PointsDeedIn(Schema):
    person: str = Field(..., max_length=1000, description="当事人的账号或手机号")
    area: int = Field(..., ge=1, le=MAX_ID, description="所在社区 id")
    occurred_on: datetime.date = Field(..., description="发生日期（不晚于今天）")
    description: str = Field(..., max_length=20_000, description="事迹（不超过 2000 字）")


class PointsDeedOut(Schema):
    id: int
    resident: str = Field(..., description="当事人姓名")
    area_id: int
    area: str = Field(..., description="所在社区名称")
    occurred_on: datetime.date
    description: str
    status: str = Field(..., description="reported 待审核 | approved 已通过 | rejected 未通过")
    reported_at: datetime.datetime

    @staticmethod
    def resolve_resident(obj):
        return obj.resident.display_name or obj.resident.get_username()

    @staticmethod
    def resolve_area(obj):
        return obj.area.name


class PointsOfferOut(Schema):
    id: int
    merchant_id: int
    merchant: str = Field(..., description="商户名称")
    address: str = Field(..., description="商户地址")
    title: str = Field(..., description="名称")
    gives: str = Field(..., description="兑换内容")
    price: int = Field(..., description="所需积分")
    stock: int | None = Field(None, description="剩余库存；空为不限")
    per_person_limit: int | None = Field(None, description="每人限兑；空为不限")
    valid_until: datetime.datetime | None = Field(None, description="兑换截止；空为不限")
    voucher_days: int = Field(..., description="券有效天数")
    cancel_minutes: int = Field(..., description="兑换后可取消的时限（分钟）")

    @staticmethod
    def resolve_merchant(obj):
        return obj.merchant.name

    @staticmethod
    def resolve_address(obj):
        return obj.merchant.address


class PointsBuyIn(Schema):
    key: str = Field(..., max_length=200, description="请求编号（幂等键，1–60 位字母、数字或 _.:-）：同一编号重试返回同一张券")


class _VoucherFields(Schema):
    """What a voucher shows wherever it appears (mine, or redeemed at the counter)."""

    id: int
    title: str = Field(..., description="兑换项目名称")
    gives: str = Field(..., description="兑换内容")
    merchant_id: int
    merchant: str = Field(..., description="商户名称")

    @staticmethod
    def resolve_title(obj):
        return obj.offer.title

    @staticmethod
    def resolve_gives(obj):
        return obj.offer.gives

    @staticmethod
    def resolve_merchant(obj):
        return obj.merchant.name


class PointsVoucherOut(_VoucherFields):
    code: str = Field(..., description="券码（8 位，在柜台出示）")
    offer_id: int
    price: int = Field(..., description="所花积分")
    status: str = Field(..., description="issued 未使用 | redeemed 已使用 | cancelled 已取消 | expired 已过期")
    issued_at: datetime.datetime
    cancellable_until: datetime.datetime = Field(..., description="此前持有人可取消")
    valid_until: datetime.datetime = Field(..., description="有效期至")
    redeemed_at: datetime.datetime | None = None
    redeem_url: str | None = Field(None, description="核销链接（二维码内容，商户扫码打开）；仅未使用且未过期的券有")

    @staticmethod
    def resolve_redeem_url(obj, context):
        if obj.status != Voucher.Status.ISSUED or obj.valid_until <= timezone.now():
            return None
        return context["request"].build_absolute_uri(reverse("points:redeem")) + f"?t={obj.token}"


class PointsVoucherFilter(Schema):
    status: Voucher.Status | None = Field(None, description="只列出该状态的券")


class PointsRedeemIn(Schema):
    code: str = Field("", max_length=200, description="券码（空格、连字符、大小写不计）")
    token: str = Field("", max_length=200, description="或：二维码中的 token（核销链接的 t 参数）；两者都给时以 token 为准")


class PointsRedeemedOut(_VoucherFields):
    code: str = Field(..., description="券码")
    holder: str = Field(..., description="持有人")
    price: int = Field(..., description="积分")
    status: str = Field(..., description="redeemed 已使用")
    redeemed_at: datetime.datetime

    @staticmethod
    def resolve_holder(obj):
        return str(obj.resident)


# ------------------------------------------------------------------------------------ me


@router.get("/me", response={200: PointsMeOut})
def me(request, paging: Query[PointsLedgerQuery]):
    user, now = request.user, timezone.now()
    pagination = Pagination()
    page = pagination.paginate_queryset(
        queries.history(user), Pagination.Input(page=paging.page, page_size=paging.page_size), request)
    return {
        "points": queries.points_of(user), "minutes": queries.minutes_of(user),
        "expiring": list(queries.expiring(user, now + datetime.timedelta(days=EXPIRING_DAYS))),
        "ledger": {"items": list(page["items"]), "count": page["count"], "count_exact": page["count_exact"],
                   "page": paging.page, "page_size": pagination._get_page_size(paging.page_size)},
    }


# ------------------------------------------------------------------------------------ activities


def _activity(request, activity_id: int) -> Activity:
    return one_or_404(queries.visible_activities(request.user, timezone.now()), pk=activity_id)


@router.get("/activities", response={200: list[PointsActivityOut]})
@paginate(Pagination)
def list_activities(request, filters: Query[PointsActivityFilter]):
    """未结束的在前（按开始时间），其后是调用者报过名或组织的已结束活动。"""
    from django.db.models import Case, IntegerField, Value, When

    from gongzhi.areas.models import Area

    now = timezone.now()
    qs = queries.visible_activities(request.user, now)
    if filters.area is not None:
        area = Area.objects.filter(pk=filters.area).only("path").first()
        qs = qs.filter(area__path__startswith=area.path) if area is not None else qs.none()
    ended = Case(When(ends_at__gt=now, then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(ended_first=ended).order_by("ended_first", "starts_at", "id")


@router.get("/activities/{int:activity_id}", response={200: PointsActivityOut, **errors(404)})
def get_activity(request, activity_id: int):
    return _activity(request, activity_id)


@router.post("/activities/{int:activity_id}/signup", response={201: PointsSignupOut, **errors(403, 409)})
def sign_up(request, activity_id: int):
    """报名：名额、是否已报名、是否已结束或取消由服务检查（409）；不符合参加条件为 403。"""
    signup = services.sign_up(_activity(request, activity_id), actor=request.user)
    return Status(201, signup)


@router.post("/activities/{int:activity_id}/withdraw", response={200: PointsSignupOut, **errors(409)})
def withdraw(request, activity_id: int):
    """取消报名（已签到后不能取消：409）；没有报名为 404。"""
    signup = queries.live_signup(request.user, _activity(request, activity_id))
    if signup is None:
        raise Http404
    return services.cancel_signup(signup, actor=request.user)


# ------------------------------------------------------------------------------------ good deeds


@router.post("/deeds", response={201: PointsDeedOut})
def report_deed(request, payload: PointsDeedIn):
    """报告好人好事（与网页相同：当事人按账号或手机号查找，社区审核通过后发放积分）。"""
    form = GoodDeedForm({"person": payload.person, "area": str(payload.area),
                         "occurred_on": payload.occurred_on.isoformat(), "description": payload.description},
                        areas=queries.communities())
    if not form.is_valid():
        raise ValidationError({field: [str(m) for m in messages] for field, messages in form.errors.items()})
    data = form.cleaned_data
    deed = services.report_good_deed(actor=request.user, resident=data["person"], area=data["area"],
                                     description=data["description"], occurred_on=data["occurred_on"])
    return Status(201, deed)


# ------------------------------------------------------------------------------------ offers, vouchers


@router.get("/offers", response={200: list[PointsOfferOut]})
@paginate(Pagination)
def list_offers(request):
    return queries.offers_on_sale(timezone.now()).order_by("merchant__name", "price", "id")


@router.post("/offers/{int:offer_id}/buy", response={201: PointsVoucherOut, 200: PointsVoucherOut,
                                                      **errors(409)})
def buy(request, offer_id: int, payload: PointsBuyIn):
    """兑换一张券：201 新券；同一请求编号重试返回同一张券（200），不重复扣分。积分不足、已兑完、
    超过每人限兑为 409。"""
    now = timezone.now()
    offer = one_or_404(queries.offers_on_sale(now), pk=offer_id)
    try:
        voucher = services.buy_voucher(offer, actor=request.user, key=payload.key, now=now)
    except IntegrityError:  # two requests with one key at the same moment: the other one won, ask again
        voucher = services.buy_voucher(offer, actor=request.user, key=payload.key, now=now)
    new = voucher.issued_at == now  # bought by this request, not an earlier one with the same key
    return Status(201 if new else 200, queries.vouchers_of(request.user).get(pk=voucher.pk))


@router.get("/vouchers", response={200: list[PointsVoucherOut]})
@paginate(Pagination)
def list_vouchers(request, filters: Query[PointsVoucherFilter]):
    qs = queries.vouchers_of(request.user)
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    return qs


@router.post("/vouchers/{int:voucher_id}/cancel", response={200: PointsVoucherOut, **errors(409)})
def cancel_voucher(request, voucher_id: int):
    """取消兑换（兑换项目规定的时限内），积分退回；超时、已使用为 409。"""
    voucher = one_or_404(queries.vouchers_of(request.user), pk=voucher_id)
    services.cancel_voucher(voucher, actor=request.user)
    return queries.vouchers_of(request.user).get(pk=voucher.pk)


# ------------------------------------------------------------------------------------ 核销


@router.post("/redeem", response={200: PointsRedeemedOut, **errors(409)})
def redeem(request, payload: PointsRedeemIn):
    """合作商户店员核销：券码或二维码 token → 已使用的券。只能核销本店的券（403）；
    已使用、已取消、已过期为 409（“该券已于 … 使用”）。"""
    if not queries.may_redeem(request.user):
        raise PermissionDenied(_("只有合作商户的店员可以核销"))
    token = payload.token.strip()
    try:
        voucher = services.redeem_voucher(actor=request.user, code=payload.code, token=token)
    except ValidationError as exc:
        if token and not isinstance(exc, Conflict):
            raise ValidationError({"token": [_("二维码无效")]}) from None
        raise
    return Voucher.objects.select_related("offer", "merchant", "resident").get(pk=voucher.pk)
