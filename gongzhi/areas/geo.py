"""Geometry: polygon validation and the in-memory point → area index (MapIt-style, no PostGIS).

Polygons are kept as GeoJSON (WGS84 lon/lat) in ``Area.geometry``. ``AreaIndex`` holds a shapely
STRtree over every area with a polygon; a lookup returns the smallest (deepest) containing area.
The index is rebuilt lazily when ``AreaIndexStamp.version`` changes, so every process sees edits.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

METRES_PER_DEGREE = 111_320.0


class GeometryError(ValueError):
    """A polygon that can't be stored; the message is for the user."""


def parse_geometry(data) -> shapely.Geometry:
    """GeoJSON dict → shapely Polygon/MultiPolygon, or GeometryError saying what is wrong."""
    if not isinstance(data, dict) or "type" not in data or "coordinates" not in data:
        raise GeometryError(_("边界不是有效的 GeoJSON 几何对象"))
    if data["type"] not in ("Polygon", "MultiPolygon"):
        raise GeometryError(_("边界必须是 Polygon 或 MultiPolygon，而不是 %(t)s") % {"t": data["type"]})
    rings = data["coordinates"] if data["type"] == "Polygon" else [r for p in data["coordinates"] for r in p]
    try:
        for ring in rings:
            if len(ring) < 4:
                raise GeometryError(_("边界的每个环至少需要 4 个点（首尾相同）"))
            if list(ring[0]) != list(ring[-1]):
                raise GeometryError(_("边界没有闭合：首点与末点必须相同"))
            for point in ring:
                lon, lat = float(point[0]), float(point[1])
                if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                    raise GeometryError(_("坐标超出经纬度范围：%(p)s") % {"p": point})
        geom = shape(data)
    except GeometryError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, shapely.errors.ShapelyError):
        raise GeometryError(_("边界坐标格式错误")) from None
    if geom.is_empty:
        raise GeometryError(_("边界为空"))
    if not geom.is_valid:
        raise GeometryError(_("边界无效：%(reason)s") % {"reason": explain_validity(geom)})
    return geom


def check_inside(child: shapely.Geometry, parent: shapely.Geometry, tolerance_m: float | None = None) -> None:
    """Raise GeometryError when ``child`` sticks out of ``parent`` by more than the tolerance."""
    if tolerance_m is None:
        tolerance_m = settings.AREA_CONTAINMENT_TOLERANCE_M
    tolerance = tolerance_m / METRES_PER_DEGREE
    if not parent.buffer(tolerance).covers(child):
        outside = child.difference(parent).area / child.area if child.area else 1
        raise GeometryError(
            _("边界超出上级区域（超出部分约占 %(pct).1f%%，容差 %(tol)s 米）") % {"pct": outside * 100, "tol": tolerance_m}
        )


def label_point(geom: shapely.Geometry) -> tuple[float, float]:
    point = geom.representative_point()
    return point.x, point.y


@dataclass
class AreaIndex:
    """An STRtree over polygons; ``ids[i]`` is the area id of ``geoms[i]``."""

    version: int
    ids: np.ndarray
    geoms: np.ndarray
    sizes: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, rows, version: int = 0) -> AreaIndex:
        """``rows`` yields (area_id, geojson geometry); invalid geometries are skipped."""
        ids, geoms = [], []
        for area_id, geometry in rows:
            try:
                geom = shape(geometry)
            except (TypeError, ValueError, KeyError, shapely.errors.ShapelyError):
                continue
            if geom.is_empty:
                continue
            ids.append(area_id)
            geoms.append(geom)
        geom_array = np.array(geoms, dtype=object)
        ids_array = np.array(ids, dtype=np.int64)
        sizes = shapely.area(geom_array) if geoms else np.array([])
        # Smallest first: among the polygons containing a point, the lowest index is the answer.
        order = np.argsort(sizes, kind="stable")
        geom_array, ids_array, sizes = geom_array[order], ids_array[order], sizes[order]
        shapely.prepare(geom_array)
        return cls(version=version, ids=ids_array, geoms=geom_array, sizes=sizes,
                   tree=shapely.STRtree(geom_array))

    # The tree answers bounding boxes only; the exact test is shapely.contains_xy on the prepared
    # polygons, which is several times faster than STRtree's own predicate on large boundaries
    # (docs/benchmarks.md).
    def lookup(self, lon: float, lat: float) -> int | None:
        """The id of the smallest area containing the point, or None."""
        hits = self.tree.query(shapely.points(np.array((lon, lat), dtype=float)))
        if len(hits) == 0:
            return None
        inside = hits[shapely.contains_xy(self.geoms[hits], lon, lat)]
        return int(self.ids[inside.min()]) if len(inside) else None

    def lookup_many(self, lons, lats) -> np.ndarray:
        """Vectorised lookup: an array of area ids, -1 where no area contains the point."""
        lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        result = np.full(len(lons), -1, dtype=np.int64)
        if len(self.ids) == 0 or len(lons) == 0:
            return result
        point_idx, geom_idx = self.tree.query(shapely.points(lons, lats))
        keep = shapely.contains_xy(self.geoms[geom_idx], lons[point_idx], lats[point_idx])
        best = np.full(len(lons), len(self.ids), dtype=np.int64)
        np.minimum.at(best, point_idx[keep], geom_idx[keep])
        found = best < len(self.ids)
        result[found] = self.ids[best[found]]
        return result


_lock = threading.Lock()
_cached: AreaIndex | None = None
_checked_at = 0.0
STAMP_CHECK_SECONDS = 1.0


def current_index(*, recheck: bool = False) -> AreaIndex:
    """The process's index, rebuilt when the database stamp has moved (checked at most once a second,
    or now with ``recheck``)."""
    global _cached, _checked_at
    from .models import Area, AreaIndexStamp

    now = time.monotonic()
    if _cached is not None and not recheck and now - _checked_at < STAMP_CHECK_SECONDS:
        return _cached
    stamp = AreaIndexStamp.objects.values_list("version", flat=True).first() or 0
    with _lock:
        if _cached is None or _cached.version != stamp:
            rows = Area.objects.exclude(geometry__isnull=True).values_list("pk", "geometry").iterator(chunk_size=2000)
            _cached = AreaIndex.build(rows, version=stamp)
        _checked_at = now
    return _cached


def forget_index() -> None:
    """Drop this process's copy (tests use it; other processes notice the stamp)."""
    global _cached
    _cached = None
