"""Pages of community corrections: the list, one person's record with a form for each action, a new
record, and the bases. Reads go through ``queries``; writes through ``corrections``; sealed values
render as their masks."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import corrections, crypto, queries, rules
from . import corrections_forms as f
from .models import (
    Correction,
    CorrectionReport,
    Person,
    PlacementBase,
    Registry,
    RiskAssessment,
    ServiceHours,
    TeamMember,
)
from .views import private

LIST_SIZE = 200


def _sees_any(user) -> bool:
    """In the registry's audience somewhere, or on a correction team."""
    return rules.paths(user, Registry.CORRECTIONS) != () or TeamMember.objects.filter(user=user).exists()


def _writes_somewhere(user) -> bool:
    return rules.paths(user, Registry.CORRECTIONS, write=True) != ()


@login_required
@require_GET
def correction_list(request):
    if not _sees_any(request.user):
        raise PermissionDenied
    rows = queries.visible(Correction, request.user).select_related("person__area", "department")
    form = f.FilterForm(request.GET or None)
    today = timezone.localdate()
    if form.is_valid():
        if form.cleaned_data["status"]:
            rows = rows.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["due"] == "overdue":
            rows = rows.filter(status=Correction.Status.ACTIVE, next_report_due__lte=today)
        elif form.cleaned_data["due"] == "week":
            rows = rows.filter(status=Correction.Status.ACTIVE,
                               next_report_due__lte=today + datetime.timedelta(days=7))
    return private(render(request, "registries/corrections/list.html", {
        "rows": rows[:LIST_SIZE], "form": form, "today": today, "may_write": _writes_somewhere(request.user)}))


def _detail(request, correction: Correction, status: int = 200, **bound):
    user = request.user
    may_write = corrections.may_write(user, correction)
    may_report = may_write or corrections.may_report(user, correction)
    open_ = correction.status in (Correction.Status.ASSESSMENT, Correction.Status.ACTIVE)
    active = correction.status == Correction.Status.ACTIVE
    done, required = corrections.hours_this_month(correction)
    forms = {}
    if may_write and open_:
        forms["team_form"] = bound.get("team_form") or f.TeamMemberForm()
        forms["risk_form"] = bound.get("risk_form") or f.RiskForm()
    if may_write and correction.status == Correction.Status.ASSESSMENT:
        forms["announce_form"] = bound.get("announce_form") or f.AnnounceForm()
    if may_report and active:
        forms["report_form"] = bound.get("report_form") or f.ReportForm()
    if may_write and active:
        forms["hours_form"] = bound.get("hours_form") or f.HoursForm(user=user)
        forms["release_form"] = bound.get("release_form") or f.ReleaseForm()
        forms["revoke_form"] = bound.get("revoke_form") or f.RevokeForm()
    assessments = queries.visible(RiskAssessment, user).filter(correction=correction)
    return private(render(request, "registries/corrections/detail.html", {
        "c": correction,
        "team": queries.visible(TeamMember, user).filter(correction=correction).select_related("user"),
        "missing": [TeamMember.Role(r).label for r in corrections.missing_roles(correction)],
        "reports": queries.visible(CorrectionReport, user).filter(correction=correction)
        .select_related("recorded_by")[:50],
        "assessments": [(a, [(label, a.scores.get(code, "—"), top)
                             for code, (label, top) in corrections.RISK_FACTORS.items()])
                        for a in assessments[:20]],
        "hours": queries.visible(ServiceHours, user).filter(correction=correction).select_related("base")[:50],
        "hours_done": done, "hours_required": required, "hours_short": done < required,
        "overdue": active and correction.next_report_due and correction.next_report_due <= timezone.localdate(),
        "may_write": may_write, "may_reveal": rules.may_reveal(user),
        **forms,
    }, status=status))


def _get(request, pk) -> Correction:
    return queries.get_visible_or_404(Correction, request.user, pk=pk)


@login_required
@require_GET
def correction_detail(request, pk: int):
    return _detail(request, _get(request, pk))


def _action(request, pk, form_name, form, do, *, report=False):
    """A POST action: permission first (403), then the form, then the service; errors re-render the
    page with the bound form, success goes back to the page."""
    correction = _get(request, pk)
    allowed = (corrections.may_report if report else corrections.may_write)(request.user, correction)
    if not allowed:
        raise PermissionDenied
    if form.is_valid():
        try:
            do(correction, form)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:correction", pk=correction.pk)
    correction.refresh_from_db()
    return _detail(request, correction, status=400, **{form_name: form})


@login_required
@require_POST
def correction_team(request, pk: int):
    def do(c, form):
        d = form.cleaned_data
        corrections.set_team_member(request.user, c, role=d["role"], name=d["name"], phone=d["phone"],
                                    user=d["username"])
    return _action(request, pk, "team_form", f.TeamMemberForm(request.POST), do)


