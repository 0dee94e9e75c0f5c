"""Retention: records are anonymised a set number of years after they close (``RetentionRule``, one
per registry; the worker calls ``anonymise_expired`` through ``tasks.retention_job``).

- A closed record past its registry's retention has its sealed fields blanked (and those of the
  rows that belong to it: a correction's reports, a mediation's parties and sessions …).
- A person is anonymised (name → 已匿名; identity number, its blind index, phone and address
  blanked; the account unlinked) only when the person is closed past the residents' retention *and*
  every record about them in every registry is past its own retention: what another registry must
  still keep is not destroyed. A household likewise.
- Idempotent: a record whose sealed fields are already blank, or a person already anonymised, is
  skipped. Each anonymised record leaves one audit row ``registries.anonymise`` naming only the
  model, the id and the blanked field names — no value, no name.
- Two workers: each record is locked (``select_for_update``) and checked again before it is
  blanked; a person is claimed with a conditional UPDATE on ``anonymised_at IS NULL``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone

from gongzhi.core import audit

from . import models as m
from .models import Registry

ANONYMOUS = "已匿名"
ACTION = "registries.anonymise"


@dataclass(frozen=True)
class Part:
    """Rows belonging to a record (``link`` is their foreign key to it) and their sealed fields."""

    model: type[Model]
    link: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    model: type[Model]
    registry: str
    closed: str  # the date or datetime field from which retention counts (null: still open)
    fields: tuple[str, ...]
    parts: tuple[Part, ...] = field(default_factory=tuple)


TARGETS = (
    Target(m.KeyPerson, Registry.KEY_PERSONS, "ended_on", ("details",)),
    Target(m.Correction, Registry.CORRECTIONS, "closed_on", ("offence", "announcement"), (
        Part(m.CorrectionReport, "correction", ("note",)),
        Part(m.RiskAssessment, "correction", ("note",)),
        Part(m.TeamMember, "correction", ("phone", "name")),  # the family member's name identifies too
    )),
    Target(m.NeedCase, Registry.ASSISTANCE, "closed_on", ("details",), (
        Part(m.AssistancePlan, "case", ("measures",)),  # plain text, but it describes the household
        Part(m.HelpRecord, "case", ("description",)),
    )),
    Target(m.Mediation, Registry.LEGAL, "closed_on", ("summary", "agreement", "outcome"), (
        Part(m.MediationParty, "mediation", ("name", "phone")),
        Part(m.MediationSession, "mediation", ("note",)),
    )),
    Target(m.Consultation, Registry.LEGAL, "on", ("requester", "question", "advice")),
    Target(m.Visit, Registry.VISITS, "at", ("notes",)),
)

PERSON_FIELDS = ("name", "id_number", "phone", "address", "account")


def years_before(moment, years: int):
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


class Cutoffs:
    """Per registry: records closed before the cutoff are past retention (no rule: kept for ever)."""

    def __init__(self, now: datetime.datetime):
        self.now = now
        self.today = timezone.localdate(now)
        self.years = dict(m.RetentionRule.objects.values_list("registry", "years"))

    def of(self, registry: str, model: type[Model], field_name: str):
        years = self.years.get(registry)
        if years is None:
            return None
        is_datetime = model._meta.get_field(field_name).get_internal_type() == "DateTimeField"
        return years_before(self.now if is_datetime else self.today, years)

    def expired(self, registry: str, model: type[Model], field_name: str, prefix: str = "") -> Q:
        """Closed before the cutoff (``prefix`` for a lookup through a relation)."""
        cutoff = self.of(registry, model, field_name)
        if cutoff is None:
            return Q(pk__in=[])
        return Q(**{f"{prefix}{field_name}__lt": cutoff})


def _filled(fields, prefix: str = "") -> Q:
    """Any of these sealed fields still holds a value."""
    q = Q(pk__in=[])
    for name in fields:
        q |= ~Q(**{f"{prefix}{name}": ""})
    return q


def _dirty(target: Target) -> Q:
    q = _filled(target.fields)
    for part in target.parts:
        q |= Q(Exists(part.model._default_manager.filter(_filled(part.fields), **{part.link: OuterRef("pk")})))
    return q


def _log(obj_model: type[Model], pk, fields: list[str]) -> None:
    # No ``obj``: str() of a record may hold a name; the row names only the kind, the id and the fields.
    audit.record(None, ACTION, object_type=obj_model._meta.label_lower, object_id=str(pk),
                 after={"fields": fields})


def _blank_record(target: Target, pk) -> bool:
    with transaction.atomic():
        if not list(target.model._default_manager.select_for_update().filter(pk=pk).values_list("pk", flat=True)):
            return False  # deleted meanwhile
        if not target.model._default_manager.filter(pk=pk).filter(_dirty(target)).exists():
            return False  # another worker did it while we waited for the lock
        target.model._default_manager.filter(pk=pk).update(**{name: "" for name in target.fields})
        done = list(target.fields)
        for part in target.parts:
            rows = part.model._default_manager.filter(**{part.link: pk})
            if rows.filter(_filled(part.fields)).update(**{name: "" for name in part.fields}):
                done += [f"{part.model._meta.model_name}.{name}" for name in part.fields]
        _log(target.model, pk, done)
    return True


def _blocking_person(cut: Cutoffs) -> Q:
    """A record about the person that must still be kept (open, or closed within its retention)."""
    def kept(model, registry, closed, link, *, prefix="", nullable=True):
        still = ~cut.expired(registry, model, closed, prefix)
        if nullable:
            still |= Q(**{f"{prefix}{closed}__isnull": True})
        return Exists(model._default_manager.filter(still, **{link: OuterRef("pk")}))

    return (Q(kept(m.KeyPerson, Registry.KEY_PERSONS, "ended_on", "person"))
            | Q(kept(m.Correction, Registry.CORRECTIONS, "closed_on", "person"))
            | Q(kept(m.Consultation, Registry.LEGAL, "on", "person", nullable=False))
            | Q(kept(m.Mediation, Registry.LEGAL, "closed_on", "parties__person"))
            | Q(kept(m.Visit, Registry.VISITS, "at", "person", nullable=False))
            | Q(Exists(m.NeedCase.objects.filter(
                ~cut.expired(Registry.ASSISTANCE, m.NeedCase, "closed_on") | Q(closed_on__isnull=True),
                household=OuterRef("household")))))


def _blocking_household(cut: Cutoffs) -> Q:
    return (Q(Exists(m.NeedCase.objects.filter(
                ~cut.expired(Registry.ASSISTANCE, m.NeedCase, "closed_on") | Q(closed_on__isnull=True),
                household=OuterRef("pk"))))
            | Q(Exists(m.Visit.objects.filter(~cut.expired(Registry.VISITS, m.Visit, "at"),
                                              household=OuterRef("pk"))))
            | Q(Exists(m.Person.objects.filter(anonymised_at__isnull=True, household=OuterRef("pk")))))


def _anonymise_person(pk, now) -> bool:
    with transaction.atomic():
        if m.Person.objects.filter(pk=pk, anonymised_at__isnull=True).update(
                name=ANONYMOUS, id_number="", id_number_index="", phone="", address="", account=None,
                anonymised_at=now) != 1:
            return False  # another worker claimed it
        m.FloatingRegistration.objects.filter(person_id=pk).exclude(address="").update(address="")
        _log(m.Person, pk, [*PERSON_FIELDS, "floatingregistration.address"])
    return True


def _anonymise_household(pk, now) -> bool:
    with transaction.atomic():
        if m.Household.objects.filter(pk=pk, anonymised_at__isnull=True).update(address="", anonymised_at=now) != 1:
            return False
        _log(m.Household, pk, ["address"])
    return True


def anonymise_expired(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Anonymise what is past retention; returns how many records were anonymised (0 when none)."""
    now = now or timezone.now()
    cut = Cutoffs(now)
    done = 0
    for target in TARGETS:
        expired = cut.expired(target.registry, target.model, target.closed)
        pks = list(target.model._default_manager.filter(expired).filter(_dirty(target))
                   .order_by("pk").values_list("pk", flat=True)[:limit])
        done += sum(_blank_record(target, pk) for pk in pks)
    people = (m.Person.objects.filter(anonymised_at__isnull=True)
              .filter(cut.expired(Registry.RESIDENTS, m.Person, "closed_at"))
              .exclude(_blocking_person(cut)).order_by("pk").values_list("pk", flat=True)[:limit])
    done += sum(_anonymise_person(pk, now) for pk in list(people))
    households = (m.Household.objects.filter(anonymised_at__isnull=True)
                  .filter(cut.expired(Registry.RESIDENTS, m.Household, "closed_at"))
                  .exclude(_blocking_household(cut)).order_by("pk").values_list("pk", flat=True)[:limit])
    done += sum(_anonymise_household(pk, now) for pk in list(households))
    return done
