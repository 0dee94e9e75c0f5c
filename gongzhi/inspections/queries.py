"""Scoped reads of the follow-up (the read door, ARCHITECTURE pattern 2).

A user sees the hazards of premises inside their jurisdiction, the hazards owned by departments
they are staff of, and the hazards of premises in the communities of stations where they are a
team member. Notices, re-inspections and visits follow their premises and department the same
way; meetings follow their station. Anything else is a 404 (``get_visible_or_404``), exactly like
an object that does not exist.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q
from django.http import Http404
from django.utils import timezone

from gongzhi.core.scoping import MAX_ID, jurisdiction

from .models import Hazard, HazardEvent, Meeting, Notice, Reinspection, Station, TeamMember, Visit

#: The repeat-offender window.
REPEAT_WINDOW = datetime.timedelta(days=365)


def station_paths(user) -> list[str]:
    """Area paths of the stations where ``user`` is a member of a team."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_gongzhi_station_paths", None)
    if cached is None:
        cached = sorted(set(TeamMember.objects.filter(user_id=user.pk).values_list("team__station__area__path",
                                                                                   flat=True)))
        user._gongzhi_station_paths = cached
    return cached


def _scope_q(user, path_field: str, department_field: str | None) -> Q | None:
    """The filter of what ``user`` sees; ``None`` means everything."""
    scope = jurisdiction(user)
    if scope.everything:
        return None
    q = Q(pk__in=[])
    for path in (*scope.paths, *station_paths(user)):
        q |= Q(**{f"{path_field}__startswith": path})
    if department_field and scope.department_ids:
        q |= Q(**{f"{department_field}__in": scope.department_ids})
    return q


def _scoped(qs, user, path_field: str, department_field: str | None = None):
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    q = _scope_q(user, path_field, department_field)
    return qs if q is None else qs.filter(q)


def visible_hazards(user):
    return _scoped(Hazard.objects.all(), user, "premises__area_path", "department")


def visible_notices(user):
    return _scoped(Notice.objects.all(), user, "visit__premises__area_path", "department")


def visible_reinspections(user):
    return _scoped(Reinspection.objects.all(), user, "notice__visit__premises__area_path", "notice__department")


def visible_visits(user):
    """Visits of premises in the user's scope (a department's staff see the visits that gave their
    department a notice)."""
    return _scoped(Visit.objects.all(), user, "premises__area_path", "notices__department").distinct()


def visible_stations(user):
    return _scoped(Station.objects.all(), user, "area__path")


def visible_meetings(user):
    return _scoped(Meeting.objects.all(), user, "station__area__path")


def one_or_404(qs, pk):
    """One object of an already scoped queryset; "not yours" and "does not exist" are the same 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < pk <= MAX_ID:
        raise Http404
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def get_hazard(user, pk) -> Hazard:
    return one_or_404(visible_hazards(user).select_related("premises", "department", "visit"), pk)


def get_reinspection(user, pk) -> Reinspection:
    return one_or_404(visible_reinspections(user).select_related(
        "notice__department", "notice__visit__premises", "done_by"), pk)


def get_visit(user, pk) -> Visit:
    return one_or_404(visible_visits(user).select_related("premises", "team__station"), pk)


def get_meeting(user, pk) -> Meeting:
    return one_or_404(visible_meetings(user).select_related("station__area"), pk)


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------

OPEN = (Hazard.Status.OPEN, Hazard.Status.ESCALATED)


@dataclass
class HazardFilters:
    department: int | None = None
    status: str = ""     # a Hazard.Status value; empty: open or escalated
    severity: str = ""   # a Hazard.Severity value


def hazards(user, filters: HazardFilters):
    qs = visible_hazards(user).select_related("premises", "department")
    qs = qs.filter(status=filters.status) if filters.status else qs.filter(status__in=OPEN)
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    return qs.order_by("deadline", "pk")


def counts_by_department(user, filters: HazardFilters, now: datetime.datetime | None = None) -> list[dict]:
    """Per department: open, escalated, transferred and overdue (open/escalated past the deadline),
    under the same severity and department filters as the list."""
    now = now or timezone.now()
    qs = visible_hazards(user).filter(status__in=(*OPEN, Hazard.Status.TRANSFERRED))
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    rows = (qs.values("department", "department__name")
            .annotate(open=Count("pk", filter=Q(status=Hazard.Status.OPEN)),
                      escalated=Count("pk", filter=Q(status=Hazard.Status.ESCALATED)),
                      transferred=Count("pk", filter=Q(status=Hazard.Status.TRANSFERRED)),
                      overdue=Count("pk", filter=Q(status__in=OPEN, deadline__lt=now)))
            .order_by("department__name"))
    return list(rows)


def overdue_hazards(user, now: datetime.datetime | None = None):
    """Open or escalated hazards whose deadline has passed, the longest overdue first."""
    now = now or timezone.now()
    return (visible_hazards(user).filter(status__in=OPEN, deadline__lt=now)
            .select_related("premises", "department").order_by("deadline", "pk"))


def overdue_reinspections(user, now: datetime.datetime | None = None):
    now = now or timezone.now()
    return due_reinspections(user).filter(due_at__lt=now)


def due_reinspections(user):
    """Re-inspections still to be done that the user may see (and so carry out), the earliest first."""
    return (visible_reinspections(user).filter(status=Reinspection.Status.DUE)
            .select_related("notice__department", "notice__visit__premises").order_by("due_at", "pk"))


@dataclass
class RepeatOffender:
    premises: object
    item_name: str
    item_label: str
    failures: int
    last_at: datetime.datetime
    open: bool


def repeat_offenders(user, threshold: int | None = None, now: datetime.datetime | None = None) -> list[RepeatOffender]:
    """(premises, item) pairs that failed at least ``threshold`` times (default
    ``settings.INSPECTIONS_REPEAT_FAILURES``) in the 12 months before ``now``, among the hazards
    ``user`` sees, most failures first.

    A grouped count of the hazards found in the window (not ``Hazard.earlier_failures`` of the
    latest one): the window then slides with ``now``, so a pair drops off the list a year after
    its older failures, and a threshold changed in the settings applies at once. ``earlier_failures``
    stays what the visit page shows at the moment of the finding.
    """
    from gongzhi.premises.models import Premises

    threshold = settings.INSPECTIONS_REPEAT_FAILURES if threshold is None else threshold
    now = now or timezone.now()
    rows = list(visible_hazards(user).filter(created_at__gte=now - REPEAT_WINDOW, created_at__lte=now)
                .values("premises", "item_name")
                .annotate(n=Count("pk"), last=Max("created_at"),
                          active=Count("pk", filter=Q(status__in=(*OPEN, Hazard.Status.TRANSFERRED))))
                .filter(n__gte=max(int(threshold), 1)).order_by("-n", "-last")[:500])
    premises = Premises.objects.in_bulk({r["premises"] for r in rows})
    labels = {}
    if rows:
        for name, label in (Hazard.objects.filter(premises__in=premises.keys(),
                                                  item_name__in={r["item_name"] for r in rows})
                            .order_by("created_at").values_list("item_name", "item_label")):
            labels[name] = label
    return [RepeatOffender(premises[r["premises"]], r["item_name"], labels.get(r["item_name"], r["item_name"]),
                           r["n"], r["last"], bool(r["active"])) for r in rows]


def timeline(hazard: Hazard):
    """A hazard's events in order: found, fixed / not fixed, escalated, transferred, meetings."""
    return HazardEvent.objects.filter(hazard=hazard).select_related("actor").order_by("at", "pk")
