"""The co-decision home page: what the user may vote on, and (for staff) what runs in their areas.
Each part has its own views module: vote_views, roll_views, procedure_views, project_views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from gongzhi.core.scoping import jurisdiction

from . import queries
from .models import Decision

SHOWN = 20


@login_required
def index(request):
    user = request.user
    mine = (queries.visible_decisions(user).filter(electors__user=user)
            .exclude(status=Decision.Status.CANCELLED).order_by("-created_at")[:SHOWN])
    staff = not jurisdiction(user).empty  # anyone working in an area (a grid worker enters ballots)
    return render(request, "deliberation/index.html", {
        "mine": mine,
        "staff": staff,
        "decisions": queries.visible_decisions(user).order_by("-created_at")[:SHOWN] if staff else [],
        "procedures": queries.visible_procedures(user)[:SHOWN] if staff else [],
        "series": queries.visible_series(user)[:SHOWN] if staff else [],
        "projects": queries.visible_projects(user)[:SHOWN] if staff else [],
        "may_start": queries.manageable_areas(user).exists(),
        "today": timezone.localdate(),
    })
