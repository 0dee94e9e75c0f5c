"""Pages of the service schedules (phone first), every write through ``schedules``:

- a resident: today and the next days at their address, day by day, garbage collection first
  within the same time, with the holiday exceptions' notes;
- staff: the schedules of their areas (an area filter), create and edit where they may publish
  (``queries.can_publish``), single days changed or cancelled.

A schedule the user may not see is a 404; a form for an area the user does not manage is a 403."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction

from . import queries, schedules
from .models import ScheduleException, ServiceSchedule
from .schedule_forms import AreaFilterForm, ExceptionForm, ScheduleForm

WEEK_DAYS = 7
DETAIL_DAYS = 14
STAFF_SHOWN = 200


def _visible(request, pk) -> ServiceSchedule:
    return queries.get_or_404(queries.visible_schedules(request.user), pk)


def _managed(request, pk) -> ServiceSchedule:
    schedule = _visible(request, pk)
    if not queries.can_publish(request.user, schedule.area):
        raise PermissionDenied(_("您不能管理该区域的服务时间表"))
    return schedule


@login_required
@require_GET
def index(request):
    user = request.user
    today = timezone.localdate()
    days = schedules.week_for(user, today, days=WEEK_DAYS + 1)  # today and the next 7 days
    garbage = [o for o in days[0].occurrences if o.schedule.kind == ServiceSchedule.Kind.GARBAGE]
    context = {"today": today, "days": days, "garbage": garbage,
               "has_home": queries.homes(user).exists(), "is_staff_view": not jurisdiction(user).empty}
    if context["is_staff_view"]:
        own = schedules.staff_schedules(user)
        form = AreaFilterForm(request.GET or None, areas=Area.objects.filter(pk__in=own.values("area"))
                              .order_by("depth", "path"))
        area = form.cleaned_data.get("area") if form.is_valid() else None
        if area is not None:
            own = own.filter(area__path__startswith=area.path)
        rows = list(own.order_by("area__path", "kind", "title", "pk")[:STAFF_SHOWN])
        context.update(filter=form, rows=[(s, schedules.weekday_label(s), s.valid_until is not None
                                           and s.valid_until < today) for s in rows],
                       can_create=schedules.publishable_areas(user).exists())
    return render(request, "portal/schedules/index.html", context)


@login_required
@require_GET
def detail(request, pk: int):
    schedule = _visible(request, pk)
    today = timezone.localdate()
    plan = schedules.plan([schedule], today, DETAIL_DAYS)
    names = schedules.day_names(today, today + datetime.timedelta(days=DETAIL_DAYS - 1))
    upcoming = list(schedule.exceptions.filter(date__gte=today).order_by("date")[:50])
    may_manage = queries.can_publish(request.user, schedule.area)
    return render(request, "portal/schedules/detail.html", {
        "schedule": schedule, "weekdays": schedules.weekday_label(schedule),
        "days": [(day, names.get(day, ""), rows[0][1] if rows else [], rows[0][2] if rows else "")
                 for day, rows in plan.items()],
        "upcoming": upcoming, "may_manage": may_manage,
        "exception_form": ExceptionForm(initial={"date": today}) if may_manage else None,
    })


def _form_page(request, form, schedule=None, status=200):
    return render(request, "portal/schedules/form.html", {"form": form, "schedule": schedule}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    areas = schedules.publishable_areas(request.user)
    if not areas.exists():
        raise PermissionDenied(_("只有社区管理人员可以发布服务时间表"))
    form = ScheduleForm(request.POST or None, areas=areas, initial={"valid_from": timezone.localdate()})
    if request.method == "POST":
        if form.is_valid():
            try:
                schedule = schedules.create_schedule(request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("已发布服务时间表“%(title)s”") % {"title": schedule.title})
                return redirect("portal:schedule", pk=schedule.pk)
        return _form_page(request, form, status=400)
    return _form_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    schedule = _managed(request, pk)
    areas = schedules.publishable_areas(request.user)
    form = ScheduleForm(request.POST or None, areas=areas, initial=ScheduleForm.initial_of(schedule))
    if request.method == "POST":
        if form.is_valid():
            try:
                schedules.update_schedule(request.user, schedule, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect("portal:schedule", pk=schedule.pk)
        return _form_page(request, form, schedule, status=400)
    return _form_page(request, form, schedule)


@login_required
@require_POST
def exception_set(request, pk: int):
    schedule = _managed(request, pk)
    form = ExceptionForm(request.POST)
    if form.is_valid():
        try:
            schedules.set_exception(request.user, schedule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存 %(date)s 的安排") % {"date": form.cleaned_data["date"]})
            return redirect("portal:schedule", pk=schedule.pk)
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)
    return redirect("portal:schedule", pk=schedule.pk)


@login_required
@require_POST
def exception_delete(request, pk: int, exception_id: int):
    schedule = _managed(request, pk)
    exception = queries.get_or_404(ScheduleException.objects.filter(schedule=schedule).select_related(
        "schedule__area"), exception_id)
    schedules.remove_exception(request.user, exception)
    messages.success(request, _("已删除 %(date)s 的例外安排") % {"date": exception.date})
    return redirect("portal:schedule", pk=schedule.pk)
