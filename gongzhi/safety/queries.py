"""Scoped reads of safety grades, and the small functions the wall screen and the monthly report use.

``month_grades(month, within=None)`` → ``[(police_area, level, figures), …]`` (published grades only)
``geojson(rows)`` → a GeoJSON FeatureCollection coloured by level, for Leaflet or ECharts.
"""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from gongzhi.core.scoping import get_visible_or_404

from .models import COLOURS, Grade, Level, Measure, PoliceArea
from .services import parse_month

NO_GRADE_COLOUR = "#9e9e9e"


def _overlapping(within) -> Q:
    """Jurisdictions overlapping an area of the tree: a covered area inside it or above it."""
    return Q(covers__path__startswith=within.path) | Q(covers__in=within.ancestor_ids())


def month_grades(month, within=None, *, published_only: bool = True) -> list[tuple[PoliceArea, str, dict]]:
    """The month's grades as (jurisdiction, level, figures), ordered by jurisdiction code.

    ``within``: an ``areas.Area`` (a street, a district) to keep only the jurisdictions overlapping it.
    ``figures`` has the four counts, satisfaction (text, exact), population, the per-indicator detail,
    the scheme version and the grade's id. Not scoped to a user: callers show it to those who may see it.
    """
    month = parse_month(month)
    qs = Grade.objects.filter(month=month).select_related("police_area", "scheme")
    if published_only:
        qs = qs.filter(status=Grade.Status.PUBLISHED)
    if within is not None:
        qs = qs.filter(police_area__in=PoliceArea.objects.filter(_overlapping(within)).values("pk"))
    rows = []
    for grade in qs.order_by("police_area__code"):
        figures = {**grade.figures(), "detail": grade.detail, "scheme": grade.scheme.version, "grade_id": grade.pk,
                   "status": grade.status}
        rows.append((grade.police_area, grade.level, figures))
    return rows


def visible_grades(user) -> QuerySet[Grade]:
    return Grade.objects.visible_to(user).select_related("police_area", "scheme")


def get_grade(user, pk) -> Grade:
    return get_visible_or_404(Grade.objects.select_related("police_area", "scheme", "published_by"), user, pk=pk)


def get_measure(user, pk) -> Measure:
    measure = Measure.objects.select_related("grade").filter(pk=pk).first() if str(pk).isdigit() else None
    if measure is None:
        from django.http import Http404

        raise Http404
    get_grade(user, measure.grade_id)  # the same 404 when the grade is not visible
    return measure


def user_month_rows(user, month: datetime.date) -> list[tuple[PoliceArea, Grade | None]]:
    """Every jurisdiction the user sees, with its grade for the month (if visible), for the map."""
    grades = {g.police_area_id: g for g in visible_grades(user).filter(month=month)}
    areas = PoliceArea.objects.visible_to(user).filter(is_active=True).order_by("code")
    return [(pa, grades.get(pa.pk)) for pa in areas]


def months_with_grades(user, limit: int = 24) -> list[datetime.date]:
    return list(visible_grades(user).order_by("-month").values_list("month", flat=True).distinct()[:limit])


def feature(police_area: PoliceArea, level: str | None, figures: dict | None, *, url: str = "") -> dict:
    label = Level(level).label if level else ""
    return {"type": "Feature", "geometry": police_area.geometry,
            "properties": {"id": police_area.pk, "code": police_area.code, "name": police_area.name,
                           "level": level or "", "level_label": str(label),
                           "colour": COLOURS.get(level or "", NO_GRADE_COLOUR), "figures": figures or {},
                           "url": url}}


def geojson(rows) -> dict:
    """A FeatureCollection from ``month_grades`` rows (or any (police_area, level, figures) triples);
    jurisdictions without a boundary are left out."""
    return {"type": "FeatureCollection",
            "features": [feature(pa, level, figures) for pa, level, figures in rows if pa.geometry]}
