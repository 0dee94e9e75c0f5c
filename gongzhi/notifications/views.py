"""The inbox page: the user's own messages, unread first; mark one or all read (POST)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import services
from .models import Notification

PAGE_SIZE = 30


@login_required
@require_GET
def inbox(request):
    rows = Notification.objects.for_user(request.user).inbox_order().select_related("case")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "unread": services.unread_count(request.user)})


@login_required
@require_POST
def read(request, pk: int):
    """Mark one message read; with ``open`` go on to the page it links to."""
    notification = services.mark_read(services.get_own_or_404(request.user, pk))
    target = notification.url
    if request.POST.get("open") and target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
@require_POST
def read_all(request):
    count = services.mark_all_read(request.user)
    if count:
        messages.success(request, _("已将 %(n)s 条消息标为已读") % {"n": count})
    return redirect("notifications:inbox")
