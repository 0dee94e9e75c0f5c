"""Pages of legal service and mediation: the advisers (public professional data) and the
consultations the user sees, appointing an adviser, recording a consultation, the mediation cases
and one case with its parties (masked), sessions and conclusion."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import legal, queries, rules
from . import legal_forms as f
from .models import Consultation, LegalAdviser, Mediation, MediationParty, MediationSession, Registry
from .views import private

LIST_SIZE = 200


def _writes_somewhere(user) -> bool:
    return rules.paths(user, Registry.LEGAL, write=True) != ()


@login_required
@require_GET
def legal_index(request):
    """The communities' legal advisers in post (name, firm, work phone, office hours are public: a
    resident should know whom to ask) and the consultations this user sees."""
    user = request.user
    advisers = (LegalAdviser.objects.filter(ended_on__isnull=True).select_related("area")
                .order_by("area__path", "-started_on"))[:LIST_SIZE]
    consultations = (queries.visible(Consultation, user).select_related("area", "adviser")[:LIST_SIZE]
                     if rules.paths(user, Registry.LEGAL) != () or legal.advised_areas(user).exists()
                     or Consultation.objects.filter(recorded_by=user).exists() else [])
    return private(render(request, "registries/legal/index.html", {
        "advisers": advisers, "consultations": consultations, "may_write": _writes_somewhere(user),
        "may_consult": f.legal_areas(user, consult=True).exists(), "may_reveal": rules.may_reveal(user),
        "ending": {a.pk for a in advisers if rules.can_write(user, Registry.LEGAL, a.area)}}))


@login_required
@require_http_methods(["GET", "POST"])
def adviser_new(request):
    if not _writes_somewhere(request.user):
        raise PermissionDenied
    form = f.AdviserForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            legal.appoint_adviser(request.user, area=d["area"], name=d["name"], firm=d["firm"], phone=d["phone"],
                                  office_hours=d["office_hours"], user=d["username"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:legal")
    return private(render(request, "registries/legal/form.html", {"form": form, "kind": "adviser"},
                          status=400 if request.method == "POST" else 200))


@login_required
@require_POST
def adviser_end(request, pk: int):
    adviser = queries.get_visible_or_404(LegalAdviser, request.user, pk=pk)
    try:
        legal.end_adviser(request.user, adviser)
    except ValidationError:
        pass  # already ended: nothing to do
    return redirect("registries:legal")


@login_required
@require_http_methods(["GET", "POST"])
def consultation_new(request):
    if not f.legal_areas(request.user, consult=True).exists():
        raise PermissionDenied
    form = f.ConsultationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            legal.record_consultation(request.user, area=d["area"], topic=d["topic"], requester=d["requester"],
                                      question=d["question"], advice=d["advice"], on=d["on"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:legal")
    return private(render(request, "registries/legal/form.html", {"form": form, "kind": "consultation"},
                          status=400 if request.method == "POST" else 200))


def _sees_mediations(user) -> bool:
    return rules.paths(user, Registry.LEGAL) != () or Mediation.objects.filter(mediator=user).exists()


@login_required
@require_GET
def mediation_list(request):
    if not _sees_mediations(request.user):
        raise PermissionDenied
    rows = queries.visible(Mediation, request.user).select_related("area", "mediator")
    form = f.MediationFilter(request.GET or None)
    if form.is_valid() and form.cleaned_data["status"]:
        rows = rows.filter(status=form.cleaned_data["status"])
    return private(render(request, "registries/legal/mediations.html", {
        "rows": rows[:LIST_SIZE], "form": form, "may_write": _writes_somewhere(request.user)}))


@login_required
@require_http_methods(["GET", "POST"])
def mediation_new(request):
    if not _writes_somewhere(request.user):
        raise PermissionDenied
    form = f.MediationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            mediation = legal.open_mediation(request.user, area=d["area"], kind=d["kind"], summary=d["summary"],
                                             mediator=d["mediator"], received_on=d["received_on"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:mediation", pk=mediation.pk)
    return private(render(request, "registries/legal/form.html", {"form": form, "kind": "mediation"},
                          status=400 if request.method == "POST" else 200))


def _detail(request, mediation: Mediation, status: int = 200, **bound):
    user = request.user
    handles = legal.may_handle(user, mediation)
    open_ = mediation.status not in legal.CLOSED
    forms = {}
    if handles and open_:
        forms = {"party_form": bound.get("party_form") or f.PartyForm(),
                 "session_form": bound.get("session_form") or f.SessionForm(),
                 "conclude_form": bound.get("conclude_form") or f.ConcludeForm()}
    return private(render(request, "registries/legal/mediation.html", {
        "m": mediation,
        "parties": queries.visible(MediationParty, user).filter(mediation=mediation),
        "sessions": queries.visible(MediationSession, user).filter(mediation=mediation).select_related("recorded_by"),
        "may_reveal": rules.may_reveal(user), "handles": handles, **forms}, status=status))


@login_required
@require_GET
def mediation_detail(request, pk: int):
    return _detail(request, queries.get_visible_or_404(Mediation, request.user, pk=pk))


def _action(request, pk, form_name, form, do):
    mediation = queries.get_visible_or_404(Mediation, request.user, pk=pk)
    if not legal.may_handle(request.user, mediation):
        raise PermissionDenied
    if form.is_valid():
        try:
            do(mediation, form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("registries:mediation", pk=mediation.pk)
    mediation.refresh_from_db()
    return _detail(request, mediation, status=400, **{form_name: form})


@login_required
@require_POST
def mediation_party(request, pk: int):
    return _action(request, pk, "party_form", f.PartyForm(request.POST), lambda m, d: legal.add_party(
        request.user, m, side=d["side"], name=d["name"], phone=d["phone"]))


@login_required
@require_POST
def mediation_session(request, pk: int):
    return _action(request, pk, "session_form", f.SessionForm(request.POST), lambda m, d: legal.record_session(
        request.user, m, on=d["on"], place=d["place"], note=d["note"]))


@login_required
@require_POST
def mediation_conclude(request, pk: int):
    return _action(request, pk, "conclude_form", f.ConcludeForm(request.POST), lambda m, d: legal.conclude(
        request.user, m, status=d["status"], agreement=d["agreement"], outcome=d["outcome"]))
