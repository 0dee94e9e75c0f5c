"""Pages of the voter rolls: the list (staff whose jurisdiction covers an area; managers get the upload
form), a roll's units and members (phone numbers masked for everyone but its managers), the upload
with its dry run and confirmation, deletion, and the xlsx template.

The upload is checked first (dry run, ``rolls.import_roll`` without ``commit``); the preview page
asks for the same file again with ``commit`` and the SHA-256 of the previewed file: a different file
gets a new dry run instead of being written. Nothing is kept on the server between the two posts.
"""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction

from . import queries, rolls
from .models import Decision, Member, Unit, VoterRoll

ROLLS_PER_PAGE = 50
UNITS_PER_PAGE = 50


class RollUploadForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=gettext_lazy("所属区域"))
    name = forms.CharField(label=gettext_lazy("名册名称"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=VoterRoll.Kind.choices)
    file = forms.FileField(label=gettext_lazy("名册文件（xlsx 或 CSV，不超过 5 MB）"))
    commit = forms.BooleanField(required=False, widget=forms.HiddenInput)
    digest = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, areas=None, roll: VoterRoll | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if roll is not None:
            del self.fields["area"]  # a roll stays in its area
        else:
            self.fields["area"].queryset = areas


def mask_phone(phone: str) -> str:
    """138****0001: enough to tell two members apart, not enough to call them."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else ("*" * len(phone))


def decision_url(decision: Decision) -> str:
    """A decision's page, when the votes pages that define it are there."""
    try:
        return reverse("deliberation:decision", args=[decision.pk])
    except NoReverseMatch:
        return ""


def _check_staff(user) -> None:
    """The roll pages are for those who work in an area (a roll holds names and phone numbers)."""
    if jurisdiction(user).empty and not queries.manageable_areas(user).exists():
        raise PermissionDenied(_("表决名册仅供工作人员查看"))


def _with_counts(qs):
    area = Unit.objects.filter(roll=OuterRef("pk")).values("roll").annotate(s=Sum("floor_area")).values("s")
    members = Member.objects.filter(roll=OuterRef("pk")).values("roll").annotate(n=Count("pk")).values("n")
    zero = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))
    return qs.annotate(unit_count=Count("units"), member_count=Coalesce(Subquery(members), 0),
                       total_area=Coalesce(Subquery(area), zero))


@login_required
@require_GET
def roll_list(request):
    user = request.user
    _check_staff(user)
    areas = queries.manageable_areas(user)
    page = Paginator(_with_counts(queries.visible_rolls(user)).order_by("area__path", "name"),
                     ROLLS_PER_PAGE).get_page(request.GET.get("page"))
    may_upload = areas.exists()
    return render(request, "deliberation/roll_list.html", {
        "page": page, "may_upload": may_upload,
        "form": RollUploadForm(areas=areas, initial={"kind": VoterRoll.Kind.OWNERS}) if may_upload else None,
    })


@login_required
@require_GET
def roll_detail(request, pk):
    user = request.user
    roll = queries.one_or_404(queries.visible_rolls(user), pk)
    manager = queries.can_manage(user, roll.area)
    page = Paginator(roll.units.prefetch_related("members").order_by("building", "code"),
                     UNITS_PER_PAGE).get_page(request.GET.get("page"))
    for unit in page.object_list:
        for member in unit.members.all():
            member.shown_phone = member.phone if manager else mask_phone(member.phone)
    totals = roll.units.aggregate(units=Count("pk"), area=Sum("floor_area"))
    decisions = queries.visible_decisions(user).filter(roll=roll).order_by("-created_at")
    if manager:  # phone numbers in clear: a read of personal data leaves a row (ARCHITECTURE pattern 3)
        audit.record(user, "deliberation.view_roll", roll, note=f"page {page.number}")
    return render(request, "deliberation/roll_detail.html", {
        "roll": roll, "page": page, "manager": manager,
        "decisions": [(d, decision_url(d)) for d in decisions[:20]],
        "in_use": Decision.objects.filter(roll=roll).exists(),
        "open": Decision.objects.filter(roll=roll, status=Decision.Status.OPEN).exists(),
        "totals": {"units": totals["units"], "area": totals["area"] or 0,
                   "members": roll.members.count(), "adults": roll.members.filter(is_adult=True).count()},
    })


def _digest(upload) -> str:
    sha = hashlib.sha256()
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


@login_required
@require_http_methods(["GET", "POST"])
def roll_upload(request, pk=None):
    """A new roll (``pk`` None) or the replacement of a roll's units and members."""
    user = request.user
    roll = None
    if pk is not None:
        roll = queries.one_or_404(queries.visible_rolls(user), pk)
        if not queries.can_manage(user, roll.area):
            raise PermissionDenied(_("您不能导入该名册"))
    areas = queries.manageable_areas(user)
    if roll is None and not areas.exists():
        raise PermissionDenied(_("您不能导入表决名册"))
    initial = {"name": roll.name, "kind": roll.kind} if roll else {"kind": VoterRoll.Kind.OWNERS}
    if request.method == "GET":
        form = RollUploadForm(areas=areas, roll=roll, initial=initial)
        return render(request, "deliberation/roll_upload.html", {"form": form, "roll": roll})
    form = RollUploadForm(request.POST, request.FILES, areas=areas, roll=roll)
    report, status, confirm = None, 200, False
    if form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        digest = _digest(upload)
        commit = data["commit"] and data["digest"] == digest
        if data["commit"] and not commit:
            messages.warning(request, _("文件与试运行时的不同：已重新试运行，请核对结果后再确认导入。"))
        try:
            if upload.size > rolls.MAX_BYTES:
                raise rolls.RollFileError(_("文件不能超过 %(mb)d MB") % {"mb": rolls.MAX_BYTES // (1024 * 1024)})
            report = rolls.import_roll(upload, actor=user, area=roll.area if roll else data["area"], name=data["name"],
                                       kind=data["kind"], roll=roll, commit=commit, filename=upload.name)
        except rolls.RollFileError as exc:
            form.add_error("file", exc.messages)
        except Conflict as exc:
            add_service_errors(form, exc)
            status = 409
        except PermissionDenied:
            form.add_error("area" if roll is None else None, _("您不能在该区域导入表决名册"))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if report.committed:
                messages.success(request, report.summary())
                return redirect("deliberation:roll", pk=report.roll.pk)
            if report.ok:  # the preview: ask for the same file again, with commit
                confirm = True
                form = RollUploadForm(areas=areas, roll=roll, initial={
                    **{k: v for k, v in data.items() if k in ("area", "name", "kind")}, "commit": True,
                    "digest": digest})
    if form.errors or (report is not None and not report.ok):
        status = 409 if status == 409 else 400
    return render(request, "deliberation/roll_upload.html",
                  {"form": form, "roll": roll, "report": report, "confirm": confirm}, status=status)


@login_required
@require_POST
def roll_delete(request, pk):
    roll = queries.one_or_404(queries.visible_rolls(request.user), pk)
    try:
        rolls.delete_roll(roll, actor=request.user)
    except Conflict as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("deliberation:roll", pk=roll.pk)
    messages.success(request, _("已删除名册“%(name)s”") % {"name": roll.name})
    return redirect("deliberation:rolls")


@login_required
@require_GET
def roll_template(request):
    _check_staff(request.user)
    response = HttpResponse(rolls.roll_template(), content_type=rolls.XLSX)
    response["Content-Disposition"] = 'attachment; filename="voter-roll-template.xlsx"'
    return response
