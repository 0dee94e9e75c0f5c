"""The POST side of the case detail page: one small handler per transition, one door (``perform``).

Each handler reads its form fields and calls the matching ``services`` function, which checks who
may act and from which state. ``perform`` turns the outcome into a page:

- PermissionDenied → a 403 page with the reason;
- ValidationError (``services.TransitionError`` included: someone else acted first) → back to the
  detail page with the message shown — never a 500;
- success → back to the detail page with a success message.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.areas import queries as area_queries
from gongzhi.areas.services import area_at

from . import queries, routing, rules, services
from .models import Case
from .views import active_categories, dispatch_departments, positive_int

Handler = Callable[[HttpRequest, Case], str]


def _text(request: HttpRequest, name: str, limit: int = 2000) -> str:
    return (request.POST.get(name) or "").strip()[:limit]


def _choice(request: HttpRequest, name: str, options: dict, message: str):
    """The value of a yes/no style field, or a ValidationError naming what is missing."""
    value = request.POST.get(name)
    if value not in options:
        raise ValidationError({name: [message]})
    return options[value]


def _float(request: HttpRequest, name: str) -> float | None:
    raw = (request.POST.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({name: [_("经纬度必须是数字")]}) from None
    if not math.isfinite(value):
        raise ValidationError({name: [_("经纬度必须是数字")]})
    return value


def _done(action: str) -> str:
    return _("“%(action)s”已完成") % {"action": _(services.ACTION_LABELS.get(action, action))}


# --------------------------------------------------------------------------- handlers


def check(request: HttpRequest, case: Case) -> str:
    confirmed = _choice(request, "confirmed", {"yes": True, "no": False}, _("请选择核实结果"))
    services.check_case(case, actor=request.user, confirmed=confirmed, note=_text(request, "note"))
    return _("已核实：情况属实") if confirmed else _("已核实：情况不属实")


def file(request: HttpRequest, case: Case) -> str:
    category = None
    category_id = positive_int(request.POST.get("category"))
    if category_id is not None:
        category = active_categories().filter(pk=category_id).first()
        if category is None:
            raise ValidationError({"category": [_("该分类已停用，请重新选择")]})
    services.file_case(case, actor=request.user, category=category, note=_text(request, "note"),
                       urgent=request.POST.get("urgent") == "1")
    return _("已立案，请派遣")


def not_file(request: HttpRequest, case: Case) -> str:
    services.not_file_case(case, actor=request.user, reason=_text(request, "reason"))
    return _("已不予立案")


def withdraw(request: HttpRequest, case: Case) -> str:
    services.withdraw_case(case, actor=request.user, reason=_text(request, "reason"))
    return _("已撤回")


def dispatch(request: HttpRequest, case: Case) -> str:
    department_id = positive_int(request.POST.get("department"))
    department = dispatch_departments(request.user).filter(pk=department_id or 0).first()
    if department is None and department_id is not None:
        # a department the rules suggest may lie outside what the dispatcher sees
        department = next((d for d in routing.departments_for(case) if d.pk == department_id), None)
    if department is None:
        raise ValidationError({"department": [_("请选择有效的处置部门")]})
    services.dispatch_case(case, actor=request.user, department=department, note=_text(request, "note"))
    return _("已派遣至 %(department)s") % {"department": department.name}


def accept(request: HttpRequest, case: Case) -> str:
    services.accept_case(case, actor=request.user, note=_text(request, "note"))
    return _("已签收，请尽快处置")


def return_(request: HttpRequest, case: Case) -> str:
    services.return_case(case, actor=request.user, reason=_text(request, "reason"))
    return _("已退回指挥中心")


def request_extension(request: HttpRequest, case: Case) -> str:
    services.request_extension(case, actor=request.user, amount=_text(request, "amount", 20),
                               unit=request.POST.get("unit", ""), reason=_text(request, "reason"))
    return _("延期申请已提交，等待审批")


def decide_extension(request: HttpRequest, case: Case) -> str:
    approve = _choice(request, "decision", {"approve": True, "deny": False}, _("请选择同意或不同意"))
    services.decide_extension(case, actor=request.user, approve=approve, note=_text(request, "note"))
    return _("已同意延期") if approve else _("已驳回延期申请")


def handle(request: HttpRequest, case: Case) -> str:
    """处置完成 with photos. Every photo is checked before anything is written, so a bad photo
    loses nothing; the case and its photos are then saved in one transaction."""
    services.handle_case(case, actor=request.user, note=_text(request, "note"), photos=request.FILES.getlist("photos"))
    return _("已提交处置结果，等待核查")


def verify(request: HttpRequest, case: Case) -> str:
    passed = _choice(request, "result", {"passed": True, "failed": False}, _("请选择核查结果"))
    services.verify_case(case, actor=request.user, passed=passed, note=_text(request, "note"))
    return _("核查通过，案件已结案") if passed else _("核查不通过，已退回返工")


def rate(request: HttpRequest, case: Case) -> str:
    reopen = request.POST.get("reopen") == "1"
    services.rate_case(case, actor=request.user, rating=request.POST.get("rating", ""),
                       comment=_text(request, "comment"), reopen=reopen)
    return _("已要求重新办理") if reopen else _("感谢你的评价")


def merge(request: HttpRequest, case: Case) -> str:
    number = _text(request, "master", 32)
    if not number:
        raise ValidationError({"master": [_("请填写主案件编号")]})
    try:
        master = queries.get_case(request.user, number)
    except Http404:
        raise ValidationError({"master": [_("找不到案件 %(number)s") % {"number": number}]}) from None
    services.merge_case(case, actor=request.user, master=master, note=_text(request, "note"))
    return _("已合并至 %(number)s") % {"number": master.number}


def locate(request: HttpRequest, case: Case) -> str:
    """Place the case in a grid: one picked from the search, or the grid under a point."""
    lon, lat = _float(request, "lon"), _float(request, "lat")
    if (lon is None) != (lat is None):
        raise ValidationError({"lon": [_("经度和纬度需同时提供")]})
    if lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({"lon": [_("经纬度超出范围")]})
    grids = area_queries.visible_areas(request.user).filter(level__slug="grid")
    area_id = positive_int(request.POST.get("area"))
    if area_id is not None:
        area = grids.filter(pk=area_id).first()
        if area is None:
            raise ValidationError({"area": [_("请选择你辖区内的网格")]})
    elif lon is not None:
        area = area_at(lon, lat)
        if area is None or not grids.filter(pk=area.pk).exists():
            raise ValidationError({"lon": [_("该位置不在你辖区的网格范围内")]})
    else:
        raise ValidationError({"area": [_("请选择网格或填写经纬度")]})
    services.locate_case(case, actor=request.user, area=area, lon=lon, lat=lat)
    return _("已定位到 %(area)s") % {"area": area.name}


def set_urgent(request: HttpRequest, case: Case) -> str:
    urgent = request.POST.get("urgent") == "1"
    services.set_urgent(case, actor=request.user, urgent=urgent, note=_text(request, "note"))
    return _("已标记为紧急") if urgent else _("已取消紧急")


HANDLERS: dict[str, Handler] = {
    "check": check, "file": file, "not_file": not_file, "withdraw": withdraw, "dispatch": dispatch,
    "accept": accept, "return": return_, "request_extension": request_extension,
    "decide_extension": decide_extension, "handle": handle, "verify": verify, "rate": rate, "merge": merge,
    "locate": locate, "set_urgent": set_urgent,
}


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages] or [_("操作未完成，请检查填写的内容")]


@login_required
@require_POST
def perform(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """POST /cases/<number>/<action>/: run one transition and answer with a page, never a 500."""
    handler = HANDLERS.get(action)
    if handler is None:
        raise Http404
    case = queries.get_case(request.user, number)  # outsiders: the same 404 as a missing case
    detail = reverse("cases:detail", args=[case.number])
    try:
        if not rules.allowed_by_role(request.user, action, case):
            # before the form is read: who may act is checked first (pattern 1), as the service does
            raise PermissionDenied(_("你无权对该案件执行“%(action)s”") % {
                "action": services.ACTION_LABELS.get(action, action)})
        message = handler(request, case)
    except PermissionDenied as exc:
        return render(request, "cases/forbidden.html", {
            "case": case, "message": str(exc) or _("你无权执行该操作")}, status=403)
    except ValidationError as exc:
        for text in _messages_of(exc):
            messages.error(request, text)
        return redirect(f"{detail}?open={action}")
    messages.success(request, message or _done(action))
    if not queries.visible_cases(request.user).filter(pk=case.pk).exists():
        return redirect("cases:start")  # e.g. returned by a department that no longer sees it
    return redirect(detail)
