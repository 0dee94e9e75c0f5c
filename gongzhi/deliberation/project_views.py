"""Project pages (phone first): create a project with its three shares; the project page with the
shares, the statements (paged, with totals and an xlsx download), the progress timeline with photos,
the progress form (the phone's camera) and the two publications. Writes go through ``projects``.

Who may: the project page, its xlsx and its photos — whoever sees the project through
``queries.visible_projects`` (anyone else: 404); writes — managers of the area (progress: also staff
whose jurisdiction covers it); a refusal past the read door is a 403. Bad input re-renders the page
with a clear message (400; a state conflict 409).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.cases.forms import MultipleFileField, MultipleFileInput
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import add_service_errors

from . import projects, publicity, queries
from .models import Decision, Procedure, Project, ProjectPhoto

STATEMENTS_PER_PAGE = 50
MONEY = {"inputmode": "decimal", "autocomplete": "off"}


# ------------------------------------------------------------------------------------ forms


def _money(label) -> forms.CharField:
    return forms.CharField(label=label, max_length=20, widget=forms.TextInput(attrs=MONEY),
                           error_messages={"required": gettext_lazy("请填写金额")})


class ProjectForm(forms.Form):
    area = forms.ModelChoiceField(label=gettext_lazy("所属区域"), queryset=None,
                                  error_messages={"required": gettext_lazy("请选择所属区域"),
                                                  "invalid_choice": gettext_lazy("请选择您管理的区域")})
    title = forms.CharField(label=gettext_lazy("项目名称"), max_length=200,
                            error_messages={"required": gettext_lazy("请填写项目名称"),
                                            "max_length": gettext_lazy("项目名称不能超过 200 个字符")})
    decision = forms.ModelChoiceField(
        label=gettext_lazy("依据表决"), queryset=None, required=False,
        help_text=gettext_lazy("可选：已计票并通过的表决；分摊按该表决的名册计算"),
        error_messages={"invalid_choice": gettext_lazy("请选择已计票的表决")})
    procedure = forms.ModelChoiceField(
        label=gettext_lazy("依据议题（四议三公开）"), queryset=None, required=False,
        error_messages={"invalid_choice": gettext_lazy("请选择已形成决议的议题")})
    total_cost = _money(gettext_lazy("总费用（元）"))
    policy_funds = _money(gettext_lazy("政策资金（元）"))
    committee_funds = _money(gettext_lazy("集体/公共收益（元）"))
    owners_share = _money(gettext_lazy("受益业主分担（元）"))
    split = forms.ChoiceField(label=gettext_lazy("分摊方式"), choices=Project.Split.choices, initial=Project.Split.AREA,
                              widget=forms.RadioSelect, error_messages={"required": gettext_lazy("请选择分摊方式")})
    buildings = forms.CharField(label=gettext_lazy("受益楼栋"), required=False, max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=gettext_lazy("多个楼栋用逗号或顿号分隔；留空表示名册中的全部户"))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        areas = queries.manageable_areas(user)
        self.fields["area"].queryset = areas
        self.fields["decision"].queryset = (
            queries.visible_decisions(user).filter(area__in=areas)
            .filter(status__in=[Decision.Status.CLOSED, Decision.Status.PUBLISHED]).order_by("-created_at"))
        self.fields["procedure"].queryset = (
            queries.visible_procedures(user).filter(area__in=areas)
            .filter(status__in=[Procedure.Status.DECIDED, Procedure.Status.IMPLEMENTED]).order_by("-created_at"))


class ComputeForm(forms.Form):
    roll = forms.ModelChoiceField(label=gettext_lazy("受益户所在名册"), queryset=None, required=False,
                                  error_messages={"invalid_choice": gettext_lazy("请选择项目所在区域的名册")})

    def __init__(self, *args, user, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roll"].queryset = queries.visible_rolls(user).filter(
            area__path__startswith=project.area.path).order_by("name")


class UpdateForm(forms.Form):
    progress = forms.IntegerField(label=gettext_lazy("进度（%）"), min_value=0, max_value=100,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                                  error_messages={"required": gettext_lazy("请填写进度"),
                                                  "invalid": gettext_lazy("进度应为 0 到 100 之间的整数"),
                                                  "min_value": gettext_lazy("进度应为 0 到 100 之间的整数"),
                                                  "max_value": gettext_lazy("进度应为 0 到 100 之间的整数")})
    note = forms.CharField(label=gettext_lazy("进展情况"), max_length=projects.MAX_NOTE,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": gettext_lazy("请填写进展情况"),
                                           "max_length": gettext_lazy("进展情况不能超过 5000 个字符")})
    photos = MultipleFileField(label=gettext_lazy("现场照片"), required=False,
                               widget=MultipleFileInput(attrs={"accept": "image/*"}))


class PublishForm(forms.Form):
    channel = forms.CharField(label=gettext_lazy("公示渠道"), max_length=200,
                              initial=gettext_lazy("小区公告栏、平台公告"),
                              error_messages={"required": gettext_lazy("请填写公示渠道"),
                                              "max_length": gettext_lazy("公示渠道不能超过 200 个字符")})
    days = forms.IntegerField(label=gettext_lazy("公示天数"), min_value=1, max_value=publicity.MAX_DAYS, initial=7,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                              error_messages={"required": gettext_lazy("请填写公示天数"),
                                              "invalid": gettext_lazy("公示天数应为整数"),
                                              "min_value": gettext_lazy("公示期应为 1 到 366 天"),
                                              "max_value": gettext_lazy("公示期应为 1 到 366 天")})


# ------------------------------------------------------------------------------------ helpers


def _get(user, pk) -> Project:
    return queries.one_or_404(queries.visible_projects(user).select_related("procedure", "decision__roll"), pk)


def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _must_manage(user, project: Project) -> None:
    """Refuse before reading the form, so a non-manager gets 403 whatever they post."""
    if not projects.may_manage(user, project):
        raise PermissionDenied(_("您不能管理该项目"))


def _status(exc: ValidationError) -> int:
    return 409 if isinstance(exc, Conflict) else 400


def _shares(project: Project) -> list[dict]:
    rows = []
    for field in projects.SHARE_FIELDS:
        amount = getattr(project, field)
        percent = (amount * 100 / project.total_cost).quantize(projects.FEN) if project.total_cost else None
        rows.append({"field": field, "label": Project._meta.get_field(field).verbose_name, "amount": amount,
                     "percent": percent})
    return rows


def _page(request, project: Project, *, compute_form=None, update_form=None, statement_form=None,
          implementation_form=None, status: int = 200):
    user = request.user
    manages = projects.may_manage(user, project)
    statements = project.statements.select_related("unit").order_by("unit__building", "unit__code")
    page = Paginator(statements, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    updates = list(project.updates.select_related("by").prefetch_related("photos").order_by("-at", "-pk"))
    publications = list(project.publications.order_by("-published_at"))
    totals = projects.totals(project)
    for publication in publications:
        publication.verified = publicity.verify(publication)
    return render(request, "deliberation/project.html", {
        "project": project,
        "shares": _shares(project),
        "page": page,
        "totals": totals,
        "zero_area": projects.zero_area_statements(project).count(),
        "roll": projects.statement_roll(project),
        "updates": updates,
        "publications": publications,
        "manages": manages,
        "may_report": projects.may_report(user, project) and project.status != Project.Status.DONE,
        "may_compute": manages and project.status == Project.Status.PLANNED,
        "show_statement_publish": manages and (totals["count"] or statement_form is not None),
        "show_implementation_publish": manages and (project.status == Project.Status.DONE
                                                    or implementation_form is not None),
        "compute_form": compute_form or ComputeForm(user=user, project=project),
        "update_form": update_form or UpdateForm(initial={"progress": project.progress}),
        "statement_form": statement_form or PublishForm(prefix="statement"),
        "implementation_form": implementation_form or PublishForm(prefix="implementation"),
        "decision_url": _url_or_none("deliberation:decision", project.decision_id) if project.decision_id else None,
        "procedure_url": (_url_or_none("deliberation:procedure", project.procedure_id)
                          if project.procedure_id else None),
    }, status=status)


# ------------------------------------------------------------------------------------ views


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    user = request.user
    if not queries.manageable_areas(user).exists():
        raise PermissionDenied(_("只有区域管理人员可以建立项目"))
    initial = {}
    for key in ("area", "decision", "procedure"):
        value = request.GET.get(key, "")
        if value.isdigit() and len(value) < 12:
            initial[key] = int(value)
    form = ProjectForm(request.POST or None, user=user, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                project = projects.create_project(actor=user, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("已建立项目“%(title)s”") % {"title": project.title})
                return redirect("deliberation:project", pk=project.pk)
    return render(request, "deliberation/project_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request, pk):
    user = request.user
    project = _get(user, pk)
    _must_manage(user, project)
    if project.status != Project.Status.PLANNED:
        messages.warning(request, _("项目已开始实施，不能再修改"))
        return redirect("deliberation:project", pk=project.pk)
    initial = {name: getattr(project, name) for name in (
        "area", "title", "decision", "procedure", "total_cost", "policy_funds", "committee_funds", "owners_share",
        "split")}
    initial["buildings"] = "、".join(project.buildings)
    form = ProjectForm(request.POST or None, user=user, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            had = project.statements.exists()
            try:
                project = projects.update_project(project, actor=user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("项目已修改"))
                if had and not project.statements.exists():
                    messages.warning(request, _("分摊依据已改变，原分摊明细已删除，请重新计算"))
                return redirect("deliberation:project", pk=project.pk)
    return render(request, "deliberation/project_form.html", {"form": form, "project": project}, status=status)


@login_required
@require_GET
def project_detail(request, pk):
    return _page(request, _get(request.user, pk))


@login_required
@require_POST
def project_compute(request, pk):
    project = _get(request.user, pk)
    _must_manage(request.user, project)
    form = ComputeForm(request.POST, user=request.user, project=project)
    if not form.is_valid():
        return _page(request, project, compute_form=form, status=400)
    try:
        statements = projects.compute_statements(project, actor=request.user, roll=form.cleaned_data.get("roll"))
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _page(request, project, compute_form=form, status=_status(exc))
    messages.success(request, _("已计算 %(n)s 户的分摊金额") % {"n": len(statements)})
    zero = sum(1 for s in statements if s.floor_area == 0) if project.split == Project.Split.AREA else 0
    if zero:
        messages.warning(request, _("其中 %(n)s 户建筑面积为 0，按面积分摊金额为 0 元，请核对名册") % {"n": zero})
    return redirect(reverse("deliberation:project", args=[project.pk]) + "#statements")


@login_required
@require_GET
def project_xlsx(request, pk):
    project = _get(request.user, pk)
    response = HttpResponse(projects.statement_xlsx(project),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}-statements.xlsx"'
    return response


@login_required
@require_POST
def project_update(request, pk):
    project = _get(request.user, pk)
    if not projects.may_report(request.user, project):
        raise PermissionDenied(_("您不能填报该项目的进展"))
    form = UpdateForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, project, update_form=form, status=400)
    try:
        projects.add_update(project, actor=request.user, note=form.cleaned_data["note"],
                            progress=form.cleaned_data["progress"], photos=form.cleaned_data["photos"])
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _page(request, project, update_form=form, status=_status(exc))
    project.refresh_from_db(fields=["status", "progress"])
    if project.status == Project.Status.DONE:
        messages.success(request, _("进展已记录，项目已完成，可以公开实施结果"))
    else:
        messages.success(request, _("进展已记录"))
    return redirect(reverse("deliberation:project", args=[project.pk]) + "#progress")


def _publish(request, pk, kind: str):
    project = _get(request.user, pk)
    _must_manage(request.user, project)
    form = PublishForm(request.POST, prefix=kind)
    key = f"{kind}_form"
    if not form.is_valid():
        return _page(request, project, **{key: form}, status=400)
    publish = projects.publish_statement if kind == "statement" else projects.publish_implementation
    try:
        publication = publish(project, actor=request.user, channel=form.cleaned_data["channel"],
                              days=form.cleaned_data["days"])
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _page(request, project, **{key: form}, status=_status(exc))
    messages.success(request, _("已发布“%(title)s”，公示至 %(end)s") % {
        "title": publication.title, "end": publication.ends_on.isoformat()})
    return redirect(reverse("deliberation:project", args=[project.pk]) + "#publications")


@login_required
@require_POST
def project_publish_statement(request, pk):
    return _publish(request, pk, "statement")


@login_required
@require_POST
def project_publish_implementation(request, pk):
    return _publish(request, pk, "implementation")


@login_required
@require_GET
def project_photo(request, pk, photo_id):
    from gongzhi.cases.photos import photo_response

    project = _get(request.user, pk)
    photo = queries.one_or_404(ProjectPhoto.objects.filter(update__project=project), photo_id)
    return photo_response(photo.image)



@login_required
@require_GET
def my_statements(request):
    """我家的分摊: the user's household statements (as a member of a roll), whatever their role."""
    rows = list(queries.my_statements(request.user)[:200])
    return render(request, "deliberation/statement_mine.html", {"rows": rows})
