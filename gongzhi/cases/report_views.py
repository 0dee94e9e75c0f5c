"""The phone report page (上报问题) for grid workers and residents.

One URL takes both kinds of submission: the plain HTML form (redirect to a thank-you page, or the
form again with the errors and everything the user typed) and the JSON mode used by report.js and
its offline queue (``Accept: application/json``: 201 created / 200 the same case again / 400
errors). A key generated in the browser makes a double tap or a retried offline submission return
the first case. The service worker (cache of the page shell, Background Sync) is served from
``/report/sw.js`` so that its scope may be ``/report/``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import shapely
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from shapely.geometry import shape

from gongzhi.areas import geo
from gongzhi.areas.models import Area
from gongzhi.core.scoping import jurisdiction

from . import intake
from .choices import Source
from .forms import ReportForm, active_categories
from .models import Case, Category

#: Roles whose holders report as a patrol (网格员巡查) rather than as residents.
GRID_ROLES = frozenset({"grid_worker", "grid_head", "informant", "grid_member", "supervisor", "yard_steward",
                        "building_head", "alley_head", "area_head"})
CATEGORY_LIMIT = 20
#: Static files the service worker keeps for offline use (besides the page itself).
OFFLINE_ASSETS = ("gongzhi/app.css", "gongzhi/report.css", "gongzhi/app.js", "gongzhi/report.js",
                  "gongzhi/report-queue.js", "gongzhi/report-extra.js", "gongzhi/report-map.js",
                  "gongzhi/report-nearby.js", "gongzhi/favicon.svg", "vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js",
                  "vendor/htmx/htmx.min.js")


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def json_error(code: str, message: str, status: int, fields: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": fields or {}}}, status=status)


def login_required_page_or_json(view: Callable) -> Callable:
    """``login_required`` for pages; a JSON 401 for the offline queue (which must not follow a
    redirect to the login page and mistake it for success)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if wants_json(request) or request.headers.get("HX-Request"):
            return json_error("not_authenticated", _("登录已过期，请重新登录"), 401)
        return redirect_to_login(request.get_full_path())

    return wrapper


def source_for(user) -> str:
    """Grid roles report as a patrol (网格员巡查), everybody else as a resident."""
    return Source.PATROL if GRID_ROLES & set(jurisdiction(user).role_paths) else Source.RESIDENT


# --- the map's starting view ------------------------------------------------------------------

_city_bounds_cache: tuple[int, tuple[float, float, float, float] | None] | None = None


def _city_bounds() -> tuple[float, float, float, float] | None:
    """The bounding box of every area with a polygon, computed once per version of the index."""
    global _city_bounds_cache
    index = geo.current_index()
    if _city_bounds_cache is None or _city_bounds_cache[0] != index.version:
        bounds = None
        if len(index.geoms):
            bounds = tuple(float(v) for v in shapely.total_bounds(index.geoms))
        _city_bounds_cache = (index.version, bounds)
    return _city_bounds_cache[1]


def _map_context(user) -> dict:
    """Where the map opens: the reporter's own area (a grid worker's grid, drawn as an outline), else
    the whole city."""
    scope = jurisdiction(user)
    bounds, outline = None, ""
    if scope.paths and not scope.everything:
        area = (Area.objects.filter(path__in=scope.paths).exclude(geometry__isnull=True)
                .order_by("-depth").only("pk", "geometry").first())
        if area is not None:
            try:
                bounds = tuple(float(v) for v in shape(area.geometry).bounds)
                outline = reverse("areas:map", args=[area.pk])
            except (TypeError, ValueError, KeyError, shapely.errors.ShapelyError):
                bounds = None
    if bounds is None:
        bounds = _city_bounds()
    return {"map_bounds": ",".join(f"{v:.6f}" for v in bounds) if bounds else "", "map_outline": outline}


# --- the page --------------------------------------------------------------------------------

def _strings() -> dict:
    """What report.js says, translated here (it can't call gettext)."""
    return {
        "queued": _("已保存，联网后自动发送"),
        "queuedLogin": _("已保存。登录已过期：重新登录后自动发送"),
        "sending": _("正在提交…"),
        "submit": _("提交"),
        "sent": _("已发送"),
        "waiting": _("等待联网"),
        "failed": _("未能受理"),
        "retry": _("立即重试"),
        "remove": _("删除"),
        "edit": _("放回表单修改"),
        "caseNumber": _("案件编号"),
        "fixErrors": _("请修改标注的内容后重新提交"),
        "serverBusy": _("服务器暂时无法受理，已保存，稍后自动重试"),
        "titleRequired": _("请填写标题"),
        "placeRequired": _("请在地图上选点或填写地址"),
        "notImage": _("“%(name)s”不是照片，已忽略"),
        "tooBig": _("“%(name)s”超过 %(mb)s MB，已忽略"),
        "tooMany": _("最多上传 %(n)s 张照片"),
        "removePhoto": _("移除这张照片"),
        "locating": _("正在定位…"),
        "located": _("已定位，精度约 %(m)s 米。可拖动图钉或点击地图修正位置"),
        "noGeolocation": _("此设备不支持定位，请在地图上点选位置或填写地址"),
        "geoDenied": _("没有定位权限，请在地图上点选位置或填写地址"),
        "geoFailed": _("暂时无法定位，请在地图上点选位置或填写地址"),
        "pinSet": _("已在地图上选点"),
        "noPin": _("尚未选点"),
        "coords": _("经度 %(lon)s，纬度 %(lat)s"),
        "draftRestored": _("已恢复上次未提交的草稿"),
        "categoryOffline": _("离线时无法搜索分类，可以不选，由受理员分类"),
        "noCategory": _("没有找到匹配的分类，可以不选，由受理员分类"),
        "queueSending": _("发送中…"),
        "savedAt": _("保存于"),
        "notNumber": _("请填写数字"),
        "followFailed": _("未能关注，请稍后再试"),
        "extraOffline": _("离线时无法载入该分类的补充信息，可以先提交；联网后如缺少必填项会提示补充"),
    }


