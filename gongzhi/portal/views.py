"""The portal's home: what applies to the resident's address today — the service times, the notices
in force, the latest finance statement of their estate, the services within a 15-minute walk
(docs/portal.md). Each part has its own ``*_views.py``; this page only calls their read functions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import disclosures, notices, queries, schedules, servicemap

NOTICES_SHOWN = 5
SERVICES_SHOWN = 8


@login_required
@require_GET
def home(request):
    user = request.user
    today = timezone.localdate()
    occurrences = schedules.today_for(user, today)
    nearby = servicemap.nearby(user) if servicemap.origin_for(user) else []
    homes = list(queries.homes(user))
    return render(request, "portal/home.html", {
        "today": today,
        "homes": homes,
        "garbage": [o for o in occurrences if o.schedule.kind == "garbage"],
        "other_services": [o for o in occurrences if o.schedule.kind != "garbage"],
        "notices": list(notices.current_for(user, today)[:NOTICES_SHOWN]),
        "finance": disclosures.latest_finance(user),
        "nearby": nearby[:SERVICES_SHOWN],
        "nearby_count": len(nearby),
        "safety": _safety_level(homes),
    })


def _safety_level(homes: list):
    """The published 平安等级 over the first home that has one (the public map's, latest month)."""
    from gongzhi.safety.queries import public_level_for

    for area in homes:
        found = public_level_for(area)
        if found is not None:
            return found
    return None
