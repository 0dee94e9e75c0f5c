"""/api/v1/safety: the public map as JSON (平安等级公示, docs/safety.md "The public map").

``GET /public?month=2026-10`` — no sign-in, like the page: the month (default: the latest published),
the published months, and for each published jurisdiction its name, level, level label, colour,
boundary and a label point. Nothing else (no counts, satisfaction, population, measures, drafts).
A month that is not a month: 400 ``bad_month``. ``Cache-Control: public, max-age=300``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Field, Router, Schema
from ninja.responses import Status

from gongzhi.core.api import errors

from . import queries, services
from .public_views import PUBLIC_MAX_AGE

router = Router(tags=["safety 平安等级"])


class PublicAreaOut(Schema):
    name: str = Field(..., description="警务辖区名称")
    level: str = Field(..., description="等级：green 良好 | blue 安全 | yellow 关注 | red 警告 | black 严重")
    level_label: str = Field(..., description="等级名称（如 蓝色·安全）")
    colour: str = Field(..., description="地图颜色")
    geometry: dict | None = Field(None, description="边界（GeoJSON 几何，WGS84）；未绘制时为空")
    label_point: list[float] | None = Field(None, description="标注点 [经度, 纬度]（边界内）")


class PublicMonthOut(Schema):
    month: str | None = Field(..., description="月份 YYYY-MM；尚无公布时为空")
    months: list[str] = Field(..., description="已公布的月份，最新在前")
    areas: list[PublicAreaOut]


def _label_point(geometry) -> list[float] | None:
    if not geometry:
        return None
    from gongzhi.areas import geo

    try:
        return [round(v, 6) for v in geo.label_point(geo.parse_geometry(geometry))]
    except geo.GeometryError:  # a stored boundary that no longer parses: no label, never a 500
        return None


@router.get("/public", response={200: PublicMonthOut, **errors(400)}, auth=None, summary="平安等级公示（无需登录）")
def public(request, response: HttpResponse, month: str | None = None):
    try:
        month = services.parse_month(month) if month and month.strip() else queries.latest_published_month()
    except ValidationError as exc:
        message = "；".join(exc.messages)
        return Status(400, {"error": {"code": "bad_month", "message": message, "fields": {"month": [message]}}})
    rows = queries.public_month_rows(month) if month else []
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    areas = []
    for pa, grade in rows:
        props = queries.public_feature(pa, grade.level)["properties"]
        areas.append({**props, "geometry": pa.geometry, "label_point": _label_point(pa.geometry)})
    return {"month": f"{month:%Y-%m}" if month else None,
            "months": [f"{m:%Y-%m}" for m in queries.published_months()], "areas": areas}
