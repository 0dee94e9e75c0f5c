"""The registries' shared pages: the index, the reveal door (a full view after a stated purpose) and
the access log. Each part has its own ``*_views.py``; all of them fetch through ``queries``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core.forms import add_service_errors

from . import access, queries, rules
from .crypto import sealed_fields
from .forms import PurposeForm
from .models import Registry

LOG_SHOWN = 100

#: each registry's pages on the index (url name, label); a part's pages appear once its URLs exist
PAGES = {
    Registry.RESIDENTS: [("registries:people", _("人员与户")), ("registries:import", _("导入"))],
    Registry.KEY_PERSONS: [("registries:key_persons", _("重点人员")), ("registries:key_persons_due", _("待走访"))],
    Registry.CORRECTIONS: [("registries:corrections", _("社区矫正对象")), ("registries:bases", _("矫正基地"))],
    Registry.ASSISTANCE: [("registries:need_cases", _("困难帮扶")), ("registries:relief_batches", _("物资发放")),
                          ("registries:need_map", _("帮扶地图"))],
    Registry.LEGAL: [("registries:legal", _("法律顾问与咨询")), ("registries:mediations", _("矛盾纠纷调解"))],
    Registry.VISITS: [("registries:visits", _("走访日志")), ("registries:visit_new", _("记录走访"))],
}


def _links(registry) -> list[tuple[str, str]]:
    links = []
    for name, label in PAGES.get(registry, []):
        try:
            links.append((reverse(name), label))
        except NoReverseMatch:
            continue
    return links


def private(response):
    """Pages with personal data are never cached (browser back button, shared proxies)."""
    add_never_cache_headers(response)
    response["Cache-Control"] += ", private"
    return response


@login_required
@require_GET
def index(request):
    registries = [(value, label, _links(value)) for value, label in Registry.choices
                  if rules.paths(request.user, value) != ()]
    if not registries:
        raise PermissionDenied
    return private(render(request, "registries/index.html", {
        "registries": registries, "may_reveal": rules.may_reveal(request.user), "exports": _exports(request.user)}))


def _exports(user) -> bool:
    """Show the exports tab to whoever may ask for or approve one."""
    return rules.may_request_export(user) or rules.may_approve_export(user)


@login_required
@require_http_methods(["GET", "POST"])
def reveal(request, kind: str, pk: int):
    """GET: the masked record and the purpose form. POST: the full values, once, logged."""
    model = access.REVEALABLE.get(kind)
    if model is None:
        raise Http404
    obj = queries.get_visible_or_404(model, request.user, pk=pk)
    if not rules.may_reveal(request.user):
        raise PermissionDenied
    form = PurposeForm(request.POST or None)
    shown = None
    log_row = None
    if request.method == "POST" and form.is_valid():
        try:
            log_row, shown = access.reveal(request.user, obj, purpose=form.cleaned_data["purpose"],
                                           reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
    masked = [(str(f.verbose_name), str(getattr(obj, f.attname))) for f in sealed_fields(model)]
    person = queries.person_of(obj)
    back = reverse("registries:person", args=[person.pk]) if person is not None else reverse("registries:index")
    return private(render(request, "registries/reveal.html", {
        "obj": obj, "kind": kind, "label": model._meta.verbose_name, "form": form, "masked": masked,
        "shown": shown, "log_row": log_row, "person": person, "back": back}))


@login_required
@require_GET
def access_log(request):
    """Who looked at what, and why: for officers who may reveal, about the people they see; for
    everyone else, their own full views."""
    rows = queries.access_log(request.user)
    person = None
    if request.GET.get("person"):
        person = queries.get_visible_or_404(queries.m.Person, request.user, pk=request.GET["person"])
        rows = rows.filter(person=person)
    return private(render(request, "registries/access_log.html", {
        "rows": rows[:LOG_SHOWN], "person": person, "exports": _exports(request.user)}))