def _render_form(request: HttpRequest, form: ReportForm, *, status: int = 200, photos_dropped: bool = False):
    category = form.chosen_category
    return render(request, "cases/report.html", {
        "form": form,
        "category_label": str(category) if category else "",
        "extra_category": category,
        "extra_items": form.extra_items(),
        "photos_dropped": photos_dropped,
        "source": source_for(request.user),
        "max_photos": settings.CASE_PHOTO_MAX_COUNT,
        "max_photo_mb": settings.CASE_PHOTO_MAX_BYTES // (1024 * 1024),
        "strings": _strings(),
        **_map_context(request.user),
    }, status=status)


def _done_url(case: Case) -> str:
    return reverse("report:done", args=[case.number])


def _success(request: HttpRequest, case: Case, created: bool):
    if wants_json(request):
        return JsonResponse({"number": case.number, "url": _done_url(case), "status": case.status,
                             "status_display": case.get_status_display(), "created": created},
                            status=201 if created else 200)
    return redirect(_done_url(case))


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in ValidationError(errors).messages] for name, errors in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


@login_required_page_or_json
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest):
    if request.method == "GET":
        return _render_form(request, ReportForm())
    try:
        data, files = request.POST, request.FILES
    except (SuspiciousOperation, MultiPartParserError):  # too big, too many files or fields, malformed
        # Usually stopped earlier (the CSRF check reads the form first) with a plain 400.
        message = _("提交的内容过大或格式有误")
        if wants_json(request):
            return json_error("invalid", message, 400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")

    # A retry (double tap, offline queue, lost response) gets the first case before anything else
    # is checked again: the category may have been retired since, the photos are not decoded twice.
    key = (data.get("idempotency_key") or "").strip()
    if key and len(key) <= 100:
        existing = Case.objects.filter(reporter=request.user, idempotency_key=key).first()
        if existing is not None:
            return _success(request, existing, created=False)

    form = ReportForm(data, files)
    if form.is_valid():
        d = form.cleaned_data
        user = request.user
        report_data = intake.Report(
            title=d["title"], description=d["description"], category=d["category"], lon=d["lon"], lat=d["lat"],
            address=d["address"].strip(), source=source_for(user), urgent=d["urgent"],
            idempotency_key=d["idempotency_key"] or None, reporter_name=str(user)[:64],
            reporter_phone=getattr(user, "phone", "") or "", extra=form.extra_values(), photos=d["photos"],
        )
        try:
            case, created = intake.report_case(report_data, reporter=user)
        except ValidationError as exc:
            for name, messages in _errors_of(exc).items():
                field = {"lat": "lon", "idempotency_key": None, "source": None}.get(
                    name, name if name in form.fields else None)
                for message in messages:
                    form.add_error(field, message)
        else:
            return _success(request, case, created)

    if wants_json(request):
        fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        return json_error("invalid", _("请修改标注的内容后重新提交"), 400, fields)
    return _render_form(request, form, status=400, photos_dropped=bool(files.getlist("photos")))


@login_required_page_or_json
@require_GET
def done(request: HttpRequest, number: str):
    """The thank-you page, for the reporter only ("not yours" and "no such case" are the same 404)."""
    case = (Case.objects.filter(reporter=request.user, number=number[:32])
            .select_related("category", "area").first())
    if case is None:
        raise Http404
    return render(request, "cases/report_done.html", {"case": case})


def search_categories(text: str) -> QuerySet[Category]:
    """Active categories of the active directory matching every word by code, name or keywords."""
    words = text.split()[:5]
    if not words:
        return active_categories().none()
    qs = active_categories()
    for word in words:
        qs = qs.filter(Q(code__startswith=word) | Q(name__icontains=word) | Q(keywords__icontains=word)
                       | Q(major_name__icontains=word))
    return qs.order_by("code")[:CATEGORY_LIMIT]


@login_required_page_or_json
@require_GET
def categories(request: HttpRequest):
    """Category suggestions: HTML for htmx, JSON for anything else."""
    text = (request.GET.get("q") or request.GET.get("category_q") or "")[:50].strip()
    results = list(search_categories(text))
    if request.headers.get("HX-Request"):
        return render(request, "cases/_report_categories.html", {"q": text, "results": results})
    return JsonResponse({"results": [{"code": c.code, "name": c.name, "label": str(c), "major_name": c.major_name}
                                     for c in results]})


@login_required_page_or_json
@require_GET
def category_fields(request: HttpRequest):
    """The chosen category's extra fields (htmx fragment), empty for no or an unknown category. Under
    /report/categories/ so that the service worker keeps the answers for offline use."""
    code = (request.GET.get("category") or "")[:16].strip()
    category = active_categories().filter(code=code).first() if code else None
    form = ReportForm(category=category)
    return render(request, "cases/_report_extra_fields.html", {
        "extra_category": category, "extra_items": form.extra_items()})


def offline(request: HttpRequest):
    """Shown by the service worker when the phone is offline and a page isn't cached."""
    return render(request, "cases/report_offline.html", {"strings": _strings()})


# --- the service worker ----------------------------------------------------------------------

def _read_static(name: str) -> str:
    path = finders.find(name)
    if path:
        return Path(path).read_text(encoding="utf-8")
    with staticfiles_storage.open(name) as fh:
        return fh.read().decode("utf-8")


@functools.cache
def _cached_sw_body() -> str:
    return _read_static("gongzhi/sw.js")


def _asset_urls() -> list[str]:
    urls = []
    for name in OFFLINE_ASSETS:
        try:
            urls.append(static(name))
        except ValueError:  # not in the manifest (collectstatic not run): the page still works online
            continue
    return urls


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """sw.js with its configuration in front. Served from /report/ so that its scope may be /report/."""
    body = _read_static("gongzhi/sw.js") if settings.DEBUG else _cached_sw_body()
    assets = _asset_urls()
    version = hashlib.sha256((body + "\n".join(assets)).encode()).hexdigest()[:12]
    config = {"version": version, "assets": assets, "shell": reverse("report:report"),
              "offline": reverse("report:offline"), "post": reverse("report:report")}
    response = HttpResponse(f"self.GONGZHI_SW = {json.dumps(config)};\n{body}",
                            content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/report/"
    response["Cache-Control"] = "no-cache"
    return response


# --- similar open cases nearby: follow instead of reporting again ------------------------------

def _point(data) -> tuple[float | None, float | None]:
    from .duplicates import _finite

    lon, lat = _finite((data.get("lon") or "")[:40]), _finite((data.get("lat") or "")[:40])
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None, None
    return lon, lat


@login_required_page_or_json
@require_GET
def nearby(request: HttpRequest):
    """Open cases near the pin that look like what is being written (an htmx-style fragment for
    report.js; JSON for anything else). Public fields only (duplicates.public_view)."""
    from . import duplicates

    get = request.GET
    lon, lat = _point(get)
    code = (get.get("category") or "")[:16].strip()
    fields = {"title": (get.get("title") or "")[:100], "description": (get.get("description") or "")[:5000],
              "category": active_categories().filter(code=code).first() if code else None, "lon": lon, "lat": lat}
    rows = duplicates.nearby_for(request.user, fields) if lon is not None else []
    if request.headers.get("HX-Request"):
        return render(request, "cases/_report_nearby.html", {"rows": rows, "lon": lon, "lat": lat})
    for row in rows:
        row["created_at"] = row["created_at"].isoformat()
    return JsonResponse({"results": rows})


@login_required_page_or_json
@require_http_methods(["POST"])
def follow(request: HttpRequest):
    """关注此案件 from the nearby list: the case must be open and near the pin (or one the user sees).
    Then to "my cases", where it is listed."""
    from django.contrib import messages

    from . import duplicates, services

    number = (request.POST.get("number") or "").strip()[:32]
    lon, lat = _point(request.POST)
    try:
        case = duplicates.followable(request.user, number, lon, lat)
        services.follow_case(case, user=request.user, via="report")
    except Http404:
        message = _("找不到该案件，或它已不在附近")
    except ValidationError as exc:
        message = " ".join(str(m) for m in exc.messages)
    else:
        messages.success(request, _("已关注案件 %(number)s，办理进展会通知你") % {"number": case.number})
        if wants_json(request):
            return JsonResponse({"number": case.number, "following": True, "url": reverse("cases:mine")})
        return redirect("cases:mine")
    if wants_json(request):
        return json_error("invalid", message, 400)
    messages.error(request, message)
    return redirect("report:report")


@login_required_page_or_json
@require_GET
def nearby_photo(request: HttpRequest, number: str, photo_id: str):
    """The thumbnail of a report photo of an open case, as the nearby list shows it (no EXIF): only
    with the point it was found from (``?lon=&lat=`` within the duplicate radius), as for following."""
    from . import duplicates, photos

    try:
        pk = int(photo_id)
    except ValueError:
        raise Http404 from None
    lon, lat = _point(request.GET)
    photo = duplicates.public_photo(number, pk, lon, lat) if 0 < pk < 2**63 else None
    if photo is None:
        raise Http404
    return photos.photo_response(photo.thumbnail)
