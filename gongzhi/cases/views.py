"""Web pages for cases: the command-center queue (with bulk dispatch), the case detail, the
department inbox, "my reports", and the photos behind a permission check.

Reads go through ``queries`` (one door: outsiders get the same 404 as for a missing case), writes
through ``services``; the POST handlers of the single transitions live in ``actions.py``. Phone
first; no inline script or style anywhere (CSP): behaviour is in ``static/gongzhi/cases.js``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gongzhi.areas import queries as area_queries
from gongzhi.core import refcache
from gongzhi.core.scoping import MAX_ID, jurisdiction
from gongzhi.core.templatetags.gongzhi import lname
from gongzhi.orgs.models import Department

from . import photos, queries, routing, rules, services
from .choices import STEP_OF_STATE, LimitUnit, LocateStatus, Rating, Source, Status
from .models import Case, CaseEvent, Category, followed_case_ids
from .queries import QueueFilter

PAGE_SIZE = 50
MAX_PAGE = 2000            # deeper than 100,000 rows: narrow the filters instead
MAX_BULK = 100             # cases per bulk dispatch
CITY_TZ = "Asia/Shanghai"  # templates show every time in the city's own zone
INBOX_TABS = (("to_accept", gettext_lazy("待签收")), ("in_progress", gettext_lazy("处置中")),
              ("overdue", gettext_lazy("已超期")))
#: What the due time on the detail page is for: the step whose clock runs (choices.STEP_OF_STATE).
DUE_LABELS = {"dispatch": gettext_lazy("派遣期限"), "handle": gettext_lazy("处置期限"),
              "verify": gettext_lazy("核查期限")}
#: Forms opened first on the detail page: what this viewer most likely came to do.
PRIMARY_ACTIONS = ("file", "dispatch", "accept", "handle", "verify", "rate", "decide_extension")


class LookaheadPaginator(Paginator):
    """Django's Paginator without ``COUNT(*)`` (a queue may hold millions of rows).

    A page reads one row more than it shows; that row only says that a next page exists. ``count``
    is what has been seen so far, never the total, so templates show "next", not "page n of m".
    """

    def get_page(self, number) -> Page:
        try:
            number = min(max(int(number), 1), MAX_PAGE)
        except (TypeError, ValueError):
            number = 1
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        self.count = bottom + len(rows)  # shadows the cached property: no COUNT query is made
        return self._get_page(rows[:self.per_page], number, self)


def lookahead_page(request: HttpRequest, qs: QuerySet[Case]) -> Page:
    page = LookaheadPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for case in page.object_list:
        case.late = is_late(case, now)
    return page


def is_late(case: Case, now=None) -> bool:
    """Overdue: marked by the sweeper, or past its due time while still open."""
    now = now or timezone.now()
    return bool(case.overdue or (case.is_open and case.due_at is not None and case.due_at < now))


def positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def subnav(user) -> dict:
    """Which case lists this viewer has (the tabs on top of every case page)."""
    scope = jurisdiction(user)
    return {"has_queue": not scope.empty or bool(scope.department_ids), "has_inbox": bool(scope.department_ids),
            "is_command": scope.everything or bool(scope.command_paths)}


def is_command_over(user, case: Case) -> bool:
    """A command-center user for this case's area (or the city center for an unlocated case)."""
    return jurisdiction(user).commands_path(case.area_path or None)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --------------------------------------------------------------------------- lists


@login_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """The "案件" menu entry: the most useful list for this viewer."""
    scope = jurisdiction(request.user)
    if scope.everything or scope.command_paths:
        return redirect("cases:queue")
    if scope.department_ids:
        return redirect("cases:inbox")
    if not scope.empty:
        return redirect("cases:queue")
    return redirect("cases:mine")


def queue_filter(request: HttpRequest) -> QueueFilter:
    """The queue's filters from GET parameters; anything invalid is ignored. Default: open cases."""
    get = request.GET
    status = get.get("status", "open") if "status" in get else "open"
    if status not in ("open", "", *Status.values):
        status = "open"
    source = get.get("source", "")
    overdue = {"1": True, "0": False}.get(get.get("overdue", ""))
    return QueueFilter(status=status or None, category=positive_int(get.get("category")),
                       area=positive_int(get.get("area")), department=positive_int(get.get("department")),
                       source=source if source in Source.values else None, overdue=overdue,
                       to_locate=get.get("to_locate") == "1" or None, q=get.get("q", "")[:100])


def active_categories() -> QuerySet[Category]:
    return Category.objects.filter(version__is_active=True, is_active=True).order_by("code")


