"""Visit pages (民情日志): the visits the user sees, recording one, a visit, turning it into a case.
Reads through ``queries``, writes through ``visits``; every response is ``private``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import queries, rules, visits
from .keyperson_forms import VisitCaseForm, VisitForm
from .models import Household, KeyPerson, Person, Visit
from .views import private

SHOWN = 100


@login_required
@require_GET
def visits_list(request):
    rows = (queries.visible(Visit, request.user)
            .select_related("area", "visitor", "person", "household", "case").order_by("-at", "-pk"))
    mine = request.GET.get("mine") == "1"
    if mine:
        rows = rows.filter(visitor=request.user)
    return private(render(request, "registries/visits/list.html", {
        "rows": rows[:SHOWN], "total": rows.count(), "shown": SHOWN, "mine": mine,
        "may_visit": visits.visit_areas(request.user).exists()}))


def _target(request):
    """The key person, person or household named in the query string, fetched through the read door."""
    user, get = request.user, request.GET
    if get.get("key_person"):
        entry = queries.get_visible_or_404(KeyPerson, user, pk=get["key_person"])
        return {"key_person": entry, "person": entry.person}
    if get.get("person"):
        return {"person": queries.get_visible_or_404(Person, user, pk=get["person"])}
    if get.get("household"):
        return {"household": queries.get_visible_or_404(Household, user, pk=get["household"])}
    return {}


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request):
    target = _target(request)
    subject = target.get("person") or target.get("household")
    areas = visits.visit_areas(request.user)
    if not target and not areas.exists():
        raise PermissionDenied
    initial = {"purpose": Visit.Purpose.KEY_PERSON if "key_person" in target else Visit.Purpose.ROUTINE}
    form = VisitForm(request.POST if request.method == "POST" else None, areas=areas,
                     fixed_area=subject is not None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = visits.record_visit(request.user, area=data.get("area"), purpose=data["purpose"],
                                        notes=data["notes"], **target)
            return redirect("registries:visit", pk=visit.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return private(render(request, "registries/visits/form.html", {"form": form, **target},
                          status=400 if form.errors else 200))


def _detail(request, visit, *, case_form=None, status=200):
    user = request.user
    return private(render(request, "registries/visits/detail.html", {
        "v": visit, "may_reveal": rules.may_reveal(user),
        "may_make_case": visit.case_id is None and visits.may_make_case(user, visit),
        "case_form": case_form or VisitCaseForm(),
        "key_person_seen": visit.key_person_id is not None
        and queries.visible(KeyPerson, user).filter(pk=visit.key_person_id).exists()}, status=status))


def _visible_visit(user, pk):
    return queries.get_visible_or_404(Visit, user, pk=pk)


@login_required
@require_GET
def visit(request, pk: int):
    return _detail(request, _visible_visit(request.user, pk))


@login_required
@require_POST
def visit_case(request, pk: int):
    visit_row = _visible_visit(request.user, pk)
    form = VisitCaseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            visits.visit_to_case(request.user, visit_row, title=data["title"], description=data["description"],
                                 category=data["category"])
            return redirect("registries:visit", pk=visit_row.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return _detail(request, visit_row, case_form=form, status=400)
