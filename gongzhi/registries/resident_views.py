"""Pages of the residents' registry (实有人口): people, households, stays, the import.

Every read goes through ``queries`` (404 for what is not yours), every write through ``residents``;
every response is ``views.private`` (no-store). Identity numbers and phones are shown masked; the
exact search by identity number is a POST (the number is never in a URL or an access log) matched
through the blind index, and the number is not rendered back into the page.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors

from . import crypto, queries, resident_import, residents, rules
from .models import Correction, FloatingRegistration, Household, KeyPerson, NeedCase, Person, Registry, Visit
from .resident_forms import (
    AccountForm,
    CloseForm,
    HouseholdFilterForm,
    HouseholdForm,
    IdSearchForm,
    ImportForm,
    PeopleFilterForm,
    PersonForm,
    StayEndForm,
    StayForm,
)
from .views import private

PER_PAGE = 50
ENTRIES_SHOWN = 20


def _require_registry(user) -> None:
    """The lists are for the registry's audience (a judicial officer sees single people only)."""
    if rules.paths(user, Registry.RESIDENTS) == ():
        raise PermissionDenied(_("您不能查看实有人口台账"))


def _writable(user):
    areas = residents.writable_areas(user)
    if not areas.exists():
        raise PermissionDenied(_("您不能登记实有人口"))
    return areas


def _households_for(user, areas):
    return queries.visible(Household, user).filter(closed_at=None, area__in=areas).select_related("area")


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


# ------------------------------------------------------------------------------ people


@login_required
@require_http_methods(["GET", "POST"])
def people(request):
    """The list: filters by area and name (GET); exact identity-number search (POST)."""
    user = request.user
    _require_registry(user)
    filters = PeopleFilterForm(request.GET or None, areas=residents.visible_areas(user))
    search = IdSearchForm(request.POST or None)
    qs = queries.visible_people(user).filter(anonymised_at=None).select_related("area", "household")
    status, searched = 200, False
    if request.method == "POST":
        if search.is_valid():
            qs = qs.filter(id_number_index=crypto.blind_index(search.cleaned_data["id_number"]))
            searched = True
            search = IdSearchForm()
        else:
            qs, status = qs.none(), 400
    elif request.GET and not filters.is_valid():
        qs, status = qs.none(), 400
    elif filters.is_bound:
        data = filters.cleaned_data
        if data["area"] is not None:
            qs = qs.filter(area__path__startswith=data["area"].path)
        if data["name"]:
            qs = qs.filter(name__icontains=data["name"].strip())
        if not data["closed"]:
            qs = qs.filter(closed_at=None)
    else:
        qs = qs.filter(closed_at=None)
    page = Paginator(qs.order_by("area__path", "name", "pk"), PER_PAGE).get_page(request.GET.get("page"))
    return private(render(request, "registries/residents/people.html", {
        "page": page, "filters": filters, "search": search, "searched": searched,
        "query": _query_without_page(request), "may_write": residents.writable_areas(user).exists(),
    }, status=status))


def _entries(user, person: Person) -> list[dict]:
    """The person's entries in other registries the viewer sees, as text (with a link when that
    part's page exists)."""
    found = []
    for kp in queries.visible(KeyPerson, user).filter(person=person).select_related("category")[:ENTRIES_SHOWN]:
        text = f"{kp.category} · {kp.get_level_display()}" + (f" · {_('已解除')}" if kp.ended_on else "")
        found.append({"registry": _("重点人员"), "text": text, "url": _url("registries:key_person", kp.pk)})
    for c in queries.visible(Correction, user).filter(person=person)[:ENTRIES_SHOWN]:
        found.append({"registry": _("社区矫正"), "text": f"{c.get_kind_display()} · {c.get_status_display()}",
                      "url": _url("registries:correction", c.pk)})
    if person.household_id:
        for n in queries.visible(NeedCase, user).filter(household_id=person.household_id)[:ENTRIES_SHOWN]:
            text = f"{n.get_level_display()} · {n.opened_on:%Y-%m-%d}" + (f" · {_('已脱困')}" if n.closed_on else "")
            found.append({"registry": _("困难帮扶"), "text": text, "url": _url("registries:need_case", n.pk)})
    for v in queries.visible(Visit, user).filter(person=person)[:ENTRIES_SHOWN]:
        found.append({"registry": _("走访日志"), "text": f"{v.get_purpose_display()} · {v.at:%Y-%m-%d}",
                      "url": _url("registries:visit", v.pk)})
    return found


@login_required
@require_GET
def person(request, pk):
    return _person_page(request, queries.get_visible_or_404(Person, request.user, pk=pk))