def dispatch_departments(user) -> QuerySet[Department]:
    return Department.objects.visible_to(user).filter(is_active=True).order_by("kind", "name")


FILTER_AREAS = 300  # areas above the grids offered in the queue's area filter


def _options(rows) -> SafeString:
    return format_html_join("", '<option value="{}">{}</option>', rows)


def with_selected(options: str, value: int | None) -> SafeString:
    """A cached ``<option>`` list with the option of ``value`` (an id) selected."""
    if value:
        options = options.replace(f'<option value="{int(value)}">', f'<option value="{int(value)}" selected>', 1)
    return mark_safe(options)  # noqa: S308 (escaped by format_html_join; only an int was added)


def filter_options(user) -> dict[str, SafeString]:
    """The queue's ``<option>`` lists for categories (the active directory), areas above the grids
    and departments of the viewer's jurisdiction, rendered once and kept in the per-process reference
    cache (``core.refcache``) per language and jurisdiction.

    Rendering some 250 categories and hundreds of areas was most of the page's CPU. A change of a
    category, directory version, area, area level or department (all watched by ``refcache``)
    clears them in this process; other processes see it within ``REFERENCE_CACHE_SECONDS``.
    """
    scope = jurisdiction(user)
    lang = get_language() or ""

    def categories():
        return _options((c.pk, f"{c.code} {c.name}") for c in active_categories().only("pk", "code", "name"))

    def areas():
        qs = (area_queries.visible_areas(user).exclude(level__slug__in=("grid", "building"))
              .only("pk", "name", "level__name", "level__name_en"))[:FILTER_AREAS]
        return _options((a.pk, f"{a.name} · {lname(a.level)}") for a in qs)

    def departments():
        return _options((d.pk, lname(d)) for d in dispatch_departments(user).only("pk", "kind", "name", "name_en"))

    return {
        "categories": refcache.get(("queue-categories", lang), categories),
        "areas": refcache.get(("queue-areas", lang, scope.everything, scope.paths), areas),
        "departments": refcache.get(("queue-departments", lang, scope.everything, scope.paths,
                                     scope.department_ids), departments),
    }


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The command-center queue: filters, 50 per page, bulk dispatch for those who may dispatch."""
    user = request.user
    scope = jurisdiction(user)
    if scope.empty and not scope.department_ids:
        return redirect("cases:mine")
    f = queue_filter(request)
    try:
        qs = queries.queue(user, f)
    except Http404:  # an area outside the jurisdiction: drop that filter
        f.area = None
        qs = queries.queue(user, f)
    nav = subnav(user)
    options = filter_options(user)
    return render(request, "cases/queue.html", {
        "f": f, "page": lookahead_page(request, qs), "query": _query_without_page(request),
        "statuses": Status.choices, "sources": Source.choices,
        "category_options": with_selected(options["categories"], f.category),
        "area_options": with_selected(options["areas"], f.area),
        "department_options": with_selected(options["departments"], f.department),
        "dispatch_options": options["departments"], "filtered": _has_filters(f),
        "can_bulk": nav["is_command"], "sees_unlocated": scope.sees_unlocated, "nav": nav, "current": "queue",
    })


def _has_filters(f: QueueFilter) -> bool:
    return any([f.category, f.area, f.department, f.source, f.overdue is not None, f.to_locate,
                f.status not in ("open",)])


@login_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch the selected cases to one department. Each case is its own transaction: one failure
    (wrong state, not yours, someone else was faster) is reported and doesn't undo the others."""
    user = request.user
    back = safe_next(request, reverse("cases:queue"))
    numbers = list(dict.fromkeys(n.strip() for n in request.POST.getlist("cases") if n.strip()))[:MAX_BULK]
    department = dispatch_departments(user).filter(pk=positive_int(request.POST.get("department")) or 0).first()
    if not numbers:
        messages.error(request, _("请先勾选要派遣的案件"))
        return redirect(back)
    if department is None:
        messages.error(request, _("请选择有效的处置部门"))
        return redirect(back)
    found = {c.number: c for c in queries.visible_cases(user).filter(number__in=[n[:32] for n in numbers])}
    for number in numbers:
        case = found.get(number)
        if case is None:
            messages.error(request, _("案件 %(number)s：未找到") % {"number": number[:32]})
            continue
        try:
            services.dispatch_case(case, actor=user, department=department)
        except (PermissionDenied, ValidationError) as exc:
            text = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, _("案件 %(number)s：%(error)s") % {"number": number, "error": text})
        else:
            messages.success(request, _("案件 %(number)s 已派遣至 %(department)s") % {
                "number": number, "department": department.name})
    return redirect(back)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """A department's work: to accept, in progress, overdue."""
    user = request.user
    department_ids = jurisdiction(user).department_ids
    if not department_ids:
        messages.info(request, _("你不是任何部门的工作人员"))
        return redirect("cases:start")
    tab = request.GET.get("tab", "to_accept")
    if tab not in dict(INBOX_TABS):
        tab = "to_accept"
    tabs = [{"key": key, "label": label, "count": queries.department_inbox(user, department_ids, tab=key).count()}
            for key, label in INBOX_TABS]
    return render(request, "cases/inbox.html", {
        "tab": tab, "tabs": tabs, "departments": Department.objects.filter(pk__in=department_ids),
        "page": lookahead_page(request, queries.department_inbox(user, department_ids, tab=tab)),
        "query": _query_without_page(request), "nav": subnav(user), "current": "inbox",
    })


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """What the viewer reported: a grid worker's "my reports", a resident's "my cases"."""
    text = request.GET.get("q", "").strip()[:100]
    followed = followed_case_ids(request.user)
    qs = (Case.objects.filter(Q(reporter=request.user) | Q(pk__in=followed)) if followed
          else queries.my_reports(request.user))  # what they reported, and what they follow (关注)
    qs = qs.select_related("category", "department", "area").defer("area__geometry").order_by("-created_at", "-id")
    if text:
        qs = qs.filter(Q(number__startswith=text) | Q(title__icontains=text) | Q(description__icontains=text)
                       | Q(address__icontains=text))
    page = lookahead_page(request, qs)
    for row in page.object_list:
        row.followed = row.reporter_id != request.user.pk
    return render(request, "cases/mine.html", {
        "q": text, "page": page, "query": _query_without_page(request),
        "nav": subnav(request.user), "current": "mine", "closed": Status.CLOSED,
    })


