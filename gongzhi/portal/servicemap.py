"""The 15-minute services map (docs/portal.md): service points around the resident's home and the
services that write them.

Service points are public information (service stations, clinics, partner merchants …): every
signed-in user may read them. No address of a person is involved — the origin is the label point of
the resident's home *area* (a building or estate), never a flat.

The walking model
-----------------
- ``WALK_SPEED_M_PER_MIN``: an unhurried adult walks about 80 metres a minute (4.8 km/h).
- ``DETOUR_FACTOR``: streets are not straight lines; the path is taken as 1.25 × the straight-line
  (haversine) distance.

So a point ``d`` metres away in a straight line is ``d × 1.25 / 80`` minutes away, and the ring of
``N`` minutes has a straight-line radius of ``N × 80 / 1.25`` metres (5 min = 320 m, 10 min = 640 m,
15 min = 960 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import signed_in

from . import queries
from .models import Residency, ServicePoint, ServicePointType

#: metres walked per minute (4.8 km/h)
WALK_SPEED_M_PER_MIN = 80.0
#: path length ÷ straight-line distance
DETOUR_FACTOR = 1.25
#: the rings drawn around the home, in minutes of walking
RINGS_MINUTES = (5, 10, 15)
#: the life circle: points farther than this are not "nearby"
MAX_MINUTES = 15
#: mean earth radius (metres) for the haversine formula
EARTH_RADIUS_M = 6_371_008.8
#: how far outside its area's polygon a point may lie (a station across the boundary street)
NEAR_AREA_M = 200.0
#: the type code of partner merchants (migration 0002)
XILIN = "xilin"

POINT_FIELDS = ["type_id", "name", "area_id", "lon", "lat", "address", "phone", "hours", "description",
                "merchant_id", "is_active"]


# ------------------------------------------------------------------------------ arithmetic


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def walk_minutes(metres: float) -> int:
    """Whole minutes of walking for a straight-line distance, rounded up (so ``walk_minutes(d) <= N``
    exactly when ``d`` lies within the ring of ``N`` minutes)."""
    return max(0, math.ceil(round(metres * DETOUR_FACTOR / WALK_SPEED_M_PER_MIN, 9)))


def ring_radius_m(minutes: float) -> float:
    """Straight-line radius of the ring of ``minutes`` minutes of walking."""
    return minutes * WALK_SPEED_M_PER_MIN / DETOUR_FACTOR


def ring_of(minutes: int) -> int | None:
    """The smallest ring (5, 10, 15) a point ``minutes`` away lies in, ``None`` beyond the last."""
    for ring in RINGS_MINUTES:
        if minutes <= ring:
            return ring
    return None


# ------------------------------------------------------------------------------ reads


@dataclass(frozen=True)
class Origin:
    lon: float
    lat: float
    area: Area | None


def area_origin(area: Area) -> Origin | None:
    if area.label_lon is None or area.label_lat is None:
        return None
    return Origin(area.label_lon, area.label_lat, area)


def origin_for(user) -> tuple[float, float, Area] | None:
    """(lon, lat, area) of the user's home: the label point of the area of their first verified
    residency (oldest first) whose area has one; ``None`` without a home."""
    if not signed_in(user):
        return None
    rows = (Residency.objects.filter(user=user, status=Residency.Status.VERIFIED,
                                     area__label_lon__isnull=False, area__label_lat__isnull=False)
            .select_related("area").order_by("requested_at", "pk"))
    first = rows.first()
    if first is None:
        return None
    return first.area.label_lon, first.area.label_lat, first.area


def _resolve_origin(user_or_point) -> Origin | None:
    if isinstance(user_or_point, Area):
        return area_origin(user_or_point)
    if isinstance(user_or_point, tuple | list) and len(user_or_point) >= 2:
        return Origin(float(user_or_point[0]), float(user_or_point[1]),
                      user_or_point[2] if len(user_or_point) > 2 else None)
    found = origin_for(user_or_point)
    return Origin(*found) if found else None


def active_points():
    """Active points of active types (public information)."""
    return (ServicePoint.objects.filter(is_active=True, type__is_active=True)
            .select_related("type", "area", "merchant"))


def nearby(user_or_point, minutes: int = MAX_MINUTES, types=None) -> list[tuple[ServicePoint, float, int]]:
    """``[(point, metres, walk_minutes)]`` within ``minutes`` of walking, nearest first.

    ``user_or_point``: a user (their home, see ``origin_for``), an ``Area`` (its label point) or a
    ``(lon, lat)`` tuple. ``types``: type codes or ServicePointType rows to keep (``None``: all).
    Empty when there is no origin."""
    origin = _resolve_origin(user_or_point)
    if origin is None:
        return []
    radius = ring_radius_m(minutes)
    # a generous bounding box first (in the database), then the exact distance
    dlat = math.degrees(radius / EARTH_RADIUS_M) * 1.1
    coslat = max(math.cos(math.radians(origin.lat)), 0.01)
    dlon = min(180.0, dlat / coslat)
    qs = active_points().filter(lat__gte=origin.lat - dlat, lat__lte=origin.lat + dlat,
                                lon__gte=origin.lon - dlon, lon__lte=origin.lon + dlon)
    if types is not None:
        codes = [t.code if isinstance(t, ServicePointType) else str(t) for t in types]
        qs = qs.filter(type__code__in=codes)
    found = []
    for point in qs:
        metres = haversine_m(origin.lon, origin.lat, point.lon, point.lat)
        mins = walk_minutes(metres)
        if mins <= minutes:
            found.append((point, metres, mins))
    found.sort(key=lambda row: (row[1], row[0].pk))
    return found


def managed_points(user):
    """Points a staff member manages: those in areas of their jurisdiction (active or not)."""
    from gongzhi.core.scoping import jurisdiction

    scope = jurisdiction(user)
    qs = ServicePoint.objects.select_related("type", "area", "merchant")
    if scope.everything:
        return qs
    return qs.filter(area__in=Area.objects.under_paths(scope.paths))


def publishable_areas(user):
    """Areas the user may put points in (their jurisdiction, narrowed by ``queries.can_publish``)."""
    areas = Area.objects.visible_to(user).order_by("path")
    return [a for a in areas if queries.can_publish(user, a)]


# ------------------------------------------------------------------------------ writes


def _check_publish(actor, area: Area) -> None:
    if not queries.can_publish(actor, area):
        raise PermissionDenied(_("您不能管理该区域的服务点"))


def _number(value, field: str, label: str, lo: float, hi: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: _("%(label)s必须是数字") % {"label": label}}) from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ValidationError({field: _("%(label)s必须在 %(lo)s 到 %(hi)s 之间") % {
            "label": label, "lo": lo, "hi": hi}})
    return number


def _geometry_area(area: Area) -> Area | None:
    """The area itself or its nearest ancestor with a polygon."""
    if area.geometry:
        return area
    for ancestor in Area.objects.filter(pk__in=area.ancestor_ids()).order_by("-depth"):
        if ancestor.geometry:
            return ancestor
    return None


def check_position(area: Area, lon, lat) -> tuple[float, float]:
    """Validated (lon, lat): on earth, and inside the area's polygon (or its nearest ancestor's when
    it has none) or within ``NEAR_AREA_M`` of it."""
    lon = _number(lon, "lon", _("经度"), -180, 180)
    lat = _number(lat, "lat", _("纬度"), -90, 90)
    holder = _geometry_area(area)
    if holder is None:
        return lon, lat
    import shapely

    from gongzhi.areas import geo

    try:
        polygon = geo.parse_geometry(holder.geometry)
    except geo.GeometryError:
        return lon, lat
    tolerance = NEAR_AREA_M / geo.METRES_PER_DEGREE
    if not polygon.buffer(tolerance).covers(shapely.Point(lon, lat)):
        raise ValidationError({"lon": _("该位置不在“%(area)s”范围内（允许超出 %(m)s 米），请检查经纬度（经度在前）") % {
            "area": holder.name, "m": int(NEAR_AREA_M)}})
    return lon, lat


def _clean(*, type, name, area, lon, lat, address, phone, hours, description) -> dict:
    if not isinstance(type, ServicePointType) or not type.is_active:
        raise ValidationError({"type": _("请选择启用的服务点类型")})
    if not isinstance(area, Area):
        raise ValidationError({"area": _("请选择所在区域")})
    lon, lat = check_position(area, lon, lat)
    return {
        "type": type, "area": area, "lon": lon, "lat": lat,
        "name": clean_text(name, "name", _("名称"), 100),
        "address": clean_text(address, "address", _("地址"), 200, required=False),
        "phone": clean_text(phone, "phone", _("电话"), 32, required=False),
        "hours": clean_text(hours, "hours", _("开放时间"), 100, required=False),
        "description": clean_text(description, "description", _("简介"), 200, required=False),
    }


def create_point(actor, *, type, name, area, lon, lat, address="", phone="", hours="", description="",
                 merchant=None) -> ServicePoint:
    if isinstance(area, Area):
        _check_publish(actor, area)
    data = _clean(type=type, name=name, area=area, lon=lon, lat=lat, address=address, phone=phone,
                  hours=hours, description=description)
    with transaction.atomic():
        point = ServicePoint.objects.create(merchant=merchant, **data)
        audit.record(actor, "portal.point_create", point, after=audit.snapshot(point, POINT_FIELDS))
    return point


def update_point(actor, point: ServicePoint, *, type, name, area, lon, lat, address="", phone="", hours="",
                 description="") -> ServicePoint:
    _check_publish(actor, point.area)
    if isinstance(area, Area) and area.pk != point.area_id:
        _check_publish(actor, area)
    data = _clean(type=type, name=name, area=area, lon=lon, lat=lat, address=address, phone=phone,
                  hours=hours, description=description)
    with transaction.atomic():
        point = ServicePoint.objects.select_for_update().get(pk=point.pk)
        before = audit.snapshot(point, POINT_FIELDS)
        for key, value in data.items():
            setattr(point, key, value)
        point.save()
        audit.record(actor, "portal.point_update", point, before=before, after=audit.snapshot(point, POINT_FIELDS))
    return point


def deactivate_point(actor, point: ServicePoint) -> ServicePoint:
    _check_publish(actor, point.area)
    with transaction.atomic():
        point = ServicePoint.objects.select_for_update().get(pk=point.pk)
        if point.is_active:
            point.is_active = False
            point.save(update_fields=["is_active"])
            audit.record(actor, "portal.point_deactivate", point, before={"is_active": True},
                         after={"is_active": False})
    return point


@dataclass
class MerchantImport:
    created: list
    skipped: list  # merchants whose area has no label point


def import_merchants(actor, area: Area) -> MerchantImport:
    """A 喜邻商户 point for every active partner merchant in ``area`` (and below) that has none yet.

    Merchants have no coordinates: each is placed at the label point of its own area, and the point's
    position should then be corrected by hand (the caller says so). Merchants whose area has no label
    point are skipped and listed."""
    from gongzhi.points.models import Merchant

    _check_publish(actor, area)
    kind = ServicePointType.objects.filter(code=XILIN).first()
    if kind is None or not kind.is_active:
        raise ValidationError(_("没有启用的“喜邻商户”服务点类型"))
    result = MerchantImport([], [])
    merchants = (Merchant.objects.filter(is_active=True, area__path__startswith=area.path)
                 .exclude(service_points__isnull=False).select_related("area").order_by("name", "pk"))
    with transaction.atomic():
        for merchant in merchants:
            home = merchant.area
            if home.label_lon is None or home.label_lat is None or not queries.can_publish(actor, home):
                result.skipped.append(merchant)
                continue
            point = ServicePoint.objects.create(
                type=kind, name=merchant.name[:100], area=home, lon=home.label_lon, lat=home.label_lat,
                address=merchant.address[:200], phone=merchant.phone[:32],
                description=(merchant.description or "")[:200], merchant=merchant)
            audit.record(actor, "portal.point_import", point, after=audit.snapshot(point, POINT_FIELDS),
                         note="placed at the label point of its area")
            result.created.append(point)
    return result
