"""The wall screen's figures: a few aggregate queries over the viewer's jurisdiction, cached a few
seconds per jurisdiction (not per user: every screen of one command center shares them).

``live(scope)`` is what ``/screen/data.json`` returns. What it costs, whatever the number of cases:

1. one aggregate over the open cases (open, overdue);
2. today's reports grouped by source and hour;
3. one aggregate over the cases closed today (found through today's ``verify`` events, which the
   ``(action, at)`` index serves — ``closed_at`` has no index);
4. the points for the map: open cases and the last ``SCREEN_HEAT_DAYS`` days' reports (capped);
5. the overdue list (the oldest due first, capped);
6. the monthly ranking and the safety grades, read from ``gongzhi.evaluation`` and
   ``gongzhi.safety`` at most once a minute (they change once a day at most).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, Value, When
from django.db.models import Case as SqlCase
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from gongzhi.cases.choices import OPEN_STATES, Source, Status
from gongzhi.cases.models import Case, CaseEvent
from gongzhi.core import refcache
from gongzhi.core.scoping import jurisdiction

from . import sources

#: At most this many points on the map (markers: open cases; heat: recent reports).
MAX_MARKERS = 1500
MAX_HEAT_POINTS = 5000
OVERDUE_ROWS = 12
SLOW_CACHE_SECONDS = 60  # ranking and safety grades

#: Settings a deployment may override (environment → settings.py), with their defaults.
DEFAULTS = {
    "SCREEN_CACHE_SECONDS": 5,     # the live figures are shared for this long per jurisdiction
    "SCREEN_REFRESH_SECONDS": 15,  # how often the page asks for them
    "SCREEN_HEAT_DAYS": 7,         # the heat layer shows the reports of the last N days (today included)
}


def conf(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


@dataclass(frozen=True)
class Scope:
    """What one screen shows: the whole jurisdiction, or one area of it (``?area=``)."""

    everything: bool = False
    paths: tuple[str, ...] = ()
    unlocated: bool = False       # cases not yet placed in a grid (the city center's)
    area_ids: tuple[int, ...] = ()  # the top areas shown (their names label the screen)
    names: tuple[str, ...] = field(default=(), compare=False)

    def cases(self) -> Q:
        """The cases of the scope — inside the jurisdiction, so within ``Case.objects.visible_to``."""
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        for path in self.paths:
            q |= Q(area_path__startswith=path)
        if self.unlocated:
            q |= Q(area__isnull=True)
        return q

    def covers(self, path: str) -> bool:
        return self.everything or any(path.startswith(p) for p in self.paths)

    @property
    def key(self) -> str:
        raw = f"{self.everything}|{self.unlocated}|{','.join(self.paths)}"
        return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]

    @property
    def label(self) -> str:
        if self.everything and not self.names:
            return _("全部辖区")
        return "、".join(self.names[:3]) + ("…" if len(self.names) > 3 else "")


def scope_for(user, area=None) -> Scope:
    """The viewer's jurisdiction, or ``area`` (already fetched through the read door)."""
    from gongzhi.areas.models import Area

    if area is not None:
        return Scope(False, (area.path,), False, (area.pk,), (area.name,))
    j = jurisdiction(user)
    if j.everything:
        roots = refcache.get("screen-roots", lambda: list(
            Area.objects.filter(parent__isnull=True).order_by("name").values_list("pk", "name")))
        return Scope(True, (), True, tuple(pk for pk, _n in roots), tuple(n for _pk, n in roots))
    tops = refcache.get(("screen-tops", j.paths), lambda: list(
        Area.objects.filter(path__in=j.paths).order_by("path").values_list("pk", "name")))
    return Scope(False, j.paths, j.sees_unlocated, tuple(pk for pk, _n in tops), tuple(n for _pk, n in tops))


