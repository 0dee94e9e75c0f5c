"""Web pages: people holding roles, and departments — scoped to the user's jurisdiction."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import queries
from .models import Role


@login_required
@require_GET
def people(request):
    text = request.GET.get("q", "")[:50]
    role = request.GET.get("role") or None
    qs = queries.search_people(request.user, text, role=role)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    template = "orgs/_people_rows.html" if request.headers.get("HX-Request") else "orgs/people.html"
    return render(request, template, {"page": page, "q": text, "role": role, "roles": Role.objects.all()})


@login_required
@require_GET
def departments(request):
    return render(request, "orgs/departments.html", {
        "departments": queries.visible_departments(request.user).prefetch_related("areas"),
    })


@login_required
@require_GET
def department_detail(request, pk: int):
    department = queries.get_department(request.user, pk)
    return render(request, "orgs/department_detail.html", {
        "department": department,
        "areas": department.areas.visible_to(request.user).select_related("level"),
        "staff": department.staff.select_related("user"),
    })