# --------------------------------------------------------------------------- detail


def event_detail(event: CaseEvent) -> str:
    """A short human reading of an event's data (which department, passed or not, the rating…)."""
    data = event.data or {}
    if event.action in ("dispatch", "auto_dispatch") and event.department_id:
        return _("至 %(department)s") % {"department": event.department.name}
    if event.action == "verify":
        return _("通过，结案") if data.get("passed") else _("不通过，返工")
    if event.action == "check":
        return _("情况属实") if data.get("confirmed") else _("情况不属实")
    if event.action == "rate":
        label = str(dict(Rating.choices).get(data.get("rating"), ""))
        return label + (_("，要求重新办理") if data.get("reopen") else "")
    if event.action == "decide_extension":
        return _("同意") if data.get("approved") else _("不同意")
    if event.action == "request_extension" and data.get("amount"):
        return f"{data['amount']} {dict(LimitUnit.choices).get(data.get('unit'), '')}"
    if event.action == "merge" and data.get("master"):
        return _("合并至 %(number)s") % {"number": data["master"]}
    if event.action == "set_urgent":
        return _("紧急") if data.get("urgent") else _("取消紧急")
    return ""


def timeline_rows(case: Case) -> list[CaseEvent]:
    events = list(queries.timeline(case))
    for event in events:
        action = "auto_dispatch" if (event.data or {}).get("via") == "auto_dispatch" else event.action
        event.label = _(services.ACTION_LABELS.get(action, action))
        event.detail = event_detail(event)
    return events


def action_context(user, case: Case, allowed: list[str], wanted: str = "") -> dict:
    """What the action forms need: only computed for the actions this viewer may take now."""
    context: dict = {}
    if "dispatch" in allowed:
        suggested = routing.departments_for(case)
        context["suggested"] = suggested
        context["other_departments"] = dispatch_departments(user).exclude(pk__in=[d.pk for d in suggested])
    if "file" in allowed:
        context["categories"] = active_categories()
    if "request_extension" in allowed:
        context["units"] = LimitUnit.choices
    if "locate" in allowed:
        context["grids"] = area_queries.search(user, "", level="grid").select_related("parent")[:50]
    if "rate" in allowed:
        context["ratings"] = Rating.choices
    primary = [a for a in allowed if a in PRIMARY_ACTIONS]
    if "locate" in allowed and case.locate_status == LocateStatus.TO_LOCATE:
        primary.insert(0, "locate")  # a case without a grid is placed first
    context["open_action"] = wanted if wanted in allowed else (primary[0] if primary else "")
    return context


