"""Follow-up pages (phone first): open hazards by department, a hazard's timeline, overdue
rectifications, repeat offenders, re-inspections (回头看) and their form, a finding outside the
premises → a case, joint meetings (联席会议). Reads go through ``queries`` (not yours = 404), writes
through ``followup`` and ``meetings`` (who may is checked there; bad input = form errors in Chinese,
nothing stored). No inline script or style (CSP): ``static/inspections/followup.css``.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.errors import Conflict
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction
from gongzhi.orgs.models import Department

from . import followup, meetings, queries
from .models import Hazard, Meeting, Reinspection, VisitFinding


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 2**62 else None


def _check_pages(user) -> None:
    """The follow-up lists are for those who work in an area, department staff and team members."""
    scope = jurisdiction(user)
    if scope.empty and not scope.department_ids and not queries.station_paths(user):
        raise PermissionDenied(_("联合检查页面仅供工作人员和检查小组成员使用"))


def _categories():
    from gongzhi.cases.views import active_categories

    return active_categories()


def _labelled(hazards, names=None) -> list[Hazard]:
    names = followup.step_names() if names is None else names
    hazards = list(hazards)
    for hazard in hazards:
        hazard.status_label = followup.status_label(hazard, names)
    return hazards


# --------------------------------------------------------------------------------------------
# Hazards
# --------------------------------------------------------------------------------------------


def _hazard_filters(request) -> queries.HazardFilters:
    g = request.GET
    status = g.get("status", "")
    severity = g.get("severity", "")
    return queries.HazardFilters(department=_int(g.get("department")),
                                 status=status if status in Hazard.Status.values else "",
                                 severity=severity if severity in Hazard.Severity.values else "")


@login_required
@require_GET
def hazards(request):
    _check_pages(request.user)
    filters = _hazard_filters(request)
    counts = queries.counts_by_department(request.user, queries.HazardFilters(severity=filters.severity))
    page = Paginator(queries.hazards(request.user, filters), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "inspections/hazards.html", {
        "filters": filters, "counts": counts, "page": page, "items": _labelled(page.object_list),
        "statuses": Hazard.Status.choices, "severities": Hazard.Severity.choices, "query": params.urlencode(),
        "now": timezone.now(),
    })


@login_required
@require_GET
def hazard(request, pk: int):
    item = queries.get_hazard(request.user, pk)
    names = followup.step_names()
    notices = list(item.notices.select_related("department").prefetch_related("reinspections"))
    step = followup.next_step(item) if item.status in followup.ACTIVE else None
    return render(request, "inspections/hazard.html", {
        "hazard": _labelled([item], names)[0], "events": queries.timeline(item), "notices": notices, "names": names,
        "next_step": step, "can_escalate": step is not None and followup.can_escalate(request.user, item),
        "is_repeat": item.earlier_failures + 1 >= settings.INSPECTIONS_REPEAT_FAILURES,
        "now": timezone.now(),
    })


@login_required
@require_POST
def hazard_escalate(request, pk: int):
    item = queries.get_hazard(request.user, pk)
    try:
        done = followup.escalate(actor=request.user, hazard=item, note=(request.POST.get("note") or "")[:2000])
    except ValidationError as exc:  # Conflict included: someone acted first, or the top of the ladder
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已升级：%(step)s") % {"step": followup.step_names().get(done.escalation_level, "")})
    return redirect("inspections:hazard", pk=item.pk)


@login_required
@require_GET
def overdue(request):
    _check_pages(request.user)
    now = timezone.now()
    return render(request, "inspections/overdue.html", {
        "hazards": _labelled(queries.overdue_hazards(request.user, now)[:200]),
        "reinspections": queries.overdue_reinspections(request.user, now)[:200], "now": now,
    })


@login_required
@require_GET
def repeat(request):
    _check_pages(request.user)
    return render(request, "inspections/repeat.html", {
        "rows": queries.repeat_offenders(request.user), "threshold": settings.INSPECTIONS_REPEAT_FAILURES,
    })


# --------------------------------------------------------------------------------------------
# Re-inspections
# --------------------------------------------------------------------------------------------


@login_required
@require_GET
def reinspections(request):
    _check_pages(request.user)
    page = Paginator(queries.due_reinspections(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "inspections/reinspections.html", {"page": page, "now": timezone.now()})


@login_required
@require_http_methods(["GET", "POST"])
def reinspection(request, pk: int):
    item = queries.get_reinspection(request.user, pk)
    notice = item.notice
    errors: list[str] = []
    status = 200
    chosen: set[str] = set()
    if request.method == "POST":
        chosen = set(request.POST.getlist("fixed"))
        try:
            followup.reinspect(actor=request.user, reinspection=item, fixed=request.POST.getlist("fixed"),
                               note=request.POST.get("note") or "")
        except Conflict as exc:
            errors, status = exc.messages, 409
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, _("复查结果已提交"))
            return redirect("inspections:reinspection", pk=item.pk)
        item.refresh_from_db()
    hazard_list = _labelled(notice.hazards.order_by("pk"))
    for h in hazard_list:
        h.settled = h.status not in followup.ACTIVE
        h.chosen = str(h.pk) in chosen
    following = notice.reinspections.filter(round__gt=item.round).order_by("round").first()
    return render(request, "inspections/reinspection.html", {
        "reinspection": item, "notice": notice, "premises": notice.visit.premises, "hazards": hazard_list,
        "errors": errors, "note": request.POST.get("note", "") if request.method == "POST" else "",
        "can_submit": item.status == Reinspection.Status.DUE and followup.can_reinspect(request.user, notice),
        "following": following, "now": timezone.now(),
    }, status=status)


# --------------------------------------------------------------------------------------------
# A finding outside the premises' scope
# --------------------------------------------------------------------------------------------


class FindingForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("问题"), max_length=100,
                            error_messages={"required": gettext_lazy("请填写问题"),
                                            "max_length": gettext_lazy("问题不能超过 100 个字符")})
    description = forms.CharField(label=gettext_lazy("描述"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ModelChoiceField(label=gettext_lazy("分类"), queryset=None, required=False,
                                      empty_label=gettext_lazy("不确定，由受理员分类"),
                                      error_messages={"invalid_choice": gettext_lazy("该分类已停用，请重新选择")})
    lon = forms.FloatField(label=gettext_lazy("经度"), required=False,
                           help_text=gettext_lazy("留空则用场所的位置"),
                           error_messages={"invalid": gettext_lazy("经纬度必须是数字")})
    lat = forms.FloatField(label=gettext_lazy("纬度"), required=False,
                           error_messages={"invalid": gettext_lazy("经纬度必须是数字")})
    photo = forms.FileField(label=gettext_lazy("照片"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()

    def clean(self):
        data = super().clean()
        for name in ("lon", "lat"):
            value = data.get(name)
            if value is not None and not math.isfinite(value):
                self.add_error(name, _("经纬度必须是数字"))
        if (data.get("lon") is None) != (data.get("lat") is None) and not self.errors:
            self.add_error("lon", _("经度和纬度需同时提供"))
        return data


@login_required
@require_http_methods(["GET", "POST"])
def visit_finding(request, pk: int):
    visit = queries.get_visit(request.user, pk)
    form = FindingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = followup.report_finding(
                actor=request.user, visit=visit, title=data["title"], description=data["description"],
                category=data["category"], lon=data["lon"], lat=data["lat"],
                photos=[data["photo"]] if data.get("photo") else [])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已上报为案件 %(number)s") % {"number": case.number})
            return redirect("inspections:visit_finding", pk=visit.pk)
    findings = VisitFinding.objects.filter(visit=visit).select_related("case").order_by("-created_at")
    return render(request, "inspections/finding.html", {"visit": visit, "form": form, "findings": findings})


# --------------------------------------------------------------------------------------------
# Joint meetings
# --------------------------------------------------------------------------------------------

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _manageable_stations(user):
    return [s for s in queries.visible_stations(user).select_related("area").order_by("name")
            if meetings.can_manage_meeting(user, s)]


class MeetingForm(forms.Form):
    station = forms.ModelChoiceField(label=gettext_lazy("工作站"), queryset=None,
                                     error_messages={"required": gettext_lazy("请选择工作站"),
                                                     "invalid_choice": gettext_lazy("请选择您所在的工作站")})
    title = forms.CharField(label=gettext_lazy("会议名称"), max_length=200,
                            error_messages={"required": gettext_lazy("请填写会议名称"),
                                            "max_length": gettext_lazy("会议名称不能超过 200 个字符")})
    scheduled_at = forms.DateTimeField(label=gettext_lazy("会议时间"), input_formats=DATETIME_FORMATS,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format="%Y-%m-%dT%H:%M"),
                                       error_messages={"required": gettext_lazy("请填写会议时间"),
                                                       "invalid": gettext_lazy("会议时间格式不正确")})
    place = forms.CharField(label=gettext_lazy("地点"), max_length=200, required=False)

    def __init__(self, *args, stations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = queries.Station.objects.filter(pk__in=[s.pk for s in stations])


class ItemForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("议题"), max_length=300,
                            error_messages={"required": gettext_lazy("请填写议题"),
                                            "max_length": gettext_lazy("议题不能超过 300 个字符")})


class MinutesForm(forms.Form):
    attendees = forms.CharField(label=gettext_lazy("参会人员"), max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                error_messages={"required": gettext_lazy("请填写参会人员")})
    minutes = forms.CharField(label=gettext_lazy("会议纪要"), max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 6}),
                              error_messages={"required": gettext_lazy("请填写会议纪要")})


class DecisionForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("决定事项"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": gettext_lazy("请填写决定事项")})
    department = forms.ModelChoiceField(label=gettext_lazy("责任部门"), queryset=None,
                                        error_messages={"required": gettext_lazy("请选择责任部门"),
                                                        "invalid_choice": gettext_lazy("请选择有效的责任部门")})
    item = forms.ModelChoiceField(label=gettext_lazy("议题"), queryset=None, required=False,
                                  empty_label=gettext_lazy("（不针对具体议题）"),
                                  error_messages={"invalid_choice": gettext_lazy("该议题不属于本次会议")})
    category = forms.ModelChoiceField(label=gettext_lazy("案件分类"), queryset=None,
                                      error_messages={"required": gettext_lazy("请选择案件分类"),
                                                      "invalid_choice": gettext_lazy("该分类已停用，请重新选择")})

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True).order_by("kind", "name")
        self.fields["item"].queryset = meeting.items.all()
        self.fields["category"].queryset = _categories()


@login_required
@require_GET
def meeting_list(request):
    _check_pages(request.user)
    page = Paginator(queries.visible_meetings(request.user).select_related("station").order_by("-scheduled_at"),
                     50).get_page(request.GET.get("page"))
    return render(request, "inspections/meetings.html", {
        "page": page, "can_create": bool(_manageable_stations(request.user))})


@login_required
@require_http_methods(["GET", "POST"])
def meeting_new(request):
    stations = _manageable_stations(request.user)
    if not stations:
        raise PermissionDenied(_("您不是任何工作站的人员，也不管辖任何工作站"))
    form = MeetingForm(request.POST or None, stations=stations,
                       initial={"station": stations[0].pk} if len(stations) == 1 else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = meetings.create_meeting(actor=request.user, station=data["station"], title=data["title"],
                                           scheduled_at=data["scheduled_at"], place=data["place"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已创建会议，议程含 %(n)s 项升级隐患") % {"n": item.items.count()})
            return redirect("inspections:meeting", pk=item.pk)
    return render(request, "inspections/meeting_form.html", {"form": form})


def _meeting_page(request, item: Meeting, *, item_form=None, minutes_form=None, decision_form=None, status=200):
    names = followup.step_names()
    agenda = list(item.items.select_related("hazard__premises", "hazard__department"))
    for entry in agenda:
        if entry.hazard is not None:
            entry.hazard.status_label = followup.status_label(entry.hazard, names)
    can_manage = meetings.can_manage_meeting(request.user, item.station)
    planned = item.status == Meeting.Status.PLANNED
    return render(request, "inspections/meeting.html", {
        "meeting": item, "agenda": agenda, "can_manage": can_manage, "planned": planned,
        "decisions": item.decisions.select_related("department", "case", "item"),
        "item_form": item_form or ItemForm(), "minutes_form": minutes_form or MinutesForm(),
        "decision_form": decision_form or DecisionForm(meeting=item),
    }, status=status)


@login_required
@require_GET
def meeting(request, pk: int):
    return _meeting_page(request, queries.get_meeting(request.user, pk))


def _meeting_post(request, pk: int, form_class, key: str, act):
    """Shared by the three forms of the meeting page: valid → the service; its errors go on the form."""
    item = queries.get_meeting(request.user, pk)
    if not meetings.can_manage_meeting(request.user, item.station):
        raise PermissionDenied(_("您不是该工作站的人员，也不管辖该社区"))
    form = form_class(request.POST, meeting=item) if form_class is DecisionForm else form_class(request.POST)
    status = 200
    if form.is_valid():
        try:
            message = act(item, form.cleaned_data)
        except Conflict as exc:
            add_service_errors(form, exc)
            status = 409
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:  # e.g. the station left the jurisdiction since the page was opened
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, message)
            return redirect("inspections:meeting", pk=item.pk)
    return _meeting_page(request, item, status=status, **{key: form})


@login_required
@require_POST
def meeting_item(request, pk: int):
    def act(item, data):
        meetings.add_item(actor=request.user, meeting=item, title=data["title"])
        return _("已添加议题")
    return _meeting_post(request, pk, ItemForm, "item_form", act)


@login_required
@require_POST
def meeting_minutes(request, pk: int):
    def act(item, data):
        meetings.record_minutes(actor=request.user, meeting=item, attendees=data["attendees"],
                                minutes=data["minutes"])
        return _("已记录会议纪要")
    return _meeting_post(request, pk, MinutesForm, "minutes_form", act)


@login_required
@require_POST
def meeting_decision(request, pk: int):
    def act(item, data):
        decision = meetings.add_decision(actor=request.user, meeting=item, text=data["text"],
                                         department=data["department"], item=data["item"],
                                         category=data["category"])
        return _("已派遣任务 %(number)s 给 %(department)s") % {"number": decision.case.number,
                                                          "department": decision.department.name}
    return _meeting_post(request, pk, DecisionForm, "decision_form", act)

