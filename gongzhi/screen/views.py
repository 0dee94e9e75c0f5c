"""The command center's wall screen (大屏, /screen/) and the monthly reports (月报, /screen/reports/).

Only command-center roles, leaders and superusers (``rules.may_view``); each sees their own
jurisdiction, or one area of it (``?area=<id>``, the same 404 outside). The page itself carries no
figures: ``wall.js`` asks ``data.json`` every ``SCREEN_REFRESH_SECONDS`` and redraws in place, and
draws the area outlines from ``areas.geojson`` once. No inline script or style (CSP).
"""

from __future__ import annotations

import datetime
import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gongzhi.areas import queries as area_queries
from gongzhi.areas.models import Area, AreaLevel
from gongzhi.cases.views import positive_int
from gongzhi.core import refcache

from . import queries, report, rules

MAX_OUTLINES = 400      # polygons drawn on the screen's map
OUTLINE_TOLERANCE = 0.0002  # degrees (about 20 m): outlines are simplified, the wall is far away
REPORT_MONTHS = 24      # months offered on the download page
REPORT_AREAS = 300


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "screen/forbidden.html", {"message": str(exc)}, status=403)


def _area(request: HttpRequest) -> Area | None:
    """``?area=<id>``: one area of the jurisdiction (404 outside, or for a bad id)."""
    raw = request.GET.get("area")
    if raw in (None, ""):
        return None
    pk = positive_int(raw)
    if pk is None:
        from django.http import Http404

        raise Http404
    return area_queries.get_area(request.user, pk)


@login_required
@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    try:
        rules.require_view(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    area = _area(request)
    scope = queries.scope_for(request.user, area)
    query = f"?{urlencode({'area': area.pk})}" if area else ""
    from django.conf import settings

    return render(request, "screen/wall.html", {
        "scope": scope, "area": area,
        "data_url": reverse("screen:data") + query, "areas_url": reverse("screen:areas") + query,
        "refresh": queries.conf("SCREEN_REFRESH_SECONDS"),
        "tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION,
        "TIME_ZONE": settings.TIME_ZONE,
    })


@login_required
@require_GET
def data(request: HttpRequest) -> JsonResponse:
    """The live figures (module doc of ``queries``); the same for every viewer of a jurisdiction."""
    try:
        rules.require_view(request.user)
    except PermissionDenied as exc:
        return JsonResponse({"error": {"code": "forbidden", "message": str(exc)}}, status=403)
    scope = queries.scope_for(request.user, _area(request))
    response = JsonResponse(queries.live(scope), json_dumps_params={"ensure_ascii": False,
                                                                      "separators": (",", ":")})
    response["Cache-Control"] = "private, no-store"
    return response


def outline_features(scope: queries.Scope) -> list[dict]:
    """The tops of the scope and the areas under them down to the streets (or one level below a
    street), simplified, for the map's outlines."""
    from shapely.geometry import mapping, shape

    if scope.everything:
        tops = list(Area.objects.filter(parent__isnull=True).select_related("level"))
    else:
        tops = list(Area.objects.filter(pk__in=scope.area_ids).select_related("level"))
    if not tops:
        return []
    street_rank = AreaLevel.objects.filter(slug="street").values_list("rank", flat=True).first() or 0
    deepest = max(max(t.level.rank for t in tops) + 1, street_rank)
    qs = Area.objects.under_paths([t.path for t in tops]).filter(level__rank__lte=deepest, geometry__isnull=False)
    top_ids = {t.pk for t in tops}
    features = []
    for a in qs.select_related("level").order_by("depth", "path")[:MAX_OUTLINES]:
        try:
            geometry = mapping(shape(a.geometry).simplify(OUTLINE_TOLERANCE, preserve_topology=True))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {"id": a.pk, "name": a.name, "role": "top" if a.pk in top_ids else "child",
                                        "level": a.level.slug}})
    return features


@login_required
@require_GET
def areas(request: HttpRequest) -> JsonResponse:
    """The outlines for the map (kept in the per-process reference cache: areas rarely change)."""
    try:
        rules.require_view(request.user)
    except PermissionDenied as exc:
        return JsonResponse({"error": {"code": "forbidden", "message": str(exc)}}, status=403)
    scope = queries.scope_for(request.user, _area(request))
    features = refcache.get(("screen-outlines", scope.key), lambda: outline_features(scope))
    return JsonResponse({"type": "FeatureCollection", "features": features},
                        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})


# --------------------------------------------------------------------------- monthly reports


def report_areas(user) -> list[Area]:
    """The areas whose reports the viewer may download: their tops, and the streets (or the areas
    above the communities) beneath them."""
    street_rank = AreaLevel.objects.filter(slug="street").values_list("rank", flat=True).first()
    qs = area_queries.visible_areas(user).defer("geometry")
    if street_rank is not None:
        qs = qs.filter(level__rank__lte=street_rank)
    return list(qs.order_by("path")[:REPORT_AREAS])


def default_report_area(user) -> Area | None:
    return area_queries.roots_for(user).defer("geometry").order_by("path").first()


def recent_months(today: datetime.date | None = None, n: int = REPORT_MONTHS) -> list[datetime.date]:
    month = (today or timezone.localdate()).replace(day=1)
    out = []
    for _i in range(n):
        out.append(month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return out


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    """Pick a month and an area, download the xlsx or the PDF."""
    try:
        rules.require_view(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    months = recent_months()
    fmt = request.GET.get("fmt")
    month = request.GET.get("month", "")
    area_id = positive_int(request.GET.get("area"))
    if fmt in ("xlsx", "pdf") and re.fullmatch(r"[0-9]{4}-[0-9]{2}", month[:7]):
        target = reverse("screen:download", kwargs={"month": month[:7], "fmt": fmt})
        return redirect(target + (f"?{urlencode({'area': area_id})}" if area_id else ""))
    default = default_report_area(request.user)
    # The previous month is the usual one: the current month is still running.
    chosen_month = months[1] if len(months) > 1 else months[0]
    return render(request, "screen/reports.html", {
        "months": [m.strftime("%Y-%m") for m in months], "chosen_month": chosen_month.strftime("%Y-%m"),
        "areas": report_areas(request.user), "chosen_area": default.pk if default else None,
        "lang": get_language(),
    })


@login_required
@require_GET
def download(request: HttpRequest, month: str, fmt: str) -> HttpResponse:
    try:
        rules.require_view(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    area = _area(request) or default_report_area(request.user)
    try:
        when = report.parse_month(month)
    except ValueError as exc:
        return render(request, "screen/forbidden.html", {"message": str(exc), "title": _("无法生成月报")}, status=400)
    if area is None:
        return render(request, "screen/forbidden.html", {"message": _("没有可生成月报的区域"),
                                                         "title": _("无法生成月报")}, status=400)
    waiting = report.pending(when)
    if waiting:  # never counted: the worker counts it (a download, a GET, never does)
        response = render(request, "screen/forbidden.html", {
            "title": _("尚未统计"),
            "message": _("%(months)s 的考核数据尚未统计：后台正在统计，几分钟后请重新下载。") % {
                "months": "、".join(f"{m:%Y-%m}" for m in waiting)}}, status=503)
        response["Retry-After"] = "120"
        return response
    built = report.build(when, area)
    if fmt == "pdf":
        response = HttpResponse(report.to_pdf(built), content_type="application/pdf")
    else:
        response = HttpResponse(report.to_xlsx(built),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{built.filename(fmt)}"'
    response["Cache-Control"] = "private, no-store"
    return response