def today_start(now: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight of the city's current day (``TIME_ZONE``), as an aware datetime."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def counts(scope: Scope, now: datetime.datetime) -> dict:
    """Queries 1–3: open and overdue cases; today's reports by source and hour; closed today.

    Kept apart so that each reads only its own rows through its own index: the open cases (the
    partial indexes over open cases; with a covering one, ``(area_path) INCLUDE (overdue, due_at)``
    over open cases, an index-only scan), today's reports (``created_at``), today's closings (the
    timeline's ``(action, at)``)."""
    start = today_start(now)
    cases = Case.objects.filter(scope.cases()).order_by()
    open_row = cases.filter(status__in=OPEN_STATES).aggregate(
        # counted on columns of the covering index suggested above (COUNT(id) would need the table)
        open=Count("*"), overdue=Count("overdue", filter=Q(overdue=True) | Q(due_at__lt=now)))
    by_source = dict.fromkeys(Source.values, 0)
    by_hour = [0] * 24
    for source, hour, n in (cases.filter(created_at__gte=start)
                            .values_list("source", ExtractHour("created_at", tzinfo=timezone.get_current_timezone()))
                            .annotate(n=Count("pk"))):
        by_source[source] = by_source.get(source, 0) + n
        if hour is not None and 0 <= hour < 24:
            by_hour[hour] += n
    verified_today = CaseEvent.objects.filter(action="verify", to_status=Status.CLOSED, at__gte=start).values("case_id")
    ever_overdue = CaseEvent.objects.filter(case_id=OuterRef("pk"), action="overdue")
    closed = (cases.filter(pk__in=verified_today, status=Status.CLOSED, closed_at__gte=start)
              .aggregate(closed=Count("pk"), on_time=Count("pk", filter=~Exists(ever_overdue))))
    return {
        "reports_today": sum(by_source.values()), "open": open_row["open"], "overdue": open_row["overdue"],
        "closed_today": closed["closed"], "closed_on_time_today": closed["on_time"],
        "on_time_rate": rate(closed["on_time"], closed["closed"]),
        "by_source": [{"code": s, "name": str(label), "count": by_source[s]} for s, label in Source.choices],
        "by_hour": by_hour,
    }


def points(scope: Scope, now: datetime.datetime) -> dict:
    """Query 3: markers (open cases; overdue ones flagged) and heat points (recent reports).

    The flags are computed by the database: reading 5,000 timestamps into Python cost more than
    the query itself."""
    since = today_start(now) - datetime.timedelta(days=max(conf("SCREEN_HEAT_DAYS") - 1, 0))
    is_open = Q(status__in=OPEN_STATES)

    def flag(condition: Q) -> SqlCase:
        return SqlCase(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())

    rows = (Case.objects.filter(scope.cases()).filter(is_open | Q(created_at__gte=since))
            .filter(lat__isnull=False, lon__isnull=False)
            .annotate(o=flag(is_open), late=flag(is_open & (Q(overdue=True) | Q(due_at__lt=now))),
                      recent=flag(Q(created_at__gte=since)))
            .order_by("-created_at")
            .values_list("lat", "lon", "o", "late", "recent")[:MAX_HEAT_POINTS])
    markers, heat = [], []
    for lat, lon, open_, late, recent in rows:
        point = [round(lat, 5), round(lon, 5)]
        if open_ and len(markers) < MAX_MARKERS:
            markers.append([*point, 1 if late else 0])
        if recent:
            heat.append(point)
    return {"markers": markers, "heat": heat}


def overdue_list(scope: Scope, now: datetime.datetime, limit: int = OVERDUE_ROWS) -> list[dict]:
    """Query 4: the open overdue cases, the longest overdue first."""
    qs = (Case.objects.filter(scope.cases()).filter(status__in=OPEN_STATES)
          .filter(Q(overdue=True) | Q(due_at__lt=now))
          .select_related("category", "department", "area").defer("area__geometry")
          .order_by("due_at", "id")[:limit])
    rows = []
    for case in qs:
        late_hours = (now - case.due_at).total_seconds() / 3600 if case.due_at else None
        rows.append({
            "number": case.number, "title": case.title[:40],
            "category": case.category.name if case.category else "",
            "department": case.department.name if case.department else "",
            "area": case.area.name if case.area else "",
            "status": str(case.get_status_display()),
            "late_hours": round(late_hours, 1) if late_hours is not None and late_hours >= 0 else None,
        })
    return rows


def slow_parts(scope: Scope, today: datetime.date) -> dict:
    """Query 5: the ranking and the safety grades (cached a minute; absent when those apps are)."""
    key = f"screen:slow:{scope.key}:{get_language()}:{today.isoformat()}"
    found = cache.get(key)
    if found is None:
        found = {"ranking": sources.ranking_for_screen(scope, today),
                 "safety": sources.safety_for_screen(scope, today)}
        cache.set(key, found, SLOW_CACHE_SECONDS)
    return found


def live(scope: Scope, now: datetime.datetime | None = None) -> dict:
    """Everything the wall screen shows, as JSON-ready data (cached ``SCREEN_CACHE_SECONDS``)."""
    now = now or timezone.now()
    key = f"screen:live:{scope.key}:{get_language()}"
    seconds = conf("SCREEN_CACHE_SECONDS")
    if seconds:
        found = cache.get(key)
        if found is not None:
            return found
    data = {
        "generated_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "scope": scope.label,
        "counts": counts(scope, now),
        "map": points(scope, now),
        "overdue": overdue_list(scope, now),
        **slow_parts(scope, timezone.localtime(now).date()),
    }
    if seconds:
        cache.set(key, data, seconds)
    return data
