"""Smart dispatch pages: the accuracy report (/router/) and the case page's one-click
"按建议立案并派遣" (a POST that goes through the closed loop's own transitions)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gongzhi.cases import queries as case_queries
from gongzhi.cases import rules
from gongzhi.cases.choices import Status
from gongzhi.cases.views import active_categories, dispatch_departments, positive_int

from . import queries, services
from .models import Target


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """How often the suggestions were taken, per model version, target and category; the models."""
    user = request.user
    if not queries.may_view_report(user):
        return render(request, "router/forbidden.html", {"message": _("只有指挥中心人员和管理员可以查看智能分派准确率")},
                      status=403)
    days, since = queries.period(request.GET.get("days"))
    target = request.GET.get("target", Target.CATEGORY)
    if target not in Target.values:
        target = Target.CATEGORY
    return render(request, "router/report.html", {
        "days": days, "periods": queries.PERIODS, "target": target, "targets": Target.choices,
        "totals": {t: queries.totals(user, target=t, since=since) for t in Target.values},
        "by_model": queries.by_model(user, since=since),
        "by_category": queries.by_category(user, target=target, since=since),
        "models": queries.models_list()[:50], "settings": services.config(),
        "can_admin": user.is_staff and user.has_perm("router.change_routermodel"),
    })


def _department(request: HttpRequest, case):
    """The department posted: one the dispatcher may choose, or one the router suggested."""
    department_id = positive_int(request.POST.get("department"))
    department = dispatch_departments(request.user).filter(pk=department_id or 0).first()
    if department is None and department_id is not None:
        suggested = services.suggest(case).department
        if any(row["id"] == department_id for row in suggested):
            from gongzhi.orgs.models import Department

            department = Department.objects.filter(pk=department_id, is_active=True).first()
    if department is None:
        raise ValidationError({"department": [_("请选择有效的处置部门")]})
    return department


@login_required
@require_POST
def accept(request: HttpRequest, number: str) -> HttpResponse:
    """按建议立案并派遣: file with the chosen category (a report) and dispatch to the chosen department,
    both or neither. Who may act is checked before the form is read, as the case page does."""
    case = case_queries.get_case(request.user, number)  # outsiders: the same 404 as a missing case
    detail = reverse("cases:detail", args=[case.number])
    action = "file" if case.status == Status.REPORTED else "dispatch"
    if not rules.allowed_by_role(request.user, action, case) or not rules.allowed_by_role(request.user, "dispatch", case):
        return render(request, "router/forbidden.html", {
            "case": case, "message": _("你无权按建议立案或派遣该案件")}, status=403)
    try:
        category = None
        if action == "file":
            category_id = positive_int(request.POST.get("category"))
            if category_id is not None:
                category = active_categories().filter(pk=category_id).first()
                if category is None:
                    raise ValidationError({"category": [_("该分类已停用，请重新选择")]})
            elif case.category_id is None:
                raise ValidationError({"category": [_("立案前请选择案件分类")]})
        department = _department(request, case)
        services.accept(case, actor=request.user, category=category, department=department,
                        note=(request.POST.get("note") or "").strip()[:2000])
    except PermissionDenied as exc:
        return render(request, "router/forbidden.html", {"case": case, "message": str(exc)}, status=403)
    except ValidationError as exc:
        for text in exc.messages or [_("操作未完成，请检查填写的内容")]:
            messages.error(request, text)
        return redirect(detail)
    messages.success(request, _("已按建议立案并派遣至 %(department)s") % {"department": department.name}
                     if action == "file" else _("已派遣至 %(department)s") % {"department": department.name})
    if not case_queries.visible_cases(request.user).filter(pk=case.pk).exists():
        return redirect("cases:start")
    return redirect(detail)