@login_required
@require_GET
def detail(request: HttpRequest, number: str) -> HttpResponse:
    user = request.user
    case = queries.get_case(user, number)
    allowed = rules.allowed_actions(user, case)
    scope = jurisdiction(user)
    command = is_command_over(user, case)
    case.late = is_late(case)
    events = timeline_rows(case)
    if not rules.sees_details(user, case):
        follower_view(case, events)  # a follower sees the case, not who reported it or what they wrote
    return render(request, "cases/detail.html", {
        "case": case, "allowed": allowed, "events": events,
        "photos": list(case.photos.all()), "is_command": command,
        "is_staff_view": not scope.empty or bool(scope.department_ids),
        "area_geojson": reverse("areas:map", args=[case.area_id])
        if case.area_id and scope.covers_path(case.area_path) else "",
        "duplicates": case.duplicates.visible_to(user).only("number", "title") if command else [],
        "nav": subnav(user), "current": "",
        "due_label": DUE_LABELS.get(STEP_OF_STATE.get(case.status, ""), _("期限")),
        "pending_extension": case.extensions.select_related("requested_by").filter(decided_at__isnull=True).first()
        if case.is_open else None,
        **action_context(user, case, allowed, request.GET.get("open", "")),
        **duplicates_context(user, case, allowed),
    })


def follower_view(case: Case, events: list[CaseEvent]) -> None:
    """What a follower (neither the reporter nor staff) is not shown: the reporter's name on the
    timeline, and what the reporter wrote (the description, extra fields, the report's note, a
    withdrawal, a rating comment)."""
    case.description, case.extra = "", {}
    reporter_label = _("上报人")
    for event in events:
        if case.reporter_id and event.actor_id == case.reporter_id:
            event.actor_name = reporter_label
            if event.action in ("report", "withdraw", "rate"):
                event.note = ""
    case.rating_comment = ""


def duplicates_context(user, case: Case, allowed: list[str]) -> dict:
    """cases/_duplicates.html: likely duplicates with the evidence for who may merge (the command
    center over the case), and following (关注) for everybody else who sees the case."""
    from . import duplicates
    from .models import CaseFollower

    context: dict = {"following": False, "can_follow": False, "dup_rows": [], "dup_shown": False,
                     "followers_count": 0}
    if case.is_open and rules.allowed_by_role(user, "merge", case):
        context["dup_shown"] = True
        context["followers_count"] = CaseFollower.objects.filter(case=case).count()
        may_merge_this = "merge" in allowed
        for candidate in duplicates.find_duplicates(case, user=user, limit=5):
            other = candidate.case
            context["dup_rows"].append({
                "c": candidate, "case": other,
                "merge_into": may_merge_this and rules.allowed_by_role(user, "merge", other),
                "merge_here": rules.can(user, "merge", other),
            })
        context["case_photos"] = [p for p in case.photos.all()][:4]
    elif case.reporter_id != user.pk:
        context["following"] = CaseFollower.objects.filter(case=case, user=user).exists()
        context["can_follow"] = case.is_open and not context["following"]
    return context


@login_required
@require_POST
def follow(request: HttpRequest, number: str) -> HttpResponse:
    """关注 / 取消关注 from the case page (``do=follow`` or ``do=unfollow``)."""
    case = queries.get_case(request.user, number)
    if request.POST.get("do") == "unfollow":
        services.unfollow_case(case, user=request.user)
        messages.success(request, _("已取消关注"))
        if not queries.visible_cases(request.user).filter(pk=case.pk).exists():
            return redirect("cases:mine")  # it was only visible while followed
    else:
        try:
            services.follow_case(case, user=request.user, via="page")
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("已关注，办理进展会通知你"))
    return redirect("cases:detail", number=case.number)


@login_required
@require_GET
def photo(request: HttpRequest, number: str, photo_id: str | int, kind: str) -> HttpResponse:
    """A case photo, for viewers of the case only. ``public`` and ``thumbnail`` carry no EXIF; the
    re-encoded original (``image``) is for the command center over the case's area."""
    pk = positive_int(photo_id)
    if kind not in ("thumbnail", "public", "image") or pk is None:
        raise Http404
    case = queries.get_case(request.user, number)
    item = case.photos.filter(pk=pk).first()
    if item is None or (kind == "image" and not is_command_over(request.user, case)):
        raise Http404
    field = getattr(item, kind)
    if not field:
        raise Http404
    return photos.photo_response(field)  # only our re-encoded JPEGs, with nosniff and a sandbox CSP


@login_required
@require_GET
def area_options(request: HttpRequest) -> HttpResponse:
    """Grid-level areas the viewer sees, by name or code: the options of the "locate" form (htmx)."""
    text = request.GET.get("area_q", "")[:100]
    grids = area_queries.search(request.user, text, level="grid").select_related("parent")[:50]
    return render(request, "cases/_area_options.html", {"grids": grids})
