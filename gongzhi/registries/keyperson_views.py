"""Key-person pages (重点人员): the list, my due visits, an entry, listing a person, ending a listing.
Reads through ``queries``, writes through ``keypersons``; every response is ``private``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import keypersons, queries, rules
from .keyperson_forms import EndForm, KeyPersonForm, LevelForm, ResponsibleForm
from .models import KeyCategory, KeyPerson, Person, Registry, Visit
from .views import private

SHOWN = 200
DUE_AHEAD_DAYS = 7
VISITS_SHOWN = 50


def _entries(user):
    return queries.visible(KeyPerson, user).select_related("person", "person__area", "category", "responsible")


@login_required
@require_GET
def key_persons(request):
    """All visible open entries (or the ended ones), filtered by category and level; the most overdue first."""
    user = request.user
    if rules.paths(user, Registry.KEY_PERSONS) == () and not KeyPerson.objects.filter(responsible=user).exists():
        raise PermissionDenied
    rows = _entries(user)
    ended = request.GET.get("ended") == "1"
    rows = rows.filter(ended_on__isnull=not ended)
    category = request.GET.get("category", "")
    if category:
        rows = rows.filter(category__code=category)
    level = request.GET.get("level", "")
    if level in KeyPerson.Level.values:
        rows = rows.filter(level=level)
    rows = rows.order_by("-ended_on", "next_visit_due", "pk") if ended else rows.order_by("next_visit_due", "pk")
    total = rows.count()
    return private(render(request, "registries/keypersons/list.html", {
        "rows": rows[:SHOWN], "total": total, "shown": SHOWN, "today": timezone.localdate(),
        "categories": KeyCategory.objects.filter(is_active=True), "levels": KeyPerson.Level.choices,
        "category": category, "level": level, "ended": ended}))


@login_required
@require_GET
def key_persons_due(request):
    """My to-do: the entries I am responsible for, due within a week or overdue."""
    rows = _entries(request.user).filter(
        pk__in=keypersons.due_for(request.user, within_days=DUE_AHEAD_DAYS).values("pk")).order_by("next_visit_due")
    return private(render(request, "registries/keypersons/due.html", {
        "rows": rows, "today": timezone.localdate(), "ahead": DUE_AHEAD_DAYS}))


def _detail(request, entry, *, level_form=None, responsible_form=None, end_form=None, status=200):
    user = request.user
    area = entry.person.area
    writes = entry.ended_on is None and rules.can_write(user, Registry.KEY_PERSONS, area)
    visits = queries.visible(Visit, user).filter(key_person=entry).select_related("visitor", "case")
    return private(render(request, "registries/keypersons/detail.html", {
        "e": entry, "today": timezone.localdate(), "every_days": keypersons.every_days(entry),
        "visits": visits[:VISITS_SHOWN], "may_reveal": rules.may_reveal(user), "writes": writes,
        "may_visit": entry.ended_on is None,
        "level_form": level_form or LevelForm(initial={"level": entry.level}),
        "responsible_form": responsible_form or ResponsibleForm(initial={"responsible": entry.responsible_id},
                                                                area=area),
        "end_form": end_form or EndForm()}, status=status))


@login_required
@require_http_methods(["GET", "POST"])
def key_person(request, pk: int):
    """An entry; POST ``action=level`` or ``action=responsible`` changes it."""
    entry = queries.get_visible_or_404(KeyPerson, request.user, pk=pk)
    if request.method == "GET":
        return _detail(request, entry)
    action = request.POST.get("action")
    if action == "level":
        form, call = LevelForm(request.POST), keypersons.change_level
        value = "level"
    elif action == "responsible":
        form, call = ResponsibleForm(request.POST, area=entry.person.area), keypersons.assign_responsible
        value = "responsible"
    else:
        return _detail(request, entry, status=400)
    if form.is_valid():
        try:
            call(request.user, entry, form.cleaned_data[value])
            return redirect("registries:key_person", pk=entry.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return _detail(request, entry, status=400, **{f"{value}_form": form})


@login_required
@require_http_methods(["GET", "POST"])
def key_person_new(request):
    """List a person (?person=<pk>) under a category."""
    person = queries.get_visible_or_404(Person, request.user, pk=request.GET.get("person"))
    if not rules.can_write(request.user, Registry.KEY_PERSONS, person.area):
        raise PermissionDenied
    form = KeyPersonForm(request.POST if request.method == "POST" else None, area=person.area)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = keypersons.list_person(request.user, person, category=data["category"], level=data["level"],
                                           responsible=data["responsible"],
                                           visit_every_days=data["visit_every_days"], details=data["details"])
            return redirect("registries:key_person", pk=entry.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return private(render(request, "registries/keypersons/form.html", {"form": form, "person": person},
                          status=400 if form.errors else 200))


@login_required
@require_POST
def key_person_end(request, pk: int):
    entry = queries.get_visible_or_404(KeyPerson, request.user, pk=pk)
    form = EndForm(request.POST)
    if form.is_valid():
        try:
            keypersons.end_listing(request.user, entry, form.cleaned_data["reason"])
            return redirect("registries:key_person", pk=entry.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return _detail(request, entry, end_form=form, status=400)
