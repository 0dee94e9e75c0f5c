"""Scoped reads of safety grades, and the small functions the wall screen and the monthly report use.

``month_grades(month, within=None)`` → ``[(police_area, level, figures), …]`` (published grades only)
``geojson(rows)`` → a GeoJSON FeatureCollection coloured by level, for Leaflet or ECharts.
``public_level_for(area)`` → the published level over a resident's place (the public map, for the portal).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from gongzhi.areas.models import Area
from gongzhi.core.scoping import get_visible_or_404

from .models import COLOURS, RANK, Grade, Level, Measure, PoliceArea
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


# ------------------------------------------------------------------------------ the public map (公示)
# What a city publishes, for everyone, signed in or not (docs/safety.md "The public map"): for each
# published grade of a jurisdiction large enough to publish, its name and level, and the month. Nothing
# else leaves these functions: no counts, no satisfaction, no population, no measures, no drafts.


def _community_rank() -> int:
    """The rank of the community level in the area tree (3 with the default levels)."""
    from gongzhi.areas.models import AreaLevel

    rank = AreaLevel.objects.filter(slug="community").values_list("rank", flat=True).first()
    return 3 if rank is None else rank


def public_police_areas() -> QuerySet[PoliceArea]:
    """Jurisdictions the public map may show: active, and covering at least one area at community level
    or above. A jurisdiction mapped only to grids or buildings (a small 警务区) is left out: its level
    could point at a few households (the small-area rule, docs/safety.md)."""
    ids = PoliceArea.objects.filter(is_active=True, covers__level__rank__lte=_community_rank()).values("pk")
    return PoliceArea.objects.filter(pk__in=ids)


def public_grades() -> QuerySet[Grade]:
    """Published grades of the publicly shown jurisdictions (never a draft)."""
    return Grade.objects.filter(status=Grade.Status.PUBLISHED, police_area__in=public_police_areas().values("pk"))


def published_months(limit: int = 36) -> list[datetime.date]:
    """Months with at least one public grade, latest first (the public month picker)."""
    return list(public_grades().order_by("-month").values_list("month", flat=True).distinct()[:limit])


def latest_published_month() -> datetime.date | None:
    return public_grades().order_by("-month").values_list("month", flat=True).first()


def public_month_rows(month) -> list[tuple[PoliceArea, Grade]]:
    """The month's public grades as (jurisdiction, grade), by jurisdiction code. Callers show only the
    jurisdiction's name and boundary and the grade's level (``public_feature``)."""
    month = parse_month(month)
    qs = public_grades().filter(month=month).select_related("police_area").order_by("police_area__code")
    return [(grade.police_area, grade) for grade in qs]


def public_feature(police_area: PoliceArea, level: str) -> dict:
    """A map feature with nothing but the name, the level and its colour."""
    return {"type": "Feature", "geometry": police_area.geometry,
            "properties": {"name": police_area.name, "level": level, "level_label": str(Level(level).label),
                           "colour": COLOURS[level]}}


@dataclass(frozen=True)
class PublicLevel:
    """The public level for a place of the area tree (``public_level_for``).

    ``area``: the area the level was found at (the place itself or its nearest covered ancestor);
    ``jurisdictions``: (name, level) of each graded jurisdiction covering ``area`` that month;
    ``level``: the worst of their levels (one jurisdiction: its level)."""

    month: datetime.date
    area: object
    level: str
    jurisdictions: tuple[tuple[str, str], ...]

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label)

    @property
    def colour(self) -> str:
        return COLOURS[self.level]


def public_level_for(area, month=None) -> PublicLevel | None:
    """The published level of the nearest graded ancestor-or-self of ``area`` (an ``areas.Area``: a
    resident's community, grid or building), in ``month`` (default: the latest published month, as on
    the public page). "Graded" means covered by a publicly shown jurisdiction with a published grade
    that month. None when ``area`` is None, nothing is published, or no jurisdiction covers the area or
    any area above it. Four small queries at most; no user is needed (the level is public)."""
    if area is None:
        return None
    month = parse_month(month) if month is not None else latest_published_month()
    if month is None:
        return None
    chain = [area.pk, *reversed(area.ancestor_ids())]  # self first, then the nearest ancestors
    covering_ids = PoliceArea.objects.filter(covers__in=chain).values("pk")
    grades = {g.police_area_id: g for g in public_grades().filter(month=month, police_area__in=covering_ids)
              .select_related("police_area")}
    if not grades:
        return None
    covering: dict[int, list[Grade]] = {}
    links = PoliceArea.covers.through.objects.filter(area_id__in=chain, policearea_id__in=list(grades))
    for area_id, pa_id in links.values_list("area_id", "policearea_id"):
        covering.setdefault(area_id, []).append(grades[pa_id])
    for area_id in chain:
        found = covering.get(area_id)
        if found:
            found.sort(key=lambda g: g.police_area.code)
            at = area if area_id == area.pk else Area.objects.get(pk=area_id)
            worst = max((g.level for g in found), key=RANK.__getitem__)
            return PublicLevel(month=month, area=at, level=worst,
                               jurisdictions=tuple((g.police_area.name, g.level) for g in found))
    return None
