"""Pages of 喜邻积分 (phone first), every write through ``services``:

- everyone signed in: 我的积分 (balance, service hours, vouchers with their QR code, history), the
  activity calendar with sign-up and withdrawal, the merchants' offers (buy a voucher; cancel it
  within the offer's window);
- an activity's organiser, or whoever manages its area (``services.can_manage``): publish an
  activity, its sign-up list with check-in, check-out and 确认并发放积分; managers review good deeds;
- merchant staff: 核销 — type the short code, or open the link in the voucher's QR code.

What is not the user's is a 404 (someone else's voucher, an activity they don't run, a good deed
outside their areas); a page of a role they don't have is a 403."""

from __future__ import annotations

import datetime
import io
import re
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core import ratelimit
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import MAX_ID

from . import queries, services
from .forms import (
    ActivityForm,
    ApproveForm,
    ConfirmForm,
    GoodDeedForm,
    RedeemForm,
    RejectForm,
    SettlementForm,
)
from .models import Activity, GoodDeed, Signup, Voucher

HISTORY_SHOWN = 50
VOUCHERS_SHOWN = 30


def _get(queryset, pk):
    """One row by primary key, or a plain 404."""
    if not 0 < int(pk) <= MAX_ID:
        raise Http404
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def _explain(request, exc: ValidationError) -> None:
    """A refused service call as one clear message (nothing was stored)."""
    messages.error(request, "；".join(str(m) for m in exc.messages))


def _first_error(form) -> str:
    return "；".join(str(m) for msgs in form.errors.values() for m in msgs)


def hours_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(m)s 分钟") % {"m": rest}
    if not rest:
        return _("%(h)s 小时") % {"h": hours}
    return _("%(h)s 小时 %(m)s 分钟") % {"h": hours, "m": rest}


def qr_data_uri(text: str) -> str:
    """The QR code as an ``data:image/svg+xml`` URI, drawn on the server (no CDN, no script)."""
    from gongzhi.orgs.twofactor import qr_svg_data_uri

    return qr_svg_data_uri(text)


# ------------------------------------------------------------------------------------ 我的积分


@login_required
@require_GET
def index(request):
    user, now = request.user, timezone.now()
    vouchers = list(Voucher.objects.filter(resident=user).select_related("offer", "merchant")
                    .order_by("-issued_at", "-id")[:VOUCHERS_SHOWN])
    redeem_url = request.build_absolute_uri(reverse("points:redeem"))
    live = []
    for v in vouchers:
        v.live = v.status == Voucher.Status.ISSUED and v.valid_until > now
        v.cancellable = v.live and v.cancellable_until >= now
        if v.live:
            v.qr = qr_data_uri(f"{redeem_url}?t={v.token}")
            live.append(v)
    entries = []
    for entry in queries.history(user)[:HISTORY_SHOWN]:
        entry.is_hours = entry.account.unit == "minutes"
        entry.shown = hours_text(abs(entry.amount)) if entry.is_hours else abs(entry.amount)
        entries.append(entry)
    minutes = queries.minutes_of(user)
    return render(request, "points/index.html", {
        "points": queries.points_of(user), "minutes": minutes, "hours": hours_text(minutes),
        "live": live, "past": [v for v in vouchers if not v.live], "entries": entries,
        "expiring": list(queries.expiring(user, now + datetime.timedelta(days=30))),
        "organises": queries.organised_by(user).exists(), "reviews": queries.manager_paths(user) != (),
        "is_staff_of_merchant": queries.staff_merchants(user).exists() or user.is_superuser,
        "on_leaderboard": queries.leaderboard_shown(user),
        "settles": queries.may_settle(user),
    })


# ------------------------------------------------------------------------------------ activities


