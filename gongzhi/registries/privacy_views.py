"""Export pages (docs/registries.md#exports): my requests and those I may decide, a new request
(a registry over an area, or one person's own data on their request), the decision, the download.
The service rules live in ``exports.py``; these pages only show and forward."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors

from . import exports, queries, rules
from .models import AccessLog, Person, Registry
from .views import private

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _areas_for(user):
    """Areas where the user sees at least one registry (the choices of an export's scope)."""
    found: set[str] = set()
    for registry in Registry.values:
        area_paths = rules.paths(user, registry)
        if area_paths is None:
            return Area.objects.order_by("path")
        found.update(area_paths)
    if not found:
        return Area.objects.none()
    from django.db.models import Q

    q = Q(pk__in=[])
    for path in found:
        q |= Q(path__startswith=path)
    return Area.objects.filter(q).order_by("path")


class ExportForm(forms.Form):
    registry = forms.ChoiceField(label=gettext_lazy("台账"), choices=Registry.choices)
    area = forms.ModelChoiceField(label=gettext_lazy("范围"), queryset=Area.objects.none())
    purpose = forms.ChoiceField(label=gettext_lazy("用途"), choices=[("", "—")] + [
        c for c in AccessLog.Purpose.choices if c[0] != AccessLog.Purpose.SUBJECT])
    reason = forms.CharField(label=gettext_lazy("用途说明"), max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = _areas_for(user)


class SubjectExportForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("申请情况说明"), max_length=200, widget=forms.TextInput(
        attrs={"placeholder": gettext_lazy("例如：本人于今日到社区书面申请导出个人信息")}))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    note = forms.CharField(max_length=200, required=False)


def _may_use_exports(user) -> bool:
    return rules.may_request_export(user) or rules.may_approve_export(user)


@login_required
@require_GET
def export_list(request):
    if not _may_use_exports(request.user):
        raise PermissionDenied
    mine, to_decide = exports.visible_requests(request.user)
    return private(render(request, "registries/privacy/exports.html", {
        "mine": mine, "to_decide": to_decide, "may_request": rules.may_request_export(request.user),
        "may_approve": rules.may_approve_export(request.user)}))


@login_required
@require_http_methods(["GET", "POST"])
def export_new(request):
    if not rules.may_request_export(request.user):
        raise PermissionDenied
    form = ExportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            exports.request_export(request.user, registry=data["registry"], area=data["area"],
                                   purpose=data["purpose"], reason=data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("导出申请已提交，须由另一名有审批权限的人员批准。"))
            return redirect("registries:exports")
    return private(render(request, "registries/privacy/export_new.html", {"form": form}))


@login_required
@require_http_methods(["GET", "POST"])
def subject_export_new(request):
    """A person's own data, exported for them on their request (?person=<pk>)."""
    person = queries.get_visible_or_404(Person, request.user,
                                        pk=request.GET.get("person") or request.POST.get("person"))
    if not rules.may_request_export(request.user):
        raise PermissionDenied
    form = SubjectExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exports.request_export(request.user, registry=Registry.RESIDENTS, area=person.area,
                                   purpose=AccessLog.Purpose.SUBJECT, reason=form.cleaned_data["reason"],
                                   person=person)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("本人数据导出申请已提交，须由另一名有审批权限的人员批准。"))
            return redirect("registries:exports")
    return private(render(request, "registries/privacy/subject_export_new.html", {
        "form": form, "person": person}))


@login_required
@require_POST
def export_decide(request, pk: int):
    export = exports.get_for(request.user, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择批准或驳回"))
        return redirect("registries:exports")
    try:
        exports.decide(request.user, export, approve=form.cleaned_data["decision"] == "approve",
                       note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已批准，申请人可在 24 小时内下载一次。") if form.cleaned_data["decision"] == "approve"
                         else _("已驳回该导出申请。"))
    return redirect("registries:exports")


@login_required
@require_POST
def export_download(request, pk: int):
    export = exports.get_for(request.user, pk)
    try:
        filename, content = exports.download(request.user, export)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("registries:exports")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return private(response)
