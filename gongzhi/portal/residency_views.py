"""Who lives where (docs/portal.md#residency): my homes and the request form; the verifiers' list of
pending requests with approve / refuse; moving out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import queries, residency
from .notice_forms import ResidencyForm


@login_required
@require_http_methods(["GET", "POST"])
def mine(request):
    form = ResidencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            residency.request_residency(request.user, area=form.cleaned_data["area"], unit=form.cleaned_data["unit"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("登记申请已提交，等待核实"))
            return redirect("portal:residency")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/residency/mine.html", {
        "residencies": list(residency.mine(request.user)[:50]), "form": form,
        "may_verify": residency.may_verify_anywhere(request.user),
    }, status=status)


@login_required
@require_GET
def requests(request):
    if not residency.may_verify_anywhere(request.user):
        raise PermissionDenied
    return render(request, "portal/residency/requests.html", {
        "pending": list(residency.verify_for(request.user)[:200])})


@login_required
@require_POST
def decide(request, pk):
    item = queries.get_or_404(residency.verify_for(request.user), pk)
    approve = request.POST.get("approve") == "1"
    try:
        residency.verify(request.user, item, approve=approve, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已核实") if approve else _("已拒绝该登记"))
    return redirect("portal:residency_requests")


@login_required
@require_POST
def move_out(request, pk):
    item = queries.get_or_404(residency.movable(request.user), pk)
    try:
        residency.move_out(request.user, item)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已登记迁出"))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("portal:residency")
