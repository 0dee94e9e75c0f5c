"""/api/v1/areas: the area tree, point lookup, GeoJSON export (all through the read door)."""


from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import ErrorBody, Pagination, errors

from . import io, queries, services
from .models import Area, AreaLevel

router = Router(tags=["areas 区划与网格"])


class LevelOut(Schema):
    slug: str
    name: str
    rank: int


class AreaOut(Schema):
    id: int
    name: str
    name_en: str
    code: str | None
    level: LevelOut
    parent_id: int | None
    depth: int
    label_lon: float | None
    label_lat: float | None
    attributes: dict[str, Any]


class AreaDetailOut(AreaOut):
    geometry: dict[str, Any] | None


class AreaIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    code: str | None = Field(None, max_length=32)
    level: str = Field(..., max_length=32, description="层级标识，如 grid")
    parent_id: int | None = None
    geometry: dict[str, Any] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class AreaPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=32)
    geometry: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None


class AreaFilter(Schema):
    q: str = Field("", max_length=100, description="名称或编码")
    parent: int | None = Field(None, description="只列出该区域的直接下级")
    under: int | None = Field(None, description="列出该区域的整个下级树")
    level: str | None = Field(None, max_length=32)


@router.get("/levels", response=list[LevelOut])
def list_levels(request):
    return AreaLevel.objects.all()


@router.get("", response={200: list[AreaOut], **errors(404)})
@paginate(Pagination)
def list_areas(request, filters: Query[AreaFilter]):
    under = queries.get_area(request.user, filters.under) if filters.under else None
    qs = queries.search(request.user, filters.q, under=under, level=filters.level)
    if filters.parent is not None:
        qs = qs.filter(parent=queries.get_area(request.user, filters.parent))
    return qs


@router.get("/lookup", response={200: AreaOut, 404: ErrorBody})
def lookup(request, lon: float = Query(..., ge=-180, le=180), lat: float = Query(..., ge=-90, le=90)):
    """The smallest area you can see that contains the point (e.g. the grid of a report)."""
    area = services.area_at(lon, lat)
    if area is None:
        from django.http import Http404

        raise Http404
    return queries.get_area(request.user, area.pk)


@router.get("/export.geojson", response={200: None, **errors(404)}, openapi_extra={
    "responses": {200: {"description": "GeoJSON FeatureCollection",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}}}}})
def export_geojson(request, under: int | None = None):
    """Your areas (or one subtree) as a GeoJSON FeatureCollection."""
    qs = queries.visible_areas(request.user)
    if under is not None:
        qs = qs.under(queries.get_area(request.user, under))
    return HttpResponse(io.to_geojson_bytes(qs), content_type="application/geo+json")


@router.get("/{int:area_id}", response=AreaDetailOut)
def get_area(request, area_id: int):
    return queries.get_area(request.user, area_id)


def _check_can(request, perm: str, area: Area | None) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(_("没有编辑区划的权限"))


@router.post("", response={201: AreaDetailOut})
def create_area(request, payload: AreaIn):
    _check_can(request, "areas.add_area", None)
    parent = queries.get_area(request.user, payload.parent_id) if payload.parent_id else None
    if parent is None and not request.user.is_superuser:
        raise PermissionDenied(_("只有管理员可以创建顶级区域"))
    level = AreaLevel.objects.filter(slug=payload.level).first()
    if level is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({"level": [_("没有这个层级：%(slug)s") % {"slug": payload.level}]})
    area = services.create_area(
        actor=request.user, level=level, parent=parent, name=payload.name, code=payload.code,
        geometry=payload.geometry, attributes=payload.attributes, name_en=payload.name_en,
    )
    return Status(201, area)


@router.patch("/{int:area_id}", response=AreaDetailOut)
def update_area(request, area_id: int, payload: AreaPatch):
    area = queries.get_area(request.user, area_id)
    _check_can(request, "areas.change_area", area)
    changes = payload.model_dump(exclude_unset=True)
    return services.update_area(area, actor=request.user, **changes)
