"""Pages of the inspection plans (phone first): 本周检查 — this week's targets of the user's teams —
and, for those whose jurisdiction covers a station, its plans: create, edit, stop, a plan's days and
rebuilding a day. Reads go through ``plans`` (the read helpers), writes through its services.

A team member who manages nothing sees their own teams' plans, read-only; anyone else gets 404 for a
plan and 403 for the pages (they are for those who work in an area and for team members)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction
from gongzhi.premises.models import RiskLevel

from . import plans
from .forms import BuildForm, PlanForm
from .models import PlanDay, PlanTarget

#: Where the visit page lives if its URL name is not (yet) known to the resolver.
VISIT_NEW_FALLBACK = "/inspections/visit/new/"
DAYS_SHOWN = 8


def visit_url(target: PlanTarget) -> str:
    """The link that starts the visit of a planned premises (``inspections:visit_new?target=…``)."""
    try:
        base = reverse("inspections:visit_new")
    except NoReverseMatch:
        base = VISIT_NEW_FALLBACK
    return f"{base}?target={target.pk}"


def _check_pages(user) -> None:
    if not plans.may_use_pages(user):
        raise PermissionDenied(_("联合检查页面仅供工作人员和检查小组成员使用"))


def _week_param(value: str | None) -> datetime.date:
    today = timezone.localdate()
    if value:
        try:
            day = datetime.date.fromisoformat(value[:10])
        except ValueError:
            day = today
        if abs((day - today).days) <= 3660:
            return plans.week_start(day)
    return plans.week_start(today)


def _targets(day: PlanDay | None) -> list[dict]:
    if day is None:
        return []
    return [{"target": t, "visit_url": visit_url(t) if t.visit_id is None else ""} for t in plans.day_targets(day)]


@login_required
@require_GET
def week(request):
    """本周检查: for each of the user's teams, this week's plan days with their targets."""
    _check_pages(request.user)
    monday = _week_param(request.GET.get("week"))
    today = timezone.localdate()
    teams = []
    for team in plans.member_teams(request.user).order_by("station__name", "name"):
        entries = []
        for plan in team.plans.filter(is_active=True).select_related("checklist").order_by("weekday", "name"):
            plan.team = team
            date = plans.plan_date(plan, monday)
            day = plans.ensure_day(plan, date)
            targets = _targets(day)
            entries.append({"plan": plan, "date": date, "day": day, "targets": targets, "is_today": date == today,
                            "done": sum(1 for t in targets if t["target"].visit_id)})
        teams.append({"team": team, "entries": entries})
    return render(request, "inspections/week.html", {
        "teams": teams, "monday": monday, "sunday": monday + datetime.timedelta(days=6),
        "previous": monday - datetime.timedelta(days=7), "next": monday + datetime.timedelta(days=7),
        "this_week": monday == plans.week_start(today),
        "manages": plans.managed_stations(request.user).exists(),
    })


@login_required
@require_GET
def plan_list(request):
    """The plans per station: those the user manages, and their own teams' (read-only)."""
    _check_pages(request.user)
    managed = set(plans.managed_stations(request.user).values_list("pk", flat=True))
    stations: dict[int, dict] = {}
    for plan in plans.visible_plans(request.user).order_by("team__station__name", "team__name", "weekday", "name"):
        station = plan.team.station
        entry = stations.setdefault(station.pk, {"station": station, "plans": [], "manages": station.pk in managed})
        entry["plans"].append(plan)
    return render(request, "inspections/plan_list.html", {
        "stations": list(stations.values()),
        "can_create": plans.manageable_teams(request.user).exists(),
    })


def _check_manage_any(user) -> None:
    if jurisdiction(user).empty:
        raise PermissionDenied(_("只有工作站所在社区的管辖人员可以管理检查计划"))


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request):
    _check_manage_any(request.user)
    teams = plans.manageable_teams(request.user).order_by("station__name", "name")
    initial = {}
    team_id = request.GET.get("team", "")
    if team_id.isdigit():
        initial["team"] = int(team_id)
    form = PlanForm(request.POST or None, teams=teams, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            plan = plans.create_plan(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已创建检查计划“%(name)s”") % {"name": plan.name})
            return redirect("inspections:plan_detail", pk=plan.pk)
    return render(request, "inspections/plan_form.html", {"form": form, "plan": None,
                                                          "no_teams": not teams.exists()})


def _managed_plan(request, pk: int):
    plan = plans.get_plan(request.user, pk)  # 404 when not visible
    if not plans.can_manage_station(request.user, plan.team.station):
        raise PermissionDenied(_("该工作站不在您的管辖范围内"))
    return plan


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, pk: int):
    plan = _managed_plan(request, pk)
    initial = {"name": plan.name, "weekday": plan.weekday, "checklist": plan.checklist_id,
               "premises_types": list(plan.premises_types.values_list("pk", flat=True)),
               "min_risk_level": plan.min_risk_level, "revisit_days": plan.revisit_days,
               "include_open_hazards": plan.include_open_hazards, "max_targets": plan.max_targets}
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {k: v for k, v in data.items() if k != "premises_types" and v != getattr(plan, k)}
        if sorted(t.pk for t in data["premises_types"]) != sorted(initial["premises_types"]):
            changes["premises_types"] = list(data["premises_types"])
        try:
            if changes:
                plans.update_plan(plan, actor=request.user, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("inspections:plan_detail", pk=plan.pk)
    return render(request, "inspections/plan_form.html", {"form": form, "plan": plan})


def _next_date(plan) -> datetime.date:
    """This week's inspection day of the plan, or next week's if it has passed."""
    today = timezone.localdate()
    date = plans.plan_date(plan, today)
    return date if date >= today else date + datetime.timedelta(days=7)


@login_required
@require_GET
def plan_detail(request, pk: int):
    plan = plans.get_plan(request.user, pk)
    days = list(plan.days.order_by("-date")[:DAYS_SHOWN])
    return render(request, "inspections/plan_detail.html", {
        "plan": plan, "types": list(plan.premises_types.all()),
        "min_risk_label": RiskLevel(plan.min_risk_level).label if plan.min_risk_level in RiskLevel.values else "",
        "days": [{"day": d, "targets": _targets(d), "is_past": d.date < timezone.localdate()} for d in days],
        "can_manage": plans.can_manage_station(request.user, plan.team.station),
        "build_form": BuildForm(plan=plan, initial={"date": _next_date(plan)}),
    })


@login_required
@require_POST
def plan_build(request, pk: int):
    """Build or rebuild one day of the plan (targets already visited are kept)."""
    plan = _managed_plan(request, pk)
    form = BuildForm(request.POST, plan=plan)
    if not form.is_valid():
        messages.error(request, "；".join(str(m) for ms in form.errors.values() for m in ms))
        return redirect("inspections:plan_detail", pk=plan.pk)
    try:
        day = plans.build_day(plan, form.cleaned_data["date"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已生成 %(date)s 的检查名单：%(count)s 个场所") % {
            "date": day.date.isoformat(), "count": day.targets.count()})
    return redirect("inspections:plan_detail", pk=plan.pk)


@login_required
@require_POST
def plan_deactivate(request, pk: int):
    plan = _managed_plan(request, pk)
    plans.deactivate_plan(plan, actor=request.user)
    messages.success(request, _("已停用检查计划“%(name)s”") % {"name": plan.name})
    return redirect("inspections:plan_detail", pk=plan.pk)
