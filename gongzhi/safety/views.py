"""Web pages for safety grading: the monthly map (phone first), a grade with its measures and
feedback, entering and importing figures. Reads through ``queries`` (the read door), writes through
``services``. No inline script or style (CSP): the map is drawn by ``static/safety/safety-map.js``
from ``map.json``.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.errors import Conflict

from . import io, queries, rules, services
from .forms import FeedbackForm, FiguresForm, ImportForm, MeasureForm
from .models import COLOURS, LEVELS, Level, Measure

EVENT_LABELS = {"figures": gettext_lazy("录入数据"), "regrade": gettext_lazy("重新评定"),
                "publish": gettext_lazy("已发布"), "reopen": gettext_lazy("撤回发布"),
                "measure": gettext_lazy("下达整改措施"), "feedback": gettext_lazy("落实反馈")}


def _month(request) -> datetime.date:
    """The month asked for (``?month=2026-11``); the previous month by default (the latest graded)."""
    try:
        return services.parse_month(request.GET.get("month") or request.POST.get("month"))
    except ValidationError:
        today = timezone.localdate().replace(day=1)
        return (today - datetime.timedelta(days=1)).replace(day=1)


def _errors(exc: ValidationError) -> str:
    return "；".join(exc.messages)


@login_required
@require_GET
def index(request):
    month = _month(request)
    rows = queries.user_month_rows(request.user, month)
    counts = {level.value: 0 for level in LEVELS}
    for _pa, grade in rows:
        if grade is not None:
            counts[grade.level] += 1
    user = request.user
    can_enter = rules.enterable_areas(user).exists()
    drafts = [g for _pa, g in rows if g is not None and not g.is_published and rules.can_publish(user, g.police_area)]
    return render(request, "safety/index.html", {
        "month": month, "rows": rows, "months": queries.months_with_grades(user),
        "legend": [(level.value, level.label, COLOURS[level.value], counts[level.value]) for level in LEVELS],
        "can_enter": can_enter, "drafts": drafts,
    })


@login_required
@require_GET
def map_data(request):
    """The month's jurisdictions as GeoJSON, coloured by level (grey: no visible grade)."""
    month = _month(request)
    features = []
    for pa, grade in queries.user_month_rows(request.user, month):
        if not pa.geometry:
            continue
        figures = None
        if grade is not None:
            figures = {**grade.figures(), "status": grade.status}
        url = reverse("safety:grade", args=[grade.pk]) if grade is not None else ""
        features.append(queries.feature(pa, grade.level if grade else None, figures, url=url))
    return JsonResponse({"type": "FeatureCollection", "month": f"{month:%Y-%m}", "features": features})


@login_required
@require_GET
def grade_detail(request, pk: int):
    grade = queries.get_grade(request.user, pk)
    user = request.user
    measures = list(grade.measures.prefetch_related("feedback"))
    for measure in measures:
        measure.may_feedback = measure.status == Measure.Status.OPEN and rules.can_feedback(user, measure)
    detail = [(name, label, {**grade.detail.get(name, {}), "level_label": Level(grade.detail[name]["level"]).label
                             if name in grade.detail else ""}) for name, label in (
        ("criminal", _("刑事案件")), ("public_order", _("治安案件")), ("robbery_theft", _("两抢一盗")),
        ("fraud", _("诈骗案件")), ("satisfaction", _("群众满意率")))]
    return render(request, "safety/grade.html", {
        "grade": grade, "detail": detail, "measures": measures,
        "events": [(e, EVENT_LABELS.get(e.action, e.action)) for e in grade.events.all()],
        "may_publish": not grade.is_published and rules.can_publish(user, grade.police_area),
        "may_measure": grade.is_published and grade.needs_measures and rules.can_set_measures(user, grade.police_area),
        "measure_form": MeasureForm(), "feedback_form": FeedbackForm(), "colour": COLOURS[grade.level],
    })


def _act(request, pk: int, action) -> HttpResponse:
    grade = queries.get_grade(request.user, pk)
    try:
        message = action(grade)
    except PermissionDenied:
        raise
    except ValidationError as exc:  # Conflict included
        messages.error(request, _errors(exc))
    else:
        messages.success(request, message)
    return redirect("safety:grade", pk=grade.pk)


@login_required
@require_POST
def publish(request, pk: int):
    def action(grade):
        services.publish_grade(grade, actor=request.user)
        return _("已发布")
    return _act(request, pk, action)


@login_required
@require_POST
def add_measure(request, pk: int):
    def action(grade):
        form = MeasureForm(request.POST)
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        services.add_measure(grade, actor=request.user, what=form.cleaned_data["what"],
                             owner=form.cleaned_data["owner"], due_on=form.cleaned_data["due_on"])
        return _("已下达整改措施")
    return _act(request, pk, action)


@login_required
@require_POST
def feedback(request, pk: int):
    measure = queries.get_measure(request.user, pk)

    def action(grade):
        form = FeedbackForm(request.POST)
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        services.record_feedback(measure, actor=request.user, result=form.cleaned_data["result"],
                                 note=form.cleaned_data["note"])
        return _("已记录落实反馈")
    return _act(request, measure.grade_id, action)


@login_required
@require_POST
def publish_month(request):
    month = _month(request)
    done = services.publish_month(month, actor=request.user)
    messages.success(request, _("已发布 %(n)d 个辖区的平安等级") % {"n": done})
    return redirect(f"{reverse('safety:index')}?month={month:%Y-%m}")


@login_required
@require_http_methods(["GET", "POST"])
def enter(request):
    areas = rules.enterable_areas(request.user).order_by("code")
    if not request.user.is_superuser and not areas.exists():
        raise PermissionDenied(_("您不能填报平安等级数据"))
    form = FiguresForm(request.POST or None, areas=areas, initial={"month": f"{_month(request):%Y-%m}"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grade = services.record_figures(data["police_area"], data["month"], actor=request.user, values=data)
        except ValidationError as exc:
            if isinstance(exc, Conflict) or not hasattr(exc, "error_dict"):
                form.add_error(None, _errors(exc))
            else:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("已保存，评定为%(level)s（待发布）") % {"level": grade.get_level_display()})
            return redirect("safety:grade", pk=grade.pk)
    return render(request, "safety/enter.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def import_figures(request):
    if not request.user.is_superuser and not rules.enterable_areas(request.user).exists():
        raise PermissionDenied(_("您不能填报平安等级数据"))
    form = ImportForm(request.POST or None, request.FILES or None)
    report = error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            error = _("文件不能超过 5 MB")
        else:
            try:
                report = io.import_figures(upload.read(), actor=request.user, commit=form.cleaned_data["commit"])
            except io.FiguresFileError as exc:
                error = str(exc)
    return render(request, "safety/import.html", {"form": form, "report": report, "error": error,
                                                  "columns": list(io.COLUMNS)})


@login_required
@require_GET
def import_template(request):
    response = HttpResponse(io.template_bytes(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="safety-figures.xlsx"'
    return response