def _person_page(request, p: Person, *, account_form=None, status=200):
    user = request.user
    household = members = None
    if p.household_id and queries.visible(Household, user).filter(pk=p.household_id).exists():
        household = p.household
        members = queries.visible_people(user).filter(household=household, closed_at=None).exclude(pk=p.pk)
    stays = queries.visible(FloatingRegistration, user).filter(person=p).select_related("area")
    may_write = p.closed_at is None and p.anonymised_at is None and rules.can_write(user, Registry.RESIDENTS, p.area)
    return private(render(request, "registries/residents/person.html", {
        "person": p, "household": household, "members": members, "stays": stays, "entries": _entries(user, p),
        "may_write": may_write, "other_actions": _other_actions(user, p) if p.anonymised_at is None else [], "may_reveal": rules.may_reveal(user), "close_form": CloseForm(),
        "end_form": StayEndForm(), "account_form": account_form or AccountForm(),
    }, status=status))


def _other_actions(user, p: Person) -> list[tuple[str, str]]:
    """What the viewer may start about this person in the other registries (each page checks again)."""
    actions = []
    if p.closed_at is None:
        if rules.can_write(user, Registry.KEY_PERSONS, p.area):
            actions.append((reverse("registries:key_person_new") + f"?person={p.pk}", _("列为重点人员")))
        if rules.can_see(user, Registry.VISITS, p.area):
            actions.append((reverse("registries:visit_new") + f"?person={p.pk}", _("记录走访")))
        if rules.can_write(user, Registry.CORRECTIONS, p.area):
            actions.append((reverse("registries:correction_new") + f"?person={p.pk}", _("登记社区矫正")))
        if p.household_id and rules.can_write(user, Registry.ASSISTANCE, p.area):
            actions.append((reverse("registries:need_case_new") + f"?household={p.household_id}", _("困难帮扶建档")))
    if rules.may_request_export(user):
        actions.append((reverse("registries:subject_export_new") + f"?person={p.pk}", _("本人数据导出")))
    return actions


def _person_form_page(request, form, person=None, status=200):
    return private(render(request, "registries/residents/person_form.html",
                          {"form": form, "person": person}, status=status))


