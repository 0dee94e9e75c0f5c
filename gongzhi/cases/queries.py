"""Scoped reads of cases: every list, search and detail goes through ``Case.objects.visible_to``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from gongzhi.core.scoping import get_visible_or_404, jurisdiction

from .choices import OPEN_STATES, Status
from .models import Case

#: A search that looks like a case number searches numbers only (an index prefix scan).
NUMBER_LIKE = re.compile(r"^\d{6}-[\d-]*$")


def visible_cases(user) -> QuerySet[Case]:
    return _for_lists(Case.objects.visible_to(user))


def _for_lists(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related("category", "department", "area").defer("area__geometry")  # lists never draw the polygon


def get_case(user, number: str) -> Case:
    """One case by its number, or the same 404 whether it exists or not."""
    if not isinstance(number, str) or len(number) > 32:
        from django.http import Http404

        raise Http404
    return get_visible_or_404(Case.objects.select_related("category", "department", "area", "reporter", "master"),
                              user, number=number)


@dataclass
class QueueFilter:
    status: str | None = None
    category: int | None = None
    area: int | None = None          # an area id: the whole subtree
    department: int | None = None
    source: str | None = None
    overdue: bool | None = None
    to_locate: bool | None = None
    q: str = ""                      # case number, words in title/description, address


def queue(user, f: QueueFilter) -> QuerySet[Case]:
    """The command-center queue (and every other filtered list), newest first."""
    area_path = None
    if f.area:
        from gongzhi.areas.queries import get_area

        area_path = get_area(user, f.area).path  # the same 404 outside the jurisdiction
    if area_path and jurisdiction(user).covers_path(area_path):
        # Every case under an area of the jurisdiction is visible (``visible_to`` ORs exactly this
        # prefix in): the door's OR would only repeat the area filter, and PostgreSQL, taking the
        # two for independent, would expect a fraction of the rows and pick a worse plan.
        qs = _for_lists(Case.objects.filter(area_path__startswith=area_path))
    else:
        qs = visible_cases(user)
        if area_path:
            qs = qs.filter(area_path__startswith=area_path)
    if f.status == "open":
        qs = qs.filter(status__in=OPEN_STATES)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.category:
        qs = qs.filter(category_id=f.category)
    if f.department:
        qs = qs.filter(department_id=f.department)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.overdue is not None:
        qs = qs.filter(overdue=f.overdue)
    if f.to_locate:
        qs = qs.filter(locate_status="to_locate")
    text = (f.q or "").strip()[:100]
    if NUMBER_LIKE.match(text):
        qs = qs.filter(number__startswith=text)
    elif text:
        qs = qs.filter(Q(number__startswith=text) | Q(title__icontains=text) | Q(description__icontains=text)
                       | Q(address__icontains=text))
    return qs.order_by("-created_at", "-id")


def department_inbox(user, department_ids, *, tab: str) -> QuerySet[Case]:
    """A department's work: to accept, in progress, overdue."""
    qs = visible_cases(user).filter(department_id__in=department_ids)
    if tab == "to_accept":
        return qs.filter(status=Status.DISPATCHED).order_by("due_at")
    if tab == "overdue":
        return qs.filter(status__in=OPEN_STATES, overdue=True).order_by("due_at")
    return qs.filter(status=Status.IN_PROGRESS).order_by("due_at")


def my_reports(user) -> QuerySet[Case]:
    """What the user reported (grid worker "my reports", resident "my cases")."""
    return Case.objects.filter(reporter=user).select_related("category", "department").order_by("-created_at")


def timeline(case: Case):
    return case.events.select_related("actor", "department").prefetch_related("photos")


