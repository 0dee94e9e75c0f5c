"""Pages of the stations (星火工作站) and their teams (phone first): the stations of the user's
jurisdiction with their teams and members, creating a station for a community that has none, and on
a station's page: creating a team (one member per department), adding and removing members, stopping
and restarting a team. Writes go through ``services`` (each audited as ``inspection.station.*`` /
``inspection.team.*``).

Who: whoever's jurisdiction covers the station's community manages it. A team member sees their own
station(s) read-only (a change: 403); anyone else gets 404 for a station or team, and 403 for the list
(it is for those who work in an area and for team members)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import MAX_ID, jurisdiction

from . import plans, services
from .models import Station, Team, TeamMember
from .station_forms import ActiveForm, MemberForm, StationForm, TeamForm, serving_departments


def _check_pages(user) -> None:
    if not plans.may_use_pages(user):
        raise PermissionDenied(_("联合检查页面仅供工作人员和检查小组成员使用"))


def _pk(pk: int) -> int:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return pk


def visible_stations(user):
    """The stations the user manages and those of the teams they belong to."""
    q = Q(pk__in=plans.managed_stations(user).values("pk"))
    if getattr(user, "is_authenticated", False):
        q |= Q(teams__members__user_id=user.pk)
    return Station.objects.filter(q).distinct().select_related("area")


def free_communities(user):
    """Communities in the user's jurisdiction without a station."""
    return (Area.objects.visible_to(user).filter(level__slug=services.COMMUNITY_LEVEL, inspection_station__isnull=True)
            .order_by("path"))


def _teams(station_ids):
    members = TeamMember.objects.select_related("user", "department").order_by("department__kind", "department__name")
    return (Team.objects.filter(station_id__in=station_ids).order_by("-is_active", "name")
            .prefetch_related(Prefetch("members", queryset=members)))


def _get_station(user, pk: int) -> Station:
    station = visible_stations(user).filter(pk=_pk(pk)).first()
    if station is None:
        raise Http404
    return station


def _get_team(user, pk: int) -> Team:
    team = Team.objects.filter(pk=_pk(pk), station__in=visible_stations(user).values("pk")).select_related(
        "station__area").first()
    if team is None:
        raise Http404
    return team


def _check_manage(user, station: Station) -> None:
    if not plans.can_manage_station(user, station):
        raise PermissionDenied(_("该工作站不在您的管辖范围内"))


@login_required
@require_http_methods(["GET", "POST"])
def station_list(request):
    """The stations with their teams and members; a form to create a station."""
    _check_pages(request.user)
    communities = free_communities(request.user)
    form = StationForm(request.POST if request.method == "POST" else None, communities=communities)
    status = 200
    if request.method == "POST":
        if jurisdiction(request.user).empty:
            raise PermissionDenied(_("只有社区所在区域的管辖人员可以建立工作站"))
        if form.is_valid():
            try:
                station = services.create_station(actor=request.user, area=form.cleaned_data["area"],
                                                  name=form.cleaned_data["name"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("已建立“%(name)s”") % {"name": station.name})
                return redirect("inspections:station_detail", pk=station.pk)
        status = 400
    managed = set(plans.managed_stations(request.user).values_list("pk", flat=True))
    stations = list(visible_stations(request.user).order_by("name"))
    teams: dict[int, list[Team]] = {}
    for team in _teams([s.pk for s in stations]):
        teams.setdefault(team.station_id, []).append(team)
    return render(request, "inspections/station_list.html", {
        "stations": [{"station": s, "teams": teams.get(s.pk, []), "manages": s.pk in managed} for s in stations],
        "form": form, "can_create": communities.exists(),
    }, status=status)


def _render_detail(request, station: Station, *, team_form=None, member_team=None, member_form=None,
                   status: int = 200):
    manages = plans.can_manage_station(request.user, station)
    departments = serving_departments(station.area)
    teams = []
    for team in _teams([station.pk]):
        form = None
        if manages and team.is_active:
            form = member_form if member_team == team.pk else MemberForm(departments=departments,
                                                                         auto_id=f"id_t{team.pk}_%s")
        teams.append({"team": team, "member_form": form})
    return render(request, "inspections/station_detail.html", {
        "station": station, "teams": teams, "manages": manages,
        "team_form": (team_form or TeamForm(departments=departments)) if manages else None,
    }, status=status)


@login_required
@require_GET
def station_detail(request, pk: int):
    return _render_detail(request, _get_station(request.user, pk))


@login_required
@require_POST
def team_create(request, pk: int):
    station = _get_station(request.user, pk)
    _check_manage(request.user, station)
    form = TeamForm(request.POST, departments=serving_departments(station.area))
    if form.is_valid():
        try:
            team = services.create_team(actor=request.user, station=station, name=form.cleaned_data["name"],
                                        members=form.members())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已建立检查小组“%(name)s”") % {"name": team.name})
            return redirect("inspections:station_detail", pk=station.pk)
    return _render_detail(request, station, team_form=form, status=400)


@login_required
@require_POST
def member_add(request, pk: int):
    team = _get_team(request.user, pk)
    station = team.station
    _check_manage(request.user, station)
    form = MemberForm(request.POST, departments=serving_departments(station.area), auto_id=f"id_t{team.pk}_%s")
    if form.is_valid():
        try:
            services.add_member(actor=request.user, team=team, user=form.cleaned_data["user"],
                                department=form.cleaned_data["department"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已将 %(user)s 加入“%(team)s”") % {
                "user": form.cleaned_data["user"], "team": team.name})
            return redirect("inspections:station_detail", pk=station.pk)
    return _render_detail(request, station, member_team=team.pk, member_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request, pk: int):
    """GET: the confirmation; POST: take the member (``pk``: a ``TeamMember``) out of their team."""
    member = (TeamMember.objects.filter(pk=_pk(pk), team__station__in=visible_stations(request.user).values("pk"))
              .select_related("user", "department", "team__station__area").first())
    if member is None:
        raise Http404
    team = member.team
    _check_manage(request.user, team.station)
    if request.method == "POST":
        try:
            services.remove_member(actor=request.user, team=team, member=member)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已将 %(user)s 移出“%(team)s”") % {"user": member.user, "team": team.name})
        return redirect("inspections:station_detail", pk=team.station_id)
    return render(request, "inspections/team_member_remove.html", {"team": team, "member": member})


@login_required
@require_POST
def team_active(request, pk: int):
    """Stop (active=0) or restart (active=1) a team."""
    team = _get_team(request.user, pk)
    _check_manage(request.user, team.station)
    form = ActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(m) for ms in form.errors.values() for m in ms))
        return redirect("inspections:station_detail", pk=team.station_id)
    services.set_team_active(actor=request.user, team=team, active=form.cleaned_data["active"])
    if team.is_active:
        messages.success(request, _("已启用检查小组“%(name)s”") % {"name": team.name})
    else:
        messages.success(request, _("已停用检查小组“%(name)s”") % {"name": team.name})
    return redirect("inspections:station_detail", pk=team.station_id)
