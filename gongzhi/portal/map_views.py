"""The 15-minute services map (docs/portal.md): the map and list around the resident's home, the
points as JSON for the map script, and the staff's management pages. Service points are public
information: every signed-in user sees the map, the list and the JSON."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import MAX_ID, jurisdiction
from gongzhi.core.templatetags.gongzhi import lname

from . import queries, servicemap
from .map_forms import ImportForm, PointForm
from .models import ServicePointType

#: how many areas the staff's origin picker lists
PICKER_LIMIT = 300


def _residency_url() -> str | None:
    try:
        return reverse("portal:residency")
    except NoReverseMatch:
        return None


def _origin(request) -> servicemap.Origin | None:
    """``?area=<pk>`` (any area with a label point: areas are not secret), else the user's home (also when
    that area is unknown or has no polygon)."""
    raw = request.GET.get("area", "")
    if raw:
        try:
            pk = int(raw)
        except ValueError:
            pk = 0
        area = Area.objects.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        origin = servicemap.area_origin(area) if area is not None else None
        if origin is not None:
            return origin
    found = servicemap.origin_for(request.user)
    return servicemap.Origin(*found) if found else None


def _chosen_types(request) -> list[str] | None:
    codes = [c for c in request.GET.getlist("type") if c]
    return codes or None


@login_required
@require_GET
def map_page(request):
    origin = _origin(request)
    chosen = _chosen_types(request)
    rows = servicemap.nearby((origin.lon, origin.lat), servicemap.MAX_MINUTES, chosen) if origin else []
    rings = []
    for minutes in servicemap.RINGS_MINUTES:
        ring_rows = [(p, metres, mins, lname(p.type)) for p, metres, mins in rows
                     if servicemap.ring_of(mins) == minutes]
        rings.append({"minutes": minutes, "rows": ring_rows})
    types = list(ServicePointType.objects.filter(is_active=True))
    scope = jurisdiction(request.user)
    picker = list(Area.objects.visible_to(request.user).filter(label_lon__isnull=False)
                  .order_by("path")[:PICKER_LIMIT]) if not scope.empty else []
    query = request.GET.urlencode()
    return render(request, "portal/map/map.html", {
        "origin": origin,
        "rings": rings,
        "count": len(rows),
        "types": [(t, lname(t), chosen is None or t.code in chosen) for t in types],
        "filtered": chosen is not None,
        "picker": picker,
        "area_param": request.GET.get("area", ""),
        "residency_url": _residency_url(),
        "manages": not scope.empty,
        "points_url": reverse("portal:map_points") + (f"?{query}" if query else ""),
    })


@login_required
@require_GET
def map_points(request):
    """GeoJSON of the points within 15 minutes of the origin, with the origin and the rings' radii."""
    origin = _origin(request)
    chosen = _chosen_types(request)
    rows = servicemap.nearby((origin.lon, origin.lat), servicemap.MAX_MINUTES, chosen) if origin else []
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "properties": {"id": p.pk, "name": p.name, "type": p.type.code, "type_name": lname(p.type),
                       "color": p.type.color, "address": p.address, "phone": p.phone, "hours": p.hours,
                       "description": p.description, "metres": round(metres), "minutes": mins,
                       "ring": servicemap.ring_of(mins)},
    } for p, metres, mins in rows]
    return JsonResponse({
        "type": "FeatureCollection",
        "features": features,
        "origin": ({"lon": origin.lon, "lat": origin.lat,
                    "area": origin.area.name if origin.area else None} if origin else None),
        "rings": [{"minutes": m, "radius_m": round(servicemap.ring_radius_m(m), 1)}
                  for m in servicemap.RINGS_MINUTES],
        "types": [{"code": t.code, "name": lname(t), "color": t.color}
                  for t in ServicePointType.objects.filter(is_active=True)],
    })


def _require_staff(request):
    if jurisdiction(request.user).empty:
        raise PermissionDenied(_("您没有管理服务点的区域"))


@login_required
@require_GET
def points(request):
    _require_staff(request)
    areas = servicemap.publishable_areas(request.user)
    rows = list(servicemap.managed_points(request.user).order_by("-is_active", "area__path", "type__sort", "name"))
    editable = {p.pk for p in rows if queries.can_publish(request.user, p.area)}
    return render(request, "portal/map/points.html", {
        "rows": [(p, p.pk in editable) for p in rows],
        "can_create": bool(areas),
        "import_form": ImportForm(areas=areas) if areas else None,
    })


def _point_values(form) -> dict:
    data = form.cleaned_data
    return {key: data[key] for key in ("type", "name", "area", "lon", "lat", "address", "phone", "hours",
                                       "description")}


@login_required
@require_http_methods(["GET", "POST"])
def point_new(request):
    _require_staff(request)
    areas = servicemap.publishable_areas(request.user)
    if not areas:
        raise PermissionDenied(_("您不能在任何区域发布服务点"))
    form = PointForm(request.POST if request.method == "POST" else None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            point = servicemap.create_point(request.user, **_point_values(form))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已添加服务点“%(name)s”") % {"name": point.name})
            return redirect("portal:points")
    return render(request, "portal/map/point_form.html", {"form": form, "point": None}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def point_edit(request, pk: int):
    point = queries.get_or_404(servicemap.managed_points(request.user), pk)
    if not queries.can_publish(request.user, point.area):
        raise PermissionDenied(_("您不能管理该区域的服务点"))
    areas = servicemap.publishable_areas(request.user)
    initial = {key: getattr(point, key) for key in ("type", "name", "area", "lon", "lat", "address", "phone",
                                                      "hours", "description")}
    form = PointForm(request.POST if request.method == "POST" else None, initial=initial, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            point = servicemap.update_point(request.user, point, **_point_values(form))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存服务点“%(name)s”") % {"name": point.name})
            return redirect("portal:points")
    return render(request, "portal/map/point_form.html", {"form": form, "point": point},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def point_deactivate(request, pk: int):
    point = queries.get_or_404(servicemap.managed_points(request.user), pk)
    servicemap.deactivate_point(request.user, point)
    messages.success(request, _("已停用服务点“%(name)s”") % {"name": point.name})
    return redirect("portal:points")


@login_required
@require_POST
def points_import(request):
    _require_staff(request)
    areas = servicemap.publishable_areas(request.user)
    form = ImportForm(request.POST, areas=areas)
    if not form.is_valid():
        messages.error(request, "；".join(str(m) for m in form.errors.get("area", [])) or _("请选择所在区域"))
        return redirect("portal:points")
    try:
        result = servicemap.import_merchants(request.user, form.cleaned_data["area"])
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("portal:points")
    if result.created:
        messages.success(request, _("已导入 %(n)s 个喜邻商户。商户没有坐标，已放在所在区域的标注点上，请逐个核对位置。")
                         % {"n": len(result.created)})
    if result.skipped:
        messages.warning(request, _("%(n)s 个商户所在区域没有边界，未导入：%(names)s") % {
            "n": len(result.skipped), "names": "、".join(m.name for m in result.skipped)})
    if not result.created and not result.skipped:
        messages.info(request, _("没有需要导入的喜邻商户。"))
    return redirect("portal:points")
