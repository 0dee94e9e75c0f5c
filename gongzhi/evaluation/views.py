"""Evaluation pages, at /evaluation/: the indicators of my jurisdiction, the monthly ranking, the
callers' return-visit queue, and the reporter's phone survey (a link with a secret token).

Who sees what: the read door (``gongzhi.core.scoping``). Indicators and rankings need a
jurisdiction (a role in an area, or work in a department); they show only areas inside it, and a
ranking ranks only the areas shown. The visit queue is the command center's (受理员, 派遣员, 值班长),
for cases inside the areas where they hold that role.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas.models import Area, AreaLevel
from gongzhi.cases.choices import Rating
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import jurisdiction

from . import counting, queries, services
from .definitions import DEFINITIONS, Indicator
from .models import ReturnVisit, Scheme

RANK_LEVELS = ("district", "street", "community", "grid")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "evaluation/forbidden.html", {"message": message}, status=403)


def parse_month(value: str | None, default: datetime.date) -> datetime.date:
    """``YYYY-MM`` → the first day of that month; anything else → ``default``."""
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return datetime.date(year, month, 1) if 2000 <= year <= 2100 else default
    except (TypeError, ValueError):
        return default


def parse_date(value: str | None) -> datetime.date | None:
    try:
        day = datetime.date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def _schemes():
    return list(Scheme.objects.order_by("-is_default", "name"))


def _scheme(request: HttpRequest, schemes) -> Scheme | None:
    code = request.GET.get("scheme")
    chosen = next((s for s in schemes if s.code == code), None)
    return chosen or next((s for s in schemes if s.is_default), None) or (schemes[0] if schemes else None)


def _top_areas(user) -> list[Area]:
    """The outermost areas of the user's jurisdiction (the whole tree's roots for a superuser)."""
    scope = jurisdiction(user)
    if scope.everything:
        return list(Area.objects.filter(parent__isnull=True).select_related("level").order_by("path"))
    areas = Area.objects.filter(path__in=scope.paths).select_related("level").order_by("path")
    return list(areas)


def _definitions(spec) -> list[dict]:
    codes = [i.indicator for i in spec.items] if spec is not None else list(DEFINITIONS)
    return [{"code": c, "label": Indicator(c).label, "help": DEFINITIONS[c].help} for c in codes]


@login_required
@require_GET
def indicators(request: HttpRequest) -> HttpResponse:
    """One area of my jurisdiction over a month or a date range, and each of its child areas."""
    user = request.user
    scope = jurisdiction(user)
    if scope.empty:
        return _forbidden(request, _("只有有管辖区域的人员可以查看考核指标"))
    tops = _top_areas(user)
    today = timezone.localdate()
    area = None
    area_id = request.GET.get("area")
    if area_id:
        from gongzhi.core.scoping import get_visible_or_404

        area = get_visible_or_404(Area.objects.select_related("level"), user, pk=area_id)
    area = area or (tops[0] if tops else None)
    month = parse_month(request.GET.get("month"), counting.month_start(today))
    start, end = parse_date(request.GET.get("start")), parse_date(request.GET.get("end"))
    if start and end and start <= end and (end - start).days <= 366:
        period_label = f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
    else:
        start, end = month, counting.next_month(month) - datetime.timedelta(days=1)
        period_label = f"{month:%Y-%m}"
    schemes = _schemes()
    scheme = _scheme(request, schemes)
    spec = queries.scheme_spec(scheme)
    # Departments: their work inside the area (whole months only; read from the facts).
    with_departments = area is not None and counting.whole_months(start, end) and start == month
    # A month never counted: 尚未统计 instead of figures (the worker counts it; a page never does).
    pending = (queries.pending_months([*counting.months_between(start, end),
                                       *([counting.previous_month(month)] if with_departments else [])])
               if area is not None and counting.whole_months(start, end) else [])
    children = list(Area.objects.filter(parent=area).select_related("level").order_by("code", "name")[:300]) \
        if area is not None and not pending else []
    rows = [(child, queries.indicators(child, start, end, scheme=spec)) for child in children]
    total = queries.indicators(area, start, end, scheme=spec) if area is not None and not pending else None
    departments = (queries.department_ranking(month, within=area, scheme=spec, viewer=user)
                   if with_departments and not pending else [])
    people = [(member, queries.indicators(member.user, start, end, scheme=spec)) for member in _posts(area)]
    return render(request, "evaluation/indicators.html", {
        "departments": [r for r in departments if r.figures.cases],
        "people": [(member, figures) for member, figures in people if figures.cases],
        "area": area, "tops": tops, "children": rows, "total": total, "spec": spec, "schemes": schemes,
        "scheme": scheme, "month": month, "start": start, "end": end, "period_label": period_label,
        "custom_range": bool(request.GET.get("start")), "definitions": _definitions(spec),
        "months": _recent_months(today), "pending": [f"{m:%Y-%m}" for m in pending],
    })


#: At most this many posts (role holders) on the indicators page: each costs a few queries.
MAX_POSTS = 40


def _posts(area: Area | None) -> list:
    """The active posts (岗位: a person in a role) in the area and its child areas — a community's
    grid workers, a street's dispatchers — for the per-person figures."""
    if area is None:
        return []
    from gongzhi.orgs.models import Membership

    return list(Membership.objects.active().filter(Q(area=area) | Q(area__parent=area))
                .select_related("user", "role", "area").order_by("area__path", "role__code", "user__username")
                [:MAX_POSTS])


