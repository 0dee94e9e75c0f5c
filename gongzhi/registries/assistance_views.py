"""Pages of people in need (困难帮扶), relief distributions (物资发放) and the need map (帮扶地图).

Reads go through ``queries`` (404 for what is not yours); writes through ``assistance`` and
``relief``. The map is for anyone whose jurisdiction covers a grid — the dispatcher too — and shows
suppressed counts per grid, never a household.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction, one_or_404
from gongzhi.orgs.models import User

from . import assistance, queries, relief, rules
from . import assistance_forms as f
from .models import DifficultyKind, Household, NeedCase, Registry, ReliefBatch, ReliefRecipient
from .views import private

PER_PAGE = 50
SEARCH_SHOWN = 20


def _helpers(area):
    """People who may be paired with a household: active role holders at or above its area, or below it."""
    ancestors = [int(p) for p in area.path.strip("/").split("/") if p]
    return (User.objects.filter(is_active=True).filter(
        Q(memberships__area__in=ancestors, memberships__ended_on__isnull=True)
        | Q(memberships__area__path__startswith=area.path, memberships__ended_on__isnull=True))
        .distinct().order_by("display_name", "username"))


def _writable_areas(user):
    area_paths = rules.paths(user, Registry.ASSISTANCE, write=True)
    qs = Area.objects.all() if area_paths is None else Area.objects.under_paths(area_paths)
    return qs.filter(level__slug__in=["street", "community", "grid", "building"]).order_by("path")


def _sees_any(user) -> bool:
    return rules.paths(user, Registry.ASSISTANCE) != () or queries.visible(NeedCase, user).exists()


# ------------------------------------------------------------------------------ need cases


@login_required
@require_GET
def need_cases(request):
    if not _sees_any(request.user):
        raise PermissionDenied
    qs = queries.visible(NeedCase, request.user).select_related("household__area", "helper") \
        .prefetch_related("kinds")
    state = request.GET.get("state", "open")
    if state == "open":
        qs = qs.filter(closed_on__isnull=True)
    elif state == "closed":
        qs = qs.filter(closed_on__isnull=False)
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kinds__code=kind)
    level = request.GET.get("level", "")
    if level in NeedCase.Level.values:
        qs = qs.filter(level=level)
    area = None
    if request.GET.get("area", "").isdigit():
        area = Area.objects.visible_to(request.user).filter(pk=int(request.GET["area"])).first()
        qs = qs.filter(household__area__path__startswith=area.path) if area else qs.none()
    page = Paginator(qs.distinct().order_by("-opened_on", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    return private(render(request, "registries/assistance/cases.html", {
        "page": page, "state": state, "kind": kind, "level": level, "area": area,
        "kinds": DifficultyKind.objects.all(), "levels": NeedCase.Level.choices,
        "can_open": rules.paths(request.user, Registry.ASSISTANCE, write=True) != ()}))


def _case_context(request, case, **forms):
    user = request.user
    writer = rules.can_write(user, Registry.ASSISTANCE, case.household.area)
    helpers = _helpers(case.household.area) if writer else User.objects.none()
    ctx = {
        "case": case, "plans": case.plans.select_related("responsible"),
        "help": case.help.select_related("given_by"),
        "writer": writer and case.closed_on is None,
        "may_help": assistance.can_record_help(user, case) and case.closed_on is None,
        "may_reveal": rules.may_reveal(user),
        "helper_form": f.HelperForm(initial={"helper": case.helper_id}, helpers=helpers),
        "plan_form": f.PlanForm(helpers=helpers), "help_form": f.HelpForm(), "close_form": f.CloseForm(),
    }
    ctx.update(forms)
    return ctx


@login_required
@require_GET
def need_case(request, pk: int):
    case = queries.get_visible_or_404(NeedCase, request.user, pk=pk)
    return private(render(request, "registries/assistance/case.html", _case_context(request, case)))


@login_required
@require_http_methods(["GET", "POST"])
def need_case_new(request):
    user = request.user
    if rules.paths(user, Registry.ASSISTANCE, write=True) == ():
        raise PermissionDenied
    household = None
    if request.GET.get("household"):
        pk = request.GET["household"]
        try:
            household = one_or_404(queries.households_to_write(user, Registry.ASSISTANCE, open_only=False)
                                   .select_related("area"), pk=pk)
        except Http404:
            queries.get_visible_or_404(Household, user, pk=pk)  # not yours: 404
            raise PermissionDenied from None  # seen through the residents' registry, not writable here
    if household is None:
        q = request.GET.get("q", "").strip()[:32]
        found = list(queries.households_to_write(user, Registry.ASSISTANCE).select_related("area")
                     .filter(number__icontains=q).order_by("number", "pk")[:SEARCH_SHOWN]) if q else []
        return private(render(request, "registries/assistance/case_new.html", {"q": q, "found": found}))
    form = f.NeedCaseForm(request.POST or None, helpers=_helpers(household.area))
    open_case = NeedCase.objects.filter(household=household, closed_on__isnull=True).first()
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case = assistance.open_need_case(user, household, kinds=d["kinds"], level=d["level"],
                                             details=d["details"], helper=d["helper"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:need_case", case.pk)
    return private(render(request, "registries/assistance/case_new.html", {
        "household": household, "form": form, "open_case": open_case}))


def _case_action(request, pk, form_class, key, call):
    case = queries.get_visible_or_404(NeedCase, request.user, pk=pk)
    kwargs = {"helpers": _helpers(case.household.area)} if form_class in (f.HelperForm, f.PlanForm) else {}
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            call(case, form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:need_case", case.pk)
    return private(render(request, "registries/assistance/case.html",
                          _case_context(request, case, **{key: form}), status=400))


@login_required
@require_POST
def need_case_helper(request, pk: int):
    return _case_action(request, pk, f.HelperForm, "helper_form",
                        lambda case, d: assistance.assign_helper(request.user, case, d["helper"]))


@login_required
@require_POST
def need_case_plan(request, pk: int):
    return _case_action(request, pk, f.PlanForm, "plan_form", lambda case, d: assistance.add_plan(
        request.user, case, measures=d["measures"], responsible=d["responsible"], starts_on=d["starts_on"],
        review_on=d["review_on"]))


@login_required
@require_POST
def need_case_help(request, pk: int):
    return _case_action(request, pk, f.HelpForm, "help_form", lambda case, d: assistance.record_help(
        request.user, case, kind=d["kind"], on=d["on"], description=d["description"], amount=d["amount"]))


@login_required
@require_POST
def need_case_close(request, pk: int):
    return _case_action(request, pk, f.CloseForm, "close_form", lambda case, d: assistance.close_need_case(
        request.user, case, on=d["on"], reason=d["reason"]))


# ------------------------------------------------------------------------------ the need map


def _require_map(user):
    if jurisdiction(user).empty:
        raise PermissionDenied


@login_required
@require_GET
def need_map(request):
    _require_map(request.user)
    rows = assistance.need_map(request.user)
    return private(render(request, "registries/assistance/map.html", {
        "rows": rows, "levels": NeedCase.Level.choices, "threshold": assistance.SUPPRESS_BELOW}))


@login_required
@require_GET
def need_map_geojson(request):
    _require_map(request.user)
    features = []
    list_url = reverse("registries:need_cases")
    for row in assistance.need_map(request.user):
        grid = row["area"]
        features.append({"type": "Feature", "geometry": grid.geometry, "properties": {
            "id": grid.pk, "name": grid.name, "open": row["total"], "band": row["band"],
            "levels": [{"label": str(label), "count": row["levels"][value]} for value, label in NeedCase.Level.choices],
            "url": f"{list_url}?area={grid.pk}" if row["link"] else None}})
    return private(JsonResponse({"type": "FeatureCollection", "features": features,
                                 "suppressed_below": assistance.SUPPRESS_BELOW},
                                json_dumps_params={"ensure_ascii": False}))


# ------------------------------------------------------------------------------ relief


@login_required
@require_GET
def relief_batches(request):
    if rules.paths(request.user, Registry.ASSISTANCE) == ():
        raise PermissionDenied
    batches = queries.visible(ReliefBatch, request.user).select_related("area")
    page = Paginator(batches, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = [(b, relief.totals(b)) for b in page.object_list]
    return private(render(request, "registries/assistance/batches.html", {
        "page": page, "can_create": rules.paths(request.user, Registry.ASSISTANCE, write=True) != ()}))


@login_required
@require_http_methods(["GET", "POST"])
def relief_batch_new(request):
    if rules.paths(request.user, Registry.ASSISTANCE, write=True) == ():
        raise PermissionDenied
    areas = list(_writable_areas(request.user)[:500])
    form = f.BatchForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = next(a for a in areas if str(a.pk) == d["area"])
        try:
            batch = relief.create_batch(request.user, area=area, name=d["name"], goods=d["goods"],
                                        per_household=d["per_household"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:relief_batch", batch.pk)
    return private(render(request, "registries/assistance/batch_new.html", {"form": form}))


def _batch(request, pk):
    return queries.get_visible_or_404(ReliefBatch, request.user, pk=pk)


@login_required
@require_GET
def relief_batch(request, pk: int):
    """The distribution-day page: find a household by its number, press 发放."""
    batch = _batch(request, pk)
    q = request.GET.get("q", "").strip()[:32]
    recipients = batch.recipients.select_related("household__area", "issued_by").order_by(
        F("issued_at").asc(nulls_first=True), "household__number", "pk")  # waiting households first
    if q:
        recipients = recipients.filter(household__number__icontains=q)
    page = Paginator(recipients, PER_PAGE).get_page(request.GET.get("page"))
    writer = rules.can_write(request.user, Registry.ASSISTANCE, batch.area)
    return private(render(request, "registries/assistance/batch.html", {
        "batch": batch, "page": page, "q": q, "totals": relief.totals(batch),
        "writer": writer and batch.closed_at is None, "list_form": f.ListForm(),
        "issue_form": f.IssueForm()}))


def _back(request, batch):
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()) \
            and url.startswith(reverse("registries:relief_batch", args=[batch.pk])):
        return redirect(url)
    return redirect("registries:relief_batch", batch.pk)


@login_required
@require_POST
def relief_issue(request, pk: int):
    recipient = queries.get_visible_or_404(ReliefRecipient, request.user, pk=pk)
    form = f.IssueForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(m for errs in form.errors.values() for m in errs))
        return _back(request, recipient.batch)
    try:
        relief.issue(request.user, recipient, signed_by=form.cleaned_data["signed_by"],
                     signature=form.cleaned_data.get("signature"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("户 %(number)s 已发放") % {"number": recipient.household})
    return _back(request, recipient.batch)


_SPLIT = re.compile(r"[\s,，、;；]+")


@login_required
@require_POST
def relief_list(request, pk: int):
    batch = _batch(request, pk)
    form = f.ListForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errs in form.errors.values() for m in errs))
        return redirect("registries:relief_batch", batch.pk)
    numbers = {n for n in _SPLIT.split(form.cleaned_data["numbers"]) if n}
    found = list(queries.visible(Household, request.user).select_related("area")
                 .filter(number__in=numbers, area__path__startswith=batch.area.path))
    missing = numbers - {h.number for h in found}
    try:
        added = relief.list_households(request.user, batch, found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("新列入 %(n)s 户") % {"n": added})
        if missing:
            messages.warning(request, _("以下户号在发放区域内未找到：%(numbers)s") % {
                "numbers": "、".join(sorted(missing)[:20])})
    return redirect("registries:relief_batch", batch.pk)


@login_required
@require_POST
def relief_list_open(request, pk: int):
    batch = _batch(request, pk)
    try:
        added = relief.list_open_need_cases(request.user, batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("新列入 %(n)s 户") % {"n": added})
    return redirect("registries:relief_batch", batch.pk)


@login_required
@require_POST
def relief_close(request, pk: int):
    batch = _batch(request, pk)
    try:
        relief.close_batch(request.user, batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("本批次已结束发放"))
    return redirect("registries:relief_batch", batch.pk)


@login_required
@require_GET
def relief_receipts(request, pk: int):
    batch = _batch(request, pk)
    if not rules.can_see(request.user, Registry.ASSISTANCE, batch.area):
        raise Http404
    response = HttpResponse(relief.receipts_xlsx(request.user, batch),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="relief-{batch.pk}-receipts-{stamp}.xlsx"'
    return private(response)
