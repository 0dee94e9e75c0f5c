"""The public safety map (平安等级公示): no sign-in, what a city publishes and nothing more.

For the latest published month (or one picked from the published months): each publicly shown
jurisdiction's name, level and boundary, and a legend. Reads only through ``queries.public_*``
(published grades of jurisdictions at community level or above, docs/safety.md "The public map").
The page may be kept by the browser for a few minutes, the map data by any cache: both change only
when a grade is published (or, rarely, taken back).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from . import queries, services
from .models import LEVELS

#: seconds the public page and its map data may be kept (a publish shows within this time)
PUBLIC_MAX_AGE = 300


class BadMonth(Exception):
    pass


def _asked_month(request) -> datetime.date | None:
    """The month asked for, or None for "the latest published"; ``BadMonth`` when it is not a month."""
    raw = request.GET.get("month", "").strip()
    if not raw:
        return None
    try:
        return services.parse_month(raw)
    except ValidationError as exc:
        raise BadMonth("；".join(exc.messages)) from exc


@require_safe
def public_map(request):
    """The public page: map, legend and list of the month's published levels."""
    months = queries.published_months()
    error = None
    status = 200
    try:
        month = _asked_month(request) or (months[0] if months else None)
    except BadMonth as exc:
        month, error, status = None, str(exc), 400
    rows = queries.public_month_rows(month) if month else []
    response = render(request, "safety/public.html", {
        "month": month, "months": months, "rows": rows, "error": error,
        "legend": [(level.value, level.label) for level in LEVELS],
        "has_geometry": any(pa.geometry for pa, _g in rows),
    }, status=status)
    if status == 200:
        # private: the page carries the language switch's CSRF token and, when signed in, the user's name
        patch_cache_control(response, private=True, max_age=PUBLIC_MAX_AGE)
    return response


@require_safe
def public_map_data(request):
    """The public map's GeoJSON: name, level, level label and colour of each published jurisdiction."""
    try:
        month = _asked_month(request) or queries.latest_published_month()
    except BadMonth as exc:
        return JsonResponse({"error": {"code": "bad_month", "message": str(exc), "fields": {"month": [str(exc)]}}},
                            status=400)
    rows = queries.public_month_rows(month) if month else []
    response = JsonResponse({"type": "FeatureCollection", "month": f"{month:%Y-%m}" if month else None,
                             "features": [queries.public_feature(pa, grade.level) for pa, grade in rows
                                          if pa.geometry]})
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response