@login_required
@require_GET
def activities(request):
    user, now = request.user, timezone.now()
    mine = {s.activity_id: s for s in Signup.objects.filter(resident=user).exclude(status=Signup.Status.CANCELLED)}
    rows = []
    for activity in queries.calendar(now)[:100]:
        rows.append({"activity": activity, "left": max(activity.slots - activity.taken, 0),
                     "signup": mine.get(activity.pk), "may_join": services.may_join(user, activity),
                     "started": activity.starts_at <= now})
    organised = list(queries.organised_by(user).filter(ends_at__gt=now - datetime.timedelta(days=30))
                     .order_by("starts_at", "id")[:50])
    return render(request, "points/activities.html", {
        "rows": rows, "organised": organised, "can_create": queries.manageable_areas(user).exists(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request):
    areas = queries.manageable_areas(request.user)
    if not areas.exists():
        raise PermissionDenied(_("只有社区管理人员可以发布志愿活动"))
    form = ActivityForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.create_activity(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已发布志愿活动“%(title)s”") % {"title": activity.title})
            return redirect("points:activity", pk=activity.pk)
    return render(request, "points/activity_form.html", {"form": form})


@login_required
@require_POST
def sign_up(request, pk: int):
    activity = _get(Activity.objects.filter(status=Activity.Status.PUBLISHED), pk)
    try:
        services.sign_up(activity, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, _("已报名“%(title)s”") % {"title": activity.title})
    return redirect(reverse("points:activities") + f"#activity-{activity.pk}")


@login_required
@require_POST
def withdraw(request, pk: int):
    activity = _get(Activity.objects.all(), pk)
    signup = Signup.objects.filter(activity=activity, resident=request.user).exclude(
        status=Signup.Status.CANCELLED).first()
    if signup is None:
        raise Http404
    try:
        services.cancel_signup(signup, actor=request.user)
    except ValidationError as exc:
        _explain(request, exc)
    else:
        messages.success(request, _("已取消报名“%(title)s”") % {"title": activity.title})
    return redirect(reverse("points:activities") + f"#activity-{activity.pk}")


def _organised(request, pk) -> Activity:
    activity = _get(Activity.objects.select_related("area", "organiser"), pk)
    if not queries.may_organise(request.user, activity):
        raise Http404
    return activity


@login_required
@require_GET
def activity_detail(request, pk: int):
    """The organiser's sign-up list: check in, check out, confirm (points and service hours)."""
    activity = _organised(request, pk)
    signups = list(activity.signups.exclude(status=Signup.Status.CANCELLED).select_related("resident")
                   .order_by("signed_up_at", "id"))
    for s in signups:
        s.hours = hours_text(s.minutes) if s.minutes is not None else ""
    return render(request, "points/activity_detail.html", {
        "activity": activity, "signups": signups, "confirm_form": ConfirmForm(),
        "confirmed": sum(1 for s in signups if s.status == Signup.Status.CONFIRMED),
        "manages": services.can_manage(request.user, activity.area),
    })


ATTENDANCE = {"check-in": services.check_in, "check-out": services.check_out}


@login_required
@require_POST
def attendance(request, pk: int, action: str):
    signup = _get(Signup.objects.select_related("activity__area", "resident"), pk)
    if action not in (*ATTENDANCE, "confirm") or not queries.may_organise(request.user, signup.activity):
        raise Http404
    name = signup.resident.display_name or signup.resident.username
    try:
        if action == "confirm":
            form = ConfirmForm(request.POST)
            if not form.is_valid():
                messages.error(request, _first_error(form))
                return redirect("points:activity", pk=signup.activity_id)
            already = signup.status == Signup.Status.CONFIRMED
            services.confirm_attendance(signup, actor=request.user, minutes=form.cleaned_data["minutes"])
            signup.refresh_from_db()
            if already:
                messages.info(request, _("%(name)s 的积分已发放，未重复发放") % {"name": name})
            else:
                messages.success(request, _("已确认 %(name)s：%(points)s 积分，服务时长 %(hours)s") % {
                    "name": name, "points": signup.points, "hours": hours_text(signup.minutes or 0)})
        else:
            ATTENDANCE[action](signup, actor=request.user)
            messages.success(request, (_("%(name)s 已签到") if action == "check-in" else _("%(name)s 已签退"))
                             % {"name": name})
    except ValidationError as exc:
        _explain(request, exc)
    return redirect(reverse("points:activity", kwargs={"pk": signup.activity_id}) + f"#signup-{signup.pk}")


# ------------------------------------------------------------------------------------ good deeds


@login_required
@require_GET
def deeds(request):
    if queries.manager_paths(request.user) == ():
        raise PermissionDenied(_("只有社区管理人员可以审核好人好事"))
    return render(request, "points/deeds.html", {
        "deeds": list(queries.deeds_to_review(request.user)[:100]),
        "approve_form": ApproveForm(initial={"points": 10}), "reject_form": RejectForm(),
    })


def _communities():
    from gongzhi.areas.models import Area

    return Area.objects.filter(level__slug="community").order_by("path")


@login_required
@require_http_methods(["GET", "POST"])
def deed_report(request):
    """Anyone signed in reports a good deed about someone; a manager of the community reviews it."""
    form = GoodDeedForm(request.POST or None, areas=_communities(),
                        initial={"occurred_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.report_good_deed(actor=request.user, resident=data["person"], area=data["area"],
                                      description=data["description"], occurred_on=data["occurred_on"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已报告，社区审核通过后当事人将获得积分"))
            return redirect("points:deed_report")
    mine = GoodDeed.objects.filter(reported_by=request.user).select_related("resident", "area")[:20]
    return render(request, "points/deed_report.html", {"form": form, "mine": mine})


@login_required
@require_POST
def deed_decide(request, pk: int, action: str):
    if action not in ("approve", "reject"):
        raise Http404
    deed = _get(queries.deeds_to_review(request.user), pk)
    form = (ApproveForm if action == "approve" else RejectForm)(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("points:deeds")
    try:
        if action == "approve":
            services.approve_good_deed(deed, actor=request.user, **form.cleaned_data)
            messages.success(request, _("已通过，发放 %(points)s 积分") % {"points": form.cleaned_data["points"]})
        else:
            services.reject_good_deed(deed, actor=request.user, **form.cleaned_data)
            messages.success(request, _("已标记为未通过"))
    except ValidationError as exc:
        _explain(request, exc)
    return redirect("points:deeds")


# ------------------------------------------------------------------------------------ offers, vouchers


def _offers(now):
    return queries.offers_on_sale(now).order_by("merchant__name", "price", "id")


@login_required
@require_GET
def offers(request):
    now = timezone.now()
    rows = [{"offer": o, "key": uuid.uuid4().hex} for o in _offers(now)[:200]]
    return render(request, "points/offers.html", {"rows": rows, "points": queries.points_of(request.user)})


@login_required
@require_POST
def buy(request, pk: int):
    offer = _get(_offers(timezone.now()), pk)
    key = request.POST.get("key", "")
    if not key:
        messages.error(request, _("请求编号缺失，请刷新页面后重试"))
        return redirect("points:offers")
    try:
        voucher = services.buy_voucher(offer, actor=request.user, key=key)
    except ValidationError as exc:
        _explain(request, exc)
        return redirect(reverse("points:offers") + f"#offer-{offer.pk}")
    messages.success(request, _("兑换成功：%(title)s，券码 %(code)s") % {"title": offer.title, "code": voucher.code})
    return redirect(reverse("points:index") + f"#voucher-{voucher.pk}")


@login_required
@require_POST
def voucher_cancel(request, pk: int):
    voucher = _get(Voucher.objects.filter(resident=request.user), pk)
    try:
        services.cancel_voucher(voucher, actor=request.user)
    except ValidationError as exc:
        _explain(request, exc)
    else:
        messages.success(request, _("已取消兑换，%(n)s 积分已退回") % {"n": voucher.price})
    return redirect("points:index")


# ------------------------------------------------------------------------------------ 核销 (merchant)


@login_required
@require_http_methods(["GET", "POST"])
def redeem(request):
    """The counter: type the code (or open the QR code's link, then confirm) → redeemed once."""
    user = request.user
    if not queries.may_redeem(user):
        raise PermissionDenied(_("只有合作商户的店员可以核销"))
    form, result, error, pending = RedeemForm(), None, "", None
    token = (request.POST.get("token") or request.GET.get("t") or "").strip()[:64]
    if request.method == "POST":
        form = RedeemForm(request.POST) if not token else RedeemForm()
        try:
            if token:
                result = services.redeem_voucher(actor=user, token=token)
            elif form.is_valid():
                result = services.redeem_voucher(actor=user, code=form.cleaned_data["code"])
                form = RedeemForm()
        except (ValidationError, PermissionDenied) as exc:
            error = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            if token:
                error = error.replace(_("券码无效"), _("二维码无效"))
    elif token:
        pending = Voucher.objects.filter(token=token).select_related("offer", "merchant", "resident").first()
        if pending is None:
            error = _("二维码无效")
        elif not services.is_merchant_staff(user, pending.merchant):
            error, pending = _("该券不属于本店"), None
    if result is not None:
        result = Voucher.objects.select_related("offer", "merchant", "resident").get(pk=result.pk)
    return render(request, "points/redeem.html", {
        "form": form, "result": result, "error": error, "pending": pending,
        "merchants": list(queries.staff_merchants(user)),
    }, status=200)


# ------------------------------------------------------------------------------------ settlement


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SETTLEMENT_SHOWN = 200


def _settlement(request):
    """The form (defaults: this year so far) and, when valid, the statement's lines and total."""
    if not queries.may_settle(request.user):
        raise PermissionDenied(_("只有社区管理人员和商户店长可以查看结算单"))
    merchants = queries.settling_merchants(request.user)
    today = timezone.localdate()
    data = request.GET if "merchant" in request.GET else None
    form = SettlementForm(data, merchants=merchants, initial={"start": today.replace(month=1, day=1), "end": today})
    if data is None or not form.is_valid():
        return form, None
    merchant, start, end = (form.cleaned_data[k] for k in ("merchant", "start", "end"))
    tz = timezone.get_current_timezone()
    lines = list(queries.settlement(
        merchant, datetime.datetime.combine(start, datetime.time(), tz),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tz)))
    return form, {"merchant": merchant, "start": start, "end": end, "lines": lines,
                  "total": sum(v.price for v in lines)}


@login_required
@require_GET
def settlement(request):
    """结算单: a merchant's used vouchers in a period, for the community's year-end settlement."""
    form, statement = _settlement(request)
    return render(request, "points/settlement.html", {
        "form": form, "statement": statement, "shown": statement["lines"][:SETTLEMENT_SHOWN] if statement else [],
        "query": request.GET.urlencode(),
    })


def _cell(sheet, row: int, column: int, value):
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
    return cell


@login_required
@require_GET
def settlement_xlsx(request):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    form, statement = _settlement(request)
    if statement is None:
        errors = _first_error(form) if form.is_bound else _("请选择商户和结算期")
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    book = Workbook()
    sheet = book.active
    sheet.title = _("结算单")
    merchant, local = statement["merchant"], timezone.localtime
    _cell(sheet, 1, 1, _("喜邻积分商户结算单")).font = Font(bold=True, size=14)
    _cell(sheet, 2, 1, _("商户"))
    _cell(sheet, 2, 2, merchant.name)
    _cell(sheet, 3, 1, _("结算期"))
    _cell(sheet, 3, 2, f"{statement['start']:%Y-%m-%d} – {statement['end']:%Y-%m-%d}")
    _cell(sheet, 4, 1, _("生成时间"))
    _cell(sheet, 4, 2, f"{local():%Y-%m-%d %H:%M}")
    header = [_("核销时间"), _("券码"), _("兑换项目"), _("积分"), _("核销人")]
    for column, title in enumerate(header, 1):
        _cell(sheet, 6, column, title).font = Font(bold=True)
    row = 7
    for v in statement["lines"]:
        values = [f"{local(v.redeemed_at):%Y-%m-%d %H:%M:%S}", v.code, v.offer.title, v.price,
                  str(v.redeemed_by) if v.redeemed_by else ""]
        for column, value in enumerate(values, 1):
            _cell(sheet, row, column, value)
        row += 1
    _cell(sheet, row, 1, _("合计")).font = Font(bold=True)
    _cell(sheet, row, 2, _("%(n)s 张") % {"n": len(statement["lines"])})
    _cell(sheet, row, 4, statement["total"]).font = Font(bold=True)
    for column, width in zip("ABCDE", (20, 12, 28, 8, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    name = f"settlement-{merchant.pk}-{statement['start']:%Y%m%d}-{statement['end']:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ------------------------------------------------------------------------------------ leaderboard


@login_required
@require_GET
def leaderboard(request):
    """The top residents of one of the viewer's areas by service hours, then points, over a period:
    only those who chose to be shown; the viewer's own rank for their eyes only."""
    user, now = request.user, timezone.now()
    areas = queries.leaderboard_areas(user)
    period = request.GET.get("period", "year")
    if period not in queries.PERIODS:
        messages.error(request, _("统计周期不正确，已显示本年"))
        period = "year"
    area = areas[0] if areas else None
    wanted = request.GET.get("area", "")
    if wanted:
        chosen = next((a for a in areas if str(a.pk) == wanted), None)
        if chosen is None:
            messages.error(request, _("无法查看该区域的排行榜"))
        else:
            area = chosen
    rows, mine = queries.leaderboard(area, period, now, viewer=user) if area is not None else ([], None)
    for row in rows:
        row["hours"] = hours_text(row["minutes"])
    if mine:
        mine["hours"] = hours_text(mine["minutes"])
    return render(request, "points/leaderboard.html", {
        "areas": areas, "area": area, "period": period, "rows": rows, "mine": mine,
        "periods": [("year", _("本年")), ("month", _("本月")), ("all", _("全部"))],
        "on_leaderboard": queries.leaderboard_shown(user),
    })


@login_required
@require_POST
def leaderboard_choice(request):
    shown = request.POST.get("shown")
    if shown not in ("1", "0"):
        messages.error(request, _("请选择是否在排行榜上显示"))
    else:
        services.set_leaderboard_choice(actor=request.user, shown=shown == "1")
        messages.success(request, _("已在排行榜上显示您的姓名") if shown == "1" else _("已不在排行榜上显示"))
    target = request.POST.get("next")
    return redirect("points:leaderboard" if target == "leaderboard" else "points:index")


# ------------------------------------------------------------------------------------ certificate


def _certificate_response(request, resident) -> HttpResponse:
    from . import certificate

    data, code = certificate.build(resident, actor=request.user)
    response = HttpResponse(data, content_type="application/pdf")
    name = f"certificate-{resident.pk}-{timezone.localdate():%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def certificate(request):
    """志愿服务时长证明 of the signed-in resident."""
    return _certificate_response(request, request.user)


@login_required
@require_GET
def resident_certificate(request, pk: int):
    """A manager downloads the certificate of a resident of their area; anyone else: 404."""
    return _certificate_response(request, _get(queries.residents_of(request.user), pk))


#: Looking codes up counts against the caller's address at the login rate (code guessing).
VERIFY_DOOR = ratelimit.Door("certificate-verify", anonymous="RATELIMIT_LOGIN", user="RATELIMIT_LOGIN")


@require_http_methods(["GET", "POST"])
def verify(request):
    """证明核验 — public: whoever holds a certificate (an employer, a school) checks its code and sees
    what it stated, with the name masked (``certificate.masked_name``). GET ?code= (a link) or the form."""
    from . import certificate

    raw = (request.POST.get("code") if request.method == "POST" else request.GET.get("code")) or ""
    context = {"code": raw.strip()[:40], "checked": False}
    if raw.strip():
        refusal = ratelimit.check(request, VERIFY_DOOR)
        if refusal is not None:
            return ratelimit.refusal_response(request, refusal)
        if not certificate.CODE_RE.match(re.sub(r"\s+", "", raw).upper()):
            context["error"] = _("验证码格式不正确：应为 12 位字母数字，如 1A2B-3C4D-5E6F")
            return render(request, "points/verify.html", context, status=400)
        found = certificate.find(raw)
        context["checked"] = True
        if found is None:
            context["error"] = _("未找到该验证码对应的证明，请核对后重试")
        else:
            name = found.resident.display_name or found.resident.get_username()
            context.update(found=found, name=certificate.masked_name(name),
                           hours=certificate.decimal_hours(found.minutes))
    return render(request, "points/verify.html", context)