def _recent_months(today: datetime.date, n: int = 13) -> list[datetime.date]:
    out, m = [], counting.month_start(today)
    for _i in range(n):
        out.append(m)
        m = counting.previous_month(m)
    return out


def default_level(user) -> str:
    """The level a ranking shows first: streets for the city, else the level below the user's areas."""
    scope = jurisdiction(user)
    if scope.everything or not scope.paths:
        return "street"
    top = min(scope.paths, key=len)
    child = Area.objects.filter(parent__path=top).select_related("level").first()
    if child is not None and child.level.slug in RANK_LEVELS:
        return child.level.slug
    own = Area.objects.filter(path=top).select_related("level").first()
    return own.level.slug if own is not None and own.level.slug in RANK_LEVELS else "grid"


@login_required
@require_GET
def ranking(request: HttpRequest) -> HttpResponse:
    """The monthly ranking of one level (or of departments), with the change from the month before."""
    user = request.user
    if jurisdiction(user).empty:
        return _forbidden(request, _("只有有管辖区域的人员可以查看考核排名"))
    today = timezone.localdate()
    month = parse_month(request.GET.get("month"), counting.previous_month(counting.month_start(today)))
    level = request.GET.get("level") or default_level(user)
    if level not in (*RANK_LEVELS, "department"):
        level = default_level(user)
    schemes = _schemes()
    scheme = _scheme(request, schemes)
    spec = queries.scheme_spec(scheme)
    rows = queries.monthly_ranking(month, level, scheme=spec, viewer=user)
    pending = rows.pending  # a month never counted: 尚未统计 (the worker counts it within minutes)
    levels = [(slug, AreaLevel.objects.filter(slug=slug).values_list("name", flat=True).first() or slug)
              for slug in RANK_LEVELS]
    return render(request, "evaluation/ranking.html", {
        "rows": [] if pending else rows, "pending": [f"{m:%Y-%m}" for m in pending], "month": month,
        "previous": counting.previous_month(month), "level": level,
        "levels": levels, "schemes": schemes, "scheme": scheme, "spec": spec, "definitions": _definitions(spec),
        "months": _recent_months(today),
    })


# --------------------------------------------------------------------------- return visits


def _caller_visits(user):
    scope = jurisdiction(user)
    qs = ReturnVisit.objects.select_related("case", "case__department", "case__area")
    if scope.everything:
        return qs
    q = Q()
    for path in scope.command_paths:
        q |= Q(case__area_path__startswith=path)
    return qs.filter(q) if scope.command_paths else qs.none()


@login_required
@require_GET
def visits(request: HttpRequest) -> HttpResponse:
    """The callers' queue: pending visits of cases in my command-center areas, oldest first."""
    try:
        services.check_caller(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    pending = (_caller_visits(request.user).filter(status=ReturnVisit.Status.PENDING)
               .order_by("created_at", "id")[:100])
    done = _caller_visits(request.user).exclude(status=ReturnVisit.Status.PENDING).order_by("-answered_at", "-id")[:20]
    return render(request, "evaluation/visits.html", {"pending": pending, "done": done, "ratings": Rating.choices})


def _answer_from_post(request: HttpRequest) -> tuple[bool | None, str, str]:
    resolved = {"yes": True, "no": False}.get(request.POST.get("resolved", ""))
    return resolved, request.POST.get("satisfaction", ""), request.POST.get("comment", "")


@login_required
@require_POST
def visit_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """A caller enters the answer (or: unreachable / declined)."""
    try:
        services.check_caller(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    visit = _caller_visits(request.user).filter(pk=pk).first()
    if visit is None:
        raise Http404
    outcome = request.POST.get("outcome", "answered")
    try:
        if outcome in (ReturnVisit.Status.UNREACHABLE, ReturnVisit.Status.DECLINED):
            services.visit_failed(visit, actor=request.user, outcome=outcome, note=request.POST.get("comment", ""))
            messages.info(request, _("已记录：%(outcome)s") % {"outcome": ReturnVisit.Status(outcome).label})
        else:
            resolved, satisfaction, comment = _answer_from_post(request)
            services.answer_visit(visit, actor=request.user, resolved=resolved, satisfaction=satisfaction,
                                  comment=comment, via="phone")
            messages.success(request, _("回访已记录：案件 %(number)s") % {"number": visit.case.number})
    except (ValidationError, Conflict) as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("evaluation:visits")


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The reporter's phone page (the link in their inbox or a text message): resolved? satisfied?"""
    visit = ReturnVisit.objects.select_related("case").filter(token=token[:64]).first() if token else None
    if visit is None:
        raise Http404
    errors: dict = {}
    if request.method == "POST" and visit.status != ReturnVisit.Status.ANSWERED:
        resolved, satisfaction, comment = _answer_from_post(request)
        try:
            actor = request.user if request.user.is_authenticated else None
            visit = services.answer_visit(visit, actor=actor, resolved=resolved, satisfaction=satisfaction,
                                          comment=comment, via="online")
        except ValidationError as exc:
            errors = exc.message_dict
        except Conflict:
            visit.refresh_from_db()
        else:
            return redirect("evaluation:survey", token=visit.token)
    return render(request, "evaluation/survey.html", {"visit": visit, "case": visit.case, "errors": errors,
                                                      "ratings": Rating.choices},
                  status=400 if errors else 200)
