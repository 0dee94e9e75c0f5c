"""Visits (走访, 民情日志): a grid worker records a visit to an area, a household, a person or a key
person, with sealed notes; a problem found becomes a case through the cases app's own intake.

The notes are sealed and stay in the registry: a case made from a visit carries only the title and
description the worker types for it (cases are seen by dispatchers and departments, who are not an
audience of the registries).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import jurisdiction, signed_in

from . import keypersons, rules
from .models import Household, KeyPerson, Person, Registry, Visit

#: area roles that visit (the grid staff); departments do not keep a 民情日志
VISITOR_ROLES = frozenset({"grid_worker", "grid_head", "party_secretary", "leader"})
NOTES_MAX = 5000
FUTURE_SLACK = datetime.timedelta(minutes=10)
AUDITED = ["visitor", "area", "household", "person", "key_person", "purpose", "at"]


def may_visit(actor, area) -> bool:
    """A grid worker (or head, secretary, leader) whose roles cover the area."""
    return signed_in(actor) and jurisdiction(actor).holds_role_over(VISITOR_ROLES, area.path)


def visit_areas(actor):
    """The areas the actor may record a visit in (for the form's choice), shallowest first."""
    from django.db.models import Q

    from gongzhi.areas.models import Area

    scope = jurisdiction(actor)
    if scope.everything:
        return Area.objects.order_by("path")
    q = Q(pk__in=[])
    for code in VISITOR_ROLES:
        for path in scope.role_paths.get(code, ()):
            q |= Q(path__startswith=path)
    return Area.objects.filter(q).order_by("path")


def _inside(target_area, area) -> bool:
    return target_area.path.startswith(area.path)


def record_visit(actor, *, area=None, purpose: str | None = None, notes: str,
                 at: datetime.datetime | None = None, household: Household | None = None,
                 person: Person | None = None, key_person: KeyPerson | None = None) -> Visit:
    """Record a visit by ``actor``. ``area`` defaults to the visited person's or household's area."""
    if not signed_in(actor):
        raise PermissionDenied(_("走访须由本人登录记录"))
    if key_person is not None:
        if person is not None and person.pk != key_person.person_id:
            raise ValidationError({"person": _("走访人员与重点人员不一致")})
        person = key_person.person
    purpose = purpose or (Visit.Purpose.KEY_PERSON if key_person is not None else Visit.Purpose.ROUTINE)
    target = person or household
    if area is None:
        if target is None:
            raise ValidationError({"area": _("请选择走访区域")})
        area = target.area
    for item in (person, household):
        if item is not None and not _inside(item.area, area):
            raise ValidationError({"area": _("走访对象不在所选区域内")})
    # Who may record it: the key-person registry's audience or the entry's responsible worker for a
    # key person; otherwise a grid worker over the area who sees the residents there.
    if key_person is not None:
        allowed = (key_person.responsible_id == actor.pk
                   or rules.can_see(actor, Registry.KEY_PERSONS, key_person.person.area))
    else:
        allowed = may_visit(actor, area) and (
            target is None or rules.can_see(actor, Registry.RESIDENTS, target.area))
    if not allowed:
        raise PermissionDenied(_("您无权记录该区域的走访"))
    if purpose not in Visit.Purpose.values:
        raise ValidationError({"purpose": _("请选择走访类型")})
    notes = clean_text(notes, "notes", _("民情记录"), NOTES_MAX)
    now = timezone.now()
    at = at or now
    if at > now + FUTURE_SLACK:
        raise ValidationError({"at": _("走访时间不能晚于现在")})
    if key_person is not None and key_person.ended_on is not None:
        raise ValidationError(_("该人员已解除列管"))
    with transaction.atomic():
        visit = Visit.objects.create(visitor=actor, area=area, household=household, person=person,
                                     key_person=key_person, purpose=purpose, at=at, notes=notes)
        if key_person is not None:
            keypersons.record_visit_done(key_person, timezone.localdate(at))
        audit.record(actor, "registries.visit_record", visit, after=audit.snapshot(visit, AUDITED))
    return visit


def may_make_case(actor, visit: Visit) -> bool:
    return signed_in(actor) and (
        visit.visitor_id == actor.pk or rules.can_see(actor, Registry.VISITS, visit.area))


def visit_to_case(actor, visit: Visit, *, title: str, description: str = "", category=None):
    """File a case for a problem found on a visit (the worker reports it like any report, located in
    the visit's area) and link it to the visit. The case gets what the worker types, never the notes."""
    from gongzhi.cases.choices import Source
    from gongzhi.cases.intake import Report, report_case

    if not may_make_case(actor, visit):
        raise PermissionDenied(_("只有走访人可以将走访转为案件"))
    area = visit.area
    located = area.label_lon is not None and area.label_lat is not None
    report = Report(title=title, description=description or "", category=category, source=Source.PATROL,
                    lon=area.label_lon if located else None, lat=area.label_lat if located else None,
                    address="" if located else area.name, idempotency_key=f"registries-visit-{visit.pk}")
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.case_id is not None:
            raise ValidationError(_("该走访已转为案件"))
        case, _created = report_case(report, reporter=actor)
        locked.case = case
        locked.save(update_fields=["case"])
        audit.record(actor, "registries.visit_to_case", locked, after={"case": case.number})
    visit.case = case
    return case
