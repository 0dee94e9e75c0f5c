"""Web pages for the area tree: browse, search, map data, export — all through the read door."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from gongzhi.orgs import queries as org_queries

from . import io, queries


@login_required
@require_GET
def index(request):
    roots = list(queries.roots_for(request.user).annotate(child_count=Count("children")))
    if len(roots) == 1:
        return redirect("areas:detail", pk=roots[0].pk)
    return render(request, "areas/index.html", {"roots": roots})


@login_required
@require_GET
def detail(request, pk: int):
    area = queries.get_area(request.user, pk)
    return render(request, "areas/detail.html", {
        "area": area,
        "crumbs": queries.breadcrumbs(request.user, area),
        "children": queries.children(request.user, area).select_related("level"),
        "members": org_queries.visible_memberships(request.user).filter(area=area).order_by("role__sort"),
        "departments": org_queries.visible_departments(request.user).filter(areas__in=[area, *area.ancestor_ids()]),
        "subtree_count": queries.visible_areas(request.user).under(area, include_self=False).count(),
    })


def _feature(area, role: str) -> dict:
    return {"type": "Feature", "geometry": area.geometry,
            "properties": {"id": area.pk, "name": area.name, "code": area.code, "role": role,
                           "level": area.level.name, "url": f"/areas/{area.pk}/"}}


@login_required
@require_GET
def map_data(request, pk: int):
    """The area and its direct children as GeoJSON, for the page's map."""
    area = queries.get_area(request.user, pk)
    features = [_feature(area, "self")]
    features += [_feature(c, "child") for c in queries.children(request.user, area).select_related("level")
                 if c.geometry]
    return JsonResponse({"type": "FeatureCollection", "features": [f for f in features if f["geometry"]]})


@login_required
@require_GET
def search(request):
    text = request.GET.get("q", "")[:100]
    results = queries.search(request.user, text).select_related("level", "parent") if text.strip() else None
    page = Paginator(results, 50).get_page(request.GET.get("page")) if results is not None else None
    template = "areas/_search_results.html" if request.headers.get("HX-Request") else "areas/search.html"
    return render(request, template, {"q": text, "page": page})


@login_required
@require_GET
def export(request, pk: int, fmt: str):
    area = queries.get_area(request.user, pk)
    qs = queries.visible_areas(request.user).under(area)
    name = (area.code or str(area.pk))
    if fmt == "xlsx":
        response = HttpResponse(io.to_xlsx_bytes(qs),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(io.to_geojson_bytes(qs), content_type="application/geo+json")
    response["Content-Disposition"] = f'attachment; filename="areas-{name}.{fmt}"'
    return response


