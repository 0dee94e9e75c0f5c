from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from gongzhi.areas import queries as area_queries
from gongzhi.core.scoping import jurisdiction


@login_required
def home(request):
    from gongzhi.portal import queries as portal_queries

    user = request.user
    return render(request, "core/home.html", {
        "roots": area_queries.roots_for(user),
        "roles": user.memberships.active().select_related("role", "area"),
        "departments": user.staff_posts.select_related("department"),
        "scope": jurisdiction(user),
        "has_home": lambda: portal_queries.homes(user).exists(),  # asked only on a resident's home page
    })


def favicon(request):
    # Resolved per request: the static manifest exists only after collectstatic.
    return redirect(static("gongzhi/favicon.svg"), permanent=True)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "未找到", "fields": {}}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