@login_required
@require_http_methods(["GET", "POST"])
def person_new(request):
    user = request.user
    areas = _writable(user)
    households = _households_for(user, areas)
    initial = {"residence": Person.Residence.REGISTERED}
    chosen = request.GET.get("household", "")
    if chosen.isdigit() and len(chosen) < 12:
        found = households.filter(pk=int(chosen)).first()
        if found is not None:
            initial.update(household=found, area=found.area)
    if request.method == "GET":
        return _person_form_page(request, PersonForm(areas=areas, households=households, initial=initial))
    form = PersonForm(request.POST, areas=areas, households=households)
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = residents.register_person(
                user, area=data["area"], name=data["name"], id_number=data["id_number"], gender=data["gender"],
                phone=data["phone"], address=data["address"], household=data["household"],
                relation=data["relation"], residence=data["residence"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("area", str(exc))
        else:
            messages.success(request, _("已登记：%(name)s") % {"name": created.name})
            return redirect("registries:person", pk=created.pk)
    return _person_form_page(request, form, status=400)


def _writable_person(user, pk) -> Person:
    p = queries.get_visible_or_404(Person, user, pk=pk)
    if p.anonymised_at is not None or not rules.can_write(user, Registry.RESIDENTS, p.area):
        raise PermissionDenied(_("您不能修改该人员"))
    return p


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk):
    user = request.user
    p = _writable_person(user, pk)
    areas = residents.writable_areas(user)
    households = _households_for(user, areas)
    if p.household_id:
        households = households | queries.visible(Household, user).filter(pk=p.household_id)
    initial = {"area": p.area, "name": p.name, "gender": p.gender, "household": p.household,
               "relation": p.relation, "residence": p.residence}  # sealed fields: never pre-filled
    if request.method == "GET":
        return _person_form_page(request, PersonForm(areas=areas, households=households, person=p,
                                                     initial=initial), p)
    form = PersonForm(request.POST, areas=areas, households=households, person=p, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                updated = residents.update_person(
                    user, p, name=data["name"], id_number=data["id_number"] or None, gender=data["gender"],
                    phone=data["phone"] or None, address=data["address"] or None, area=data["area"],
                    relation=data["relation"], residence=data["residence"])
                if data["household"] != updated.household:
                    residents.move_person(user, updated, data["household"], data["relation"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已保存"))
            return redirect("registries:person", pk=p.pk)
    return _person_form_page(request, form, p, status=400)


@login_required
@require_POST
def person_close(request, pk):
    user = request.user
    p = _writable_person(user, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择注销原因"))
        return redirect("registries:person", pk=p.pk)
    try:
        residents.close_person(user, p, form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已注销：%(name)s") % {"name": p.name})
    return redirect("registries:person", pk=p.pk)


@login_required
@require_POST
def person_account(request, pk):
    """Link an account to the person (found by username or phone) or, with ``unlink``, untie it."""
    user = request.user
    p = _writable_person(user, pk)
    if "unlink" in request.POST:
        residents.link_account(user, p, None)
        messages.success(request, _("已解除账号关联"))
        return redirect("registries:person", pk=p.pk)
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            residents.link_account(user, p, form.cleaned_data["account"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("账号已关联"))
            return redirect("registries:person", pk=p.pk)
    return _person_page(request, p, account_form=form, status=400)


# ------------------------------------------------------------------------------ households


@login_required
@require_GET
def households(request):
    user = request.user
    _require_registry(user)
    filters = HouseholdFilterForm(request.GET or None, areas=residents.visible_areas(user))
    qs = queries.visible(Household, user).filter(closed_at=None, anonymised_at=None).select_related("area")
    status = 200
    if filters.is_bound and not filters.is_valid():
        qs, status = qs.none(), 400
    elif filters.is_bound:
        if filters.cleaned_data["area"] is not None:
            qs = qs.filter(area__path__startswith=filters.cleaned_data["area"].path)
        if filters.cleaned_data["number"]:
            qs = qs.filter(number__icontains=filters.cleaned_data["number"].strip())
    qs = qs.annotate(member_count=Count("members", filter=Q(members__closed_at=None)))
    page = Paginator(qs.order_by("area__path", "number", "pk"), PER_PAGE).get_page(request.GET.get("page"))
    return private(render(request, "registries/residents/households.html", {
        "page": page, "filters": filters, "query": _query_without_page(request),
        "may_write": residents.writable_areas(user).exists()}, status=status))


@login_required
@require_GET
def household(request, pk):
    user = request.user
    h = queries.get_visible_or_404(Household, user, pk=pk)
    members = queries.visible_people(user).filter(household=h).order_by("closed_at", "pk")
    return private(render(request, "registries/residents/household.html", {
        "household": h, "members": members,
        "may_write": h.closed_at is None and rules.can_write(user, Registry.RESIDENTS, h.area)}))


@login_required
@require_http_methods(["GET", "POST"])
def household_new(request):
    user = request.user
    areas = _writable(user)
    form = HouseholdForm(request.POST or None, areas=areas)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created = residents.create_household(user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("area", str(exc))
            else:
                messages.success(request, _("已新建户"))
                return redirect("registries:household", pk=created.pk)
    return private(render(request, "registries/residents/household_form.html", {"form": form}, status=status))


# ------------------------------------------------------------------------------ stays


@login_required
@require_http_methods(["GET", "POST"])
def stay_new(request, pk):
    """流动人口登记: a person moves in."""
    user = request.user
    p = _writable_person(user, pk)
    areas = residents.writable_areas(user)
    form = StayForm(request.POST or None, areas=areas, initial={"area": p.area})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                residents.register_stay(user, p, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("area", str(exc))
            else:
                messages.success(request, _("已登记迁入"))
                return redirect("registries:person", pk=p.pk)
    return private(render(request, "registries/residents/stay_form.html", {"form": form, "person": p},
                          status=status))


@login_required
@require_POST
def stay_end(request, pk):
    """The person moved out of a stay."""
    user = request.user
    stay = queries.get_visible_or_404(FloatingRegistration, user, pk=pk)
    if not rules.can_write(user, Registry.RESIDENTS, stay.area):
        raise PermissionDenied(_("您不能修改该居住登记"))
    form = StayEndForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写迁出日期"))
    else:
        try:
            residents.end_stay(user, stay, form.cleaned_data["moved_out_on"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已登记迁出"))
    return redirect("registries:person", pk=stay.person_id)


# ------------------------------------------------------------------------------ import


def _digest(upload) -> str:
    sha = hashlib.sha256()
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


@login_required
@require_http_methods(["GET", "POST"])
def import_people(request):
    """Upload → dry run and its report → the same file again with ``commit`` and its SHA-256."""
    user = request.user
    _writable(user)
    if request.method == "GET":
        return private(render(request, "registries/residents/import.html", {"form": ImportForm()}))
    form = ImportForm(request.POST, request.FILES)
    report, confirm, status = None, False, 200
    if form.is_valid():
        upload = form.cleaned_data["file"]
        digest = _digest(upload)
        commit = form.cleaned_data["commit"] and form.cleaned_data["digest"] == digest
        if form.cleaned_data["commit"] and not commit:
            messages.warning(request, _("文件与试运行时的不同：已重新试运行，请核对结果后再确认导入。"))
        try:
            if upload.size > resident_import.MAX_BYTES:
                raise resident_import.ImportFileError(_("文件不能超过 %(mb)d MB") % {
                    "mb": resident_import.MAX_BYTES // (1024 * 1024)})
            report = resident_import.import_people(upload, actor=user, commit=commit, filename=upload.name)
        except resident_import.ImportFileError as exc:
            form.add_error("file", exc.messages)
        else:
            if report.committed:
                messages.success(request, report.summary())
                return redirect("registries:people")
            if report.ok:
                confirm = True
                form = ImportForm(initial={"commit": True, "digest": digest})
    if form.errors or (report is not None and not report.ok):
        status = 400
    return private(render(request, "registries/residents/import.html",
                          {"form": form, "report": report, "confirm": confirm}, status=status))
