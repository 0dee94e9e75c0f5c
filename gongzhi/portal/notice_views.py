"""The notice board pages (docs/portal.md#notices): my board, a notice (opening it marks it read),
publishing, withdrawing, relaying, attachments, and the public board of an area (no login)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import MAX_ID, jurisdiction

from . import notices, queries
from .models import NoticeAttachment
from .notice_forms import NoticeForm


def _int_or_none(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


@login_required
@require_GET
def board(request):
    user = request.user
    today = timezone.localdate()
    current = notices.current_for(user, today)
    expired = notices.expired_for(user, today)
    upcoming = notices.upcoming_for(user, today)
    withdrawn = notices.withdrawn_for(user)
    staff = not jurisdiction(user).empty
    area_id = _int_or_none(request.GET.get("area")) if staff else None
    area_choices = []
    if staff:
        area_choices = list(Area.objects.filter(notices__in=queries.visible_notices(user)).distinct()
                            .order_by("path"))
    if area_id:
        current, expired, upcoming, withdrawn = (qs.filter(area_id=area_id)
                                                 for qs in (current, expired, upcoming, withdrawn))
    read = set()
    current = list(current.prefetch_related("attachments")[:200])
    if current:
        read = set(request.user.notice_receipts.filter(notice__in=current).values_list("notice_id", flat=True))
    return render(request, "portal/notices/board.html", {
        "current": current, "expired": list(expired[:100]), "upcoming": list(upcoming[:100]), "read": read,
        "withdrawn": list(withdrawn[:100]),
        "staff": staff, "area_choices": area_choices, "area_id": area_id,
        "may_publish": notices.publish_q(user) is not None,
    })


@login_required
@require_GET
def detail(request, pk):
    notice = queries.get_or_404(notices.readable(request.user).select_related("published_by", "withdrawn_by")
                                .prefetch_related("attachments"), pk)
    if notice.withdrawn_at is None:  # a withdrawn notice is opened by its publishers only: not a reading
        notices.mark_read(request.user, notice)
    publisher = queries.can_publish(request.user, notice.area)
    queries.label_publishers(request.user, [notice])
    context = {
        "notice": notice, "publisher": publisher,
        "may_relay": notices.may_relay(request.user, notice),
        "today": timezone.localdate(),
    }
    if context["may_relay"]:
        context["my_receipt"] = request.user.notice_receipts.filter(notice=notice).first()
    if publisher:
        context["withdrawn_by"] = str(notice.withdrawn_by) if notice.withdrawn_by else _("系统")
        context["receipts"] = list(notices.receipts(notice)[:500])
        if notice.needs_relay:
            context["relay"] = notices.relay_status(notice)
    return render(request, "portal/notices/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request):
    if notices.publish_q(request.user) is None:
        raise PermissionDenied
    form = NoticeForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = notices.publish_notice(
                request.user, area=data["area"], title=data["title"], body=data["body"],
                valid_from=data["valid_from"], valid_until=data["valid_until"], pinned=data["pinned"],
                is_public=data["is_public"], needs_relay=data["needs_relay"], attachments=data["attachments"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("通知已发布"))
            return redirect("portal:notice", pk=notice.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/notices/new.html", {"form": form}, status=status)


@login_required
@require_POST
def withdraw(request, pk):
    notice = queries.get_or_404(notices.readable(request.user), pk)
    try:
        notices.withdraw(request.user, notice)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:notice", pk=notice.pk)
    messages.success(request, _("通知已撤回"))
    return redirect("portal:notices")


@login_required
@require_POST
def relay(request, pk):
    notice = queries.get_or_404(notices.readable(request.user), pk)
    notices.mark_relayed(request.user, notice)
    messages.success(request, _("已登记逐户传达"))
    return redirect("portal:notice", pk=notice.pk)


@require_GET
def attachment(request, pk, attachment_id):
    """An attachment, only for someone who may read its notice (public notices: everyone)."""
    try:
        notice = queries.get_or_404(notices.readable(request.user), pk)
    except Http404:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise
    if _int_or_none(attachment_id) is None:
        raise Http404
    item = get_object_or_404(NoticeAttachment, notice=notice, pk=attachment_id)
    return notices.attachment_response(item)


@require_GET
def public_board(request, area_id):
    if _int_or_none(area_id) is None:
        raise Http404
    area = get_object_or_404(Area.objects.select_related("parent"), pk=area_id)
    items = queries.label_publishers(None, notices.public_board(area).prefetch_related("attachments")[:100])
    return render(request, "portal/notices/public_board.html", {"area": area, "notices": items})