@login_required
@require_POST
def correction_announce(request, pk: int):
    def do(c, form):
        corrections.announce(request.user, c, on=form.cleaned_data["on"], record=form.cleaned_data["record"])
    return _action(request, pk, "announce_form", f.AnnounceForm(request.POST), do)


@login_required
@require_POST
def correction_report(request, pk: int):
    def do(c, form):
        d = form.cleaned_data
        corrections.record_report(request.user, c, kind=d["kind"], on=d["on"], note=d["note"])
    return _action(request, pk, "report_form", f.ReportForm(request.POST), do, report=True)


@login_required
@require_POST
def correction_assess(request, pk: int):
    def do(c, form):
        corrections.assess_risk(request.user, c, on=form.cleaned_data["on"], scores=form.scores(),
                                note=form.cleaned_data["note"])
    return _action(request, pk, "risk_form", f.RiskForm(request.POST), do)


@login_required
@require_POST
def correction_hours(request, pk: int):
    def do(c, form):
        d = form.cleaned_data
        corrections.record_service_hours(request.user, c, base=d["base"], on=d["on"], hours=d["hours"],
                                         activity=d["activity"])
    return _action(request, pk, "hours_form", f.HoursForm(request.POST, user=request.user), do)


@login_required
@require_POST
def correction_release(request, pk: int):
    def do(c, form):
        corrections.release(request.user, c, form.cleaned_data["on"])
    return _action(request, pk, "release_form", f.ReleaseForm(request.POST), do)


@login_required
@require_POST
def correction_revoke(request, pk: int):
    def do(c, form):
        corrections.revoke(request.user, c, form.cleaned_data["on"], form.cleaned_data["reason"])
    return _action(request, pk, "revoke_form", f.RevokeForm(request.POST), do)


def _candidates(user):
    """People a correction may be opened for: living where the user may write corrections (a judicial
    officer registering a court's handover does not see the residents' registry), not anonymised."""
    write_paths = rules.paths(user, Registry.CORRECTIONS, write=True)
    q = Q()
    if write_paths is not None:
        q = Q(pk__in=[])
        for path in write_paths:
            q |= Q(area__path__startswith=path)
    return Person.objects.filter(q, anonymised_at__isnull=True, closed_at__isnull=True).select_related("area")


def _person_for_new(user, pk) -> Person:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    person = _candidates(user).filter(pk=pk).first()
    if person is None or not rules.can_write(user, Registry.CORRECTIONS, person.area):
        raise Http404
    return person


def _lookup(request):
    """Step one of a new record: the identity number (in the body) → the person's page of step two."""
    form = f.LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        digest = crypto.blind_index(form.cleaned_data["id_number"])
        person = _candidates(request.user).filter(id_number_index=digest).first() if digest else None
        if person is not None:
            return redirect(f"{reverse('registries:correction_new')}?person={person.pk}")
        form.add_error("id_number", _("在您的辖区没有找到该身份证号对应的人员"))
    if form.is_bound:  # the page never shows an identity number back, not even the one just typed
        form.data = form.data.copy()
        form.data["id_number"] = ""
    return private(render(request, "registries/corrections/new.html", {"lookup": form},
                          status=400 if request.method == "POST" else 200))


@login_required
@require_http_methods(["GET", "POST"])
def correction_new(request):
    if not _writes_somewhere(request.user):
        raise PermissionDenied
    if "person" not in request.GET:
        return _lookup(request)
    person = _person_for_new(request.user, request.GET.get("person"))
    form = f.CorrectionForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = corrections.open_correction(request.user, person, department=d["department"], kind=d["kind"],
                                            offence=d["offence"], term_start=d["term_start"],
                                            term_end=d["term_end"], report_every_days=d["report_every_days"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:correction", pk=c.pk)
    return private(render(request, "registries/corrections/new.html", {"form": form, "person": person},
                          status=400 if request.method == "POST" else 200))


@login_required
@require_GET
def base_list(request):
    if rules.paths(request.user, Registry.CORRECTIONS) == ():
        raise PermissionDenied
    rows = queries.visible(PlacementBase, request.user).select_related("area")
    return private(render(request, "registries/corrections/bases.html", {
        "rows": rows[:LIST_SIZE], "may_write": _writes_somewhere(request.user)}))


@login_required
@require_http_methods(["GET", "POST"])
def base_new(request):
    if not _writes_somewhere(request.user):
        raise PermissionDenied
    form = f.BaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            corrections.create_base(request.user, area=d["area"], name=d["name"], kind=d["kind"],
                                    address=d["address"], contact=d["contact"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:bases")
    return private(render(request, "registries/corrections/base_new.html", {"form": form},
                          status=400 if request.method == "POST" else 200))
