"""The portal's home: what applies to the resident's address today (docs/portal.md). Each part has
its own ``*_views.py``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET


@login_required
@require_GET
def home(request):
    return render(request, "portal/home.html", {})
