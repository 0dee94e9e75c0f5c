"""The read door of the registries (ARCHITECTURE pattern 2): every list, page, API answer, search and
export fetches through ``visible(...)``; a single object through ``get_visible_or_404``. What is not
yours answers 404, exactly like what does not exist. Who is in which audience: ``rules.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet

from gongzhi.core.scoping import one_or_404, signed_in

from . import models as m
from . import rules
from .models import Registry


@dataclass(frozen=True)
class Spec:
    registry: str
    area: str  # lookup to the Area whose path decides
    tied: tuple[str, ...] = ()  # user lookups of people tied to the one record (they see it too)
    person: str = ""  # lookup to the Person the record is about ("" when none)


SPECS: dict[type[Model], Spec] = {
    m.Household: Spec(Registry.RESIDENTS, "area"),
    m.FloatingRegistration: Spec(Registry.RESIDENTS, "area", person="person"),
    m.KeyPerson: Spec(Registry.KEY_PERSONS, "person__area", ("responsible",), "person"),
    m.PlacementBase: Spec(Registry.CORRECTIONS, "area"),
    m.Correction: Spec(Registry.CORRECTIONS, "person__area", ("team__user",), "person"),
    m.TeamMember: Spec(Registry.CORRECTIONS, "correction__person__area", ("correction__team__user",),
                       "correction__person"),
    m.CorrectionReport: Spec(Registry.CORRECTIONS, "correction__person__area", ("correction__team__user",),
                             "correction__person"),
    m.RiskAssessment: Spec(Registry.CORRECTIONS, "correction__person__area", (), "correction__person"),
    m.ServiceHours: Spec(Registry.CORRECTIONS, "correction__person__area", ("correction__team__user",),
                         "correction__person"),
    m.NeedCase: Spec(Registry.ASSISTANCE, "household__area", ("helper",)),
    m.AssistancePlan: Spec(Registry.ASSISTANCE, "case__household__area", ("case__helper", "responsible")),
    m.HelpRecord: Spec(Registry.ASSISTANCE, "case__household__area", ("case__helper",)),
    m.ReliefBatch: Spec(Registry.ASSISTANCE, "area"),
    m.ReliefRecipient: Spec(Registry.ASSISTANCE, "batch__area"),
    m.LegalAdviser: Spec(Registry.LEGAL, "area", ("user",)),
    m.Consultation: Spec(Registry.LEGAL, "area", ("adviser__user", "recorded_by"), "person"),
    m.Mediation: Spec(Registry.LEGAL, "area", ("mediator",)),
    m.MediationParty: Spec(Registry.LEGAL, "mediation__area", ("mediation__mediator",), "person"),
    m.MediationSession: Spec(Registry.LEGAL, "mediation__area", ("mediation__mediator",)),
    m.Visit: Spec(Registry.VISITS, "area", ("visitor",), "person"),
}


def _area_q(lookup: str, area_paths: tuple[str, ...]) -> Q:
    q = Q(pk__in=[])
    for path in area_paths:
        q |= Q(**{f"{lookup}__path__startswith": path})
    return q


def in_areas(qs: QuerySet, area_paths: tuple[str, ...] | None, lookup: str | None = None) -> QuerySet:
    """``qs`` narrowed to the rows inside these subtrees (as ``rules.paths`` gives them: ``None`` is
    everywhere, ``()`` nowhere). ``lookup`` leads to the deciding Area; by default the model's own
    (``SPECS``, ``area`` for a person)."""
    if area_paths is None:
        return qs
    if lookup is None:
        lookup = "area" if qs.model is m.Person else SPECS[qs.model].area
    return qs.filter(_area_q(lookup, area_paths))


def households_to_write(user, registry: str, *, open_only: bool = True) -> QuerySet:
    """Households inside the areas where ``user`` may write ``registry`` (open ones by default): the
    households offered when an entry of that registry is made for one. A building head writes the
    assistance registry for their building without being in the residents' audience (they get the
    household's number and area, as the need-case pages show them, not its members)."""
    if not signed_in(user):
        return m.Household.objects.none()
    qs = m.Household.objects.all()
    if open_only:
        qs = qs.filter(closed_at__isnull=True, anonymised_at__isnull=True)
    return in_areas(qs, rules.paths(user, registry, write=True))


def visible(model_or_qs, user) -> QuerySet:
    """The rows of a registry model that ``user`` may see (masked)."""
    qs = model_or_qs if isinstance(model_or_qs, QuerySet) else model_or_qs._default_manager.all()
    if qs.model is m.Person:
        return visible_people(user, qs)
    spec = SPECS[qs.model]
    if not signed_in(user):
        return qs.none()
    area_paths = rules.paths(user, spec.registry)
    if area_paths is None:
        return qs
    q = _area_q(spec.area, area_paths)
    for lookup in spec.tied:
        q |= Q(**{lookup: user})
    if spec.tied:
        return qs.filter(pk__in=qs.model._default_manager.filter(q).values("pk"))
    return qs.filter(q)


def visible_people(user, qs: QuerySet | None = None) -> QuerySet:
    """People seen through the residents' registry over their area, or through an entry of another
    registry the user sees (a judicial officer sees the people under correction, not all residents)."""
    qs = m.Person.objects.all() if qs is None else qs
    if not signed_in(user):
        return qs.none()
    area_paths = rules.paths(user, Registry.RESIDENTS)
    if area_paths is None:
        return qs
    q = _area_q("area", area_paths)
    q |= Q(pk__in=visible(m.KeyPerson, user).values("person"))
    q |= Q(pk__in=visible(m.Correction, user).values("person"))
    q |= Q(household__in=visible(m.NeedCase, user).values("household"))
    q |= Q(pk__in=visible(m.MediationParty, user).exclude(person=None).values("person"))
    return qs.filter(q)


def get_visible_or_404(model, user, **lookup):
    """One row through the read door (``model`` may be a queryset, e.g. with ``select_related``)."""
    return one_or_404(visible(model, user), **lookup)


def _follow(obj, lookup: str):
    for part in lookup.split("__"):
        obj = getattr(obj, part) if obj is not None else None
    return obj


def registry_of(obj) -> str:
    return Registry.RESIDENTS if isinstance(obj, m.Person) else SPECS[type(obj)].registry


def area_of(obj):
    return obj.area if isinstance(obj, m.Person) else _follow(obj, SPECS[type(obj)].area)


def person_of(obj):
    if isinstance(obj, m.Person):
        return obj
    lookup = SPECS[type(obj)].person
    return _follow(obj, lookup) if lookup else None


def access_log(user, person=None) -> QuerySet:
    """Access-log rows the user may read: about people they see, for someone who may reveal; their own."""
    qs = m.AccessLog.objects.select_related("person")
    if not signed_in(user):
        return qs.none()
    if person is not None:
        qs = qs.filter(person=person)
    if user.is_superuser:
        return qs
    if rules.may_reveal(user):
        return qs.filter(Q(person__in=visible_people(user)) | Q(user=user))
    return qs.filter(user=user)
