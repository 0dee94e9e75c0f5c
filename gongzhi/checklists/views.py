"""Checklist pages: the list, uploading a version (refused with sheet, cell and reason), a version's
items, activating it, and trying the form on a phone (answers are checked on the server and the
items that would fail are shown; nothing is stored)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.scoping import jurisdiction

from . import rendering, services
from .forms import UploadForm
from .models import Checklist, ChecklistVersion
from .xlsform import WorkbookError, pick_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _check_view(user) -> None:
    """Checklists are not secret, but they are working documents: staff with a jurisdiction see them."""
    if not (services.can_manage(user) or not jurisdiction(user).empty):
        raise PermissionDenied(_("没有查看检查表的权限"))


def _version(pk: int) -> ChecklistVersion:
    version = ChecklistVersion.objects.select_related("checklist").filter(pk=pk).first()
    if version is None:
        raise Http404
    return version


@login_required
@require_GET
def index(request):
    _check_view(request.user)
    checklists = Checklist.objects.prefetch_related("versions")
    return render(request, "checklists/index.html", {"checklists": checklists,
                                                     "can_manage": services.can_manage(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    if not services.can_manage(request.user):
        raise PermissionDenied(_("没有管理检查表的权限"))
    form = UploadForm(request.POST or None, request.FILES or None)
    workbook_errors = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload_file = data["file"]
        try:
            with transaction.atomic():
                checklist = data["checklist"] or services.create_checklist(
                    actor=request.user, code=data["code"], name=data["name"])
                version = services.upload_version(checklist, upload_file.read(), actor=request.user,
                                                  filename=upload_file.name)
        except WorkbookError as exc:
            workbook_errors = exc.errors
        except ValidationError as exc:
            for field, msgs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                for msg in msgs:
                    form.add_error(field if field in form.fields else None, msg)
        else:
            messages.success(request, _("已上传并校验通过：%(version)s（尚未启用）") % {"version": version})
            return redirect("checklists:version", pk=version.pk)
    return render(request, "checklists/upload.html", {"form": form, "workbook_errors": workbook_errors})


@login_required
@require_GET
def version_detail(request, pk: int):
    _check_view(request.user)
    version = _version(pk)
    items = [{"name": q["name"], "label": pick_label(q.get("label")), "department": q["department"],
              "severity": q.get("severity"), "days": q.get("rectification_days"), "legal_basis": q.get("legal_basis")}
             for q in services.items(version)]
    return render(request, "checklists/version.html", {
        "version": version, "items": items, "can_manage": services.can_manage(request.user),
        "questions": len(version.form.questions)})


@login_required
@require_POST
def activate(request, pk: int):
    if not services.can_manage(request.user):
        raise PermissionDenied(_("没有管理检查表的权限"))
    version = _version(pk)
    try:
        services.activate_version(version, actor=request.user)
        messages.success(request, _("已启用 %(version)s") % {"version": version})
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("checklists:version", pk=version.pk)


@login_required
@require_GET
def download(request, pk: int):
    _check_view(request.user)
    version = _version(pk)
    response = HttpResponse(bytes(version.source), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{version.checklist.code}-v{version.number}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def try_form(request, pk: int):
    """Fill the checklist as an inspector would; the server checks it and lists the failing items."""
    _check_view(request.user)
    version = _version(pk)
    answers, errors, failed, checked = {}, {}, [], False
    if request.method == "POST":
        answers = rendering.answers_from_post(version, request.POST, request.FILES)
        _cleaned, errors = services.validate_answers(version, answers)
        checked = True
        if not errors:
            failed = services.failed_items(version, answers)
    return render(request, "checklists/try.html", {
        "version": version, "rows": rendering.form_rows(version, answers, errors), "errors": errors,
        "failed": failed, "checked": checked})
