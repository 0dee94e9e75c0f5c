"""Phone-first pages for 双向共评: the list, a project's scoring sheet and result, a selection's
nominations, vote and published result. Reads through ``visible_to``, writes through ``services``."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import get_visible_or_404
from gongzhi.orgs.models import User

from . import scoring, services
from .forms import InviteForm, ProjectForm, SelectionForm
from .models import Party, Project, Selection, Sheet, Vote


def _errors(exc: ValidationError) -> str:
    return "；".join(exc.messages)


@login_required
@require_GET
def index(request):
    user = request.user
    return render(request, "appraisal/index.html", {
        "projects": Project.objects.visible_to(user).select_related("area")[:50],
        "selections": Selection.objects.visible_to(user).select_related("area")[:50],
        "may_organise": services.organised_areas(user).exists(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def new_project(request):
    areas = services.organised_areas(request.user).order_by("path")
    if not areas.exists():
        raise PermissionDenied(_("您不能组织评议"))
    form = ProjectForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.create_project(actor=request.user, area=data["area"], title=data["title"],
                                              description=data["description"], items=data["items"],
                                              weights=form.weights(), public=data["public"])
        except PermissionDenied:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("项目已创建，邀请评议人后即可开始评分"))
            return redirect("appraisal:project", pk=created.pk)
    return render(request, "appraisal/new.html", {"form": form, "heading": _("新建评分项目")})


@login_required
@require_http_methods(["GET", "POST"])
def new_selection(request):
    areas = services.organised_areas(request.user).order_by("path")
    if not areas.exists():
        raise PermissionDenied(_("您不能组织评议"))
    form = SelectionForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.create_selection(
                actor=request.user, area=data["area"], title=data["title"], description=data["description"],
                winners=data["winners"], publicity_days=data["publicity_days"], public=data["public"])
        except PermissionDenied:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("评选已创建，现在可以推荐"))
            return redirect("appraisal:selection", pk=created.pk)
    return render(request, "appraisal/new.html", {"form": form, "heading": _("新建评选活动")})


@login_required
@require_POST
def invite(request, pk: int):
    project = _project(request, pk)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写评议人和评议方"))
        return redirect("appraisal:project", pk=project.pk)
    text = form.cleaned_data["person"].strip()
    person = User.objects.filter(is_active=True).filter(username=text).first() or User.objects.filter(
        is_active=True, phone=text).first()
    try:
        if person is None:
            raise ValidationError(_("找不到用户“%(name)s”") % {"name": text})
        services.invite_evaluator(project, actor=request.user, user=person, party=form.cleaned_data["party"])
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("已邀请 %(name)s") % {"name": person})
    return redirect("appraisal:project", pk=project.pk)


def _project(request, pk) -> Project:
    return get_visible_or_404(Project.objects.select_related("area"), request.user, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def project(request, pk: int):
    project = _project(request, pk)
    user = request.user
    items = list(project.items.all())
    mine = Sheet.objects.filter(project=project, scorer=user).first()
    party = services.party_of(project, user)
    errors, given = {}, {}
    if request.method == "POST":
        given = {str(item.pk): request.POST.get(f"item_{item.pk}", "") for item in items}
        try:
            services.submit_sheet(project, actor=user, scores=given, comment=request.POST.get("comment", ""))
        except PermissionDenied:
            raise
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and not isinstance(exc, services.Conflict):
                errors = {k: v[0] for k, v in exc.message_dict.items()}
            else:
                messages.error(request, _errors(exc))
                return redirect("appraisal:project", pk=project.pk)
        else:
            messages.success(request, _("评分表已提交，谢谢您的参与"))
            return redirect("appraisal:project", pk=project.pk)
    organiser = services.can_organise(user, project.area)
    rows = [(item, given.get(str(item.pk), ""), errors.get(f"item_{item.pk}", "")) for item in items]
    result = scoring.project_result(project) if organiser or project.status == Project.Status.CLOSED else None
    return render(request, "appraisal/project.html", {
        "project": project, "rows": rows, "mine": mine, "party": party,
        "party_label": Party(party).label if party else "",
        "may_score": project.status == Project.Status.OPEN and mine is None and party is not None,
        "organiser": organiser, "result": result,
        "weighted": scoring.rounded(result.weighted) if result else None,
        "percent": scoring.rounded(result.percent) if result else None,
        "max_total": scoring.rounded(result.max_total) if result else None,
        "parties": [(p, scoring.rounded(p.mean)) for p in result.parties] if result else [],
        "evaluators": project.evaluators.select_related("user") if organiser else [],
        "invite_form": InviteForm() if organiser and project.status != Project.Status.CLOSED else None,
    })


@login_required
@require_POST
def project_action(request, pk: int, action: str):
    project = _project(request, pk)
    act = {"open": services.open_project, "close": services.close_project}.get(action)
    if act is None:
        raise Http404
    try:
        act(project, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("已更新"))
    return redirect("appraisal:project", pk=project.pk)


def _selection(request, pk) -> Selection:
    return get_visible_or_404(Selection.objects.select_related("area"), request.user, pk=pk)


@login_required
@require_GET
def selection(request, pk: int):
    sel = _selection(request, pk)
    user = request.user
    my_vote = Vote.objects.filter(selection=sel, voter=user).select_related("nomination").first()
    organiser = services.can_organise(user, sel.area)
    counts = services.tally(sel) if organiser or sel.status == Selection.Status.PUBLISHED else []
    return render(request, "appraisal/selection.html", {
        "selection": sel, "nominations": sel.nominations.all(), "my_vote": my_vote, "organiser": organiser,
        "voting_open": sel.voting_open(), "counts": counts,
        "publicity_over": sel.publicity_ends_at is not None and sel.publicity_ends_at <= timezone.now(),
        "default_close": (timezone.localtime() + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
    })


def _selection_post(request, pk: int, act, done: str):
    sel = _selection(request, pk)
    try:
        act(sel)
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, done)
    return redirect("appraisal:selection", pk=sel.pk)


@login_required
@require_POST
def nominate(request, pk: int):
    return _selection_post(request, pk, lambda sel: services.nominate(
        sel, actor=request.user, name=request.POST.get("name", ""), reasons=request.POST.get("reasons", "")),
        _("推荐已提交"))


@login_required
@require_POST
def vote(request, pk: int):
    def act(sel):
        nomination = sel.nominations.filter(pk=request.POST.get("nomination") or 0).first() if str(
            request.POST.get("nomination", "")).isdigit() else None
        if nomination is None:
            raise ValidationError(_("请选择一个推荐对象"))
        services.cast_vote(sel, actor=request.user, nomination=nomination)
    return _selection_post(request, pk, act, _("投票成功"))


@login_required
@require_POST
def open_voting(request, pk: int):
    def act(sel):
        closes = parse_datetime(request.POST.get("closes_at", "") or "")
        if closes is None:
            raise ValidationError(_("请填写投票截止时间"))
        if timezone.is_naive(closes):
            closes = timezone.make_aware(closes)
        services.open_voting(sel, actor=request.user, closes_at=closes)
    return _selection_post(request, pk, act, _("投票已开始"))


@login_required
@require_POST
def publish(request, pk: int):
    return _selection_post(request, pk, lambda sel: services.publish_result(sel, actor=request.user),
                           _("结果已公布，进入公示期"))
