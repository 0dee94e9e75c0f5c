"""Retention: closed records are anonymised N years after closing, not before; a person only when no
registry still needs them; idempotent; the raw columns are blank afterwards; audit rows hold no values."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.registries import retention
from gongzhi.registries.models import (
    Consultation,
    Household,
    KeyCategory,
    KeyPerson,
    Mediation,
    MediationParty,
    Person,
    RetentionRule,
    Visit,
)

ID = "15030219880817123X"
SECRET = "曾因盗窃罪服刑三年"


def raw(model, pk, column):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def years_ago(years: int, days: int = 0) -> datetime.datetime:
    return retention.years_before(timezone.now(), years) - datetime.timedelta(days=days)


@pytest.fixture
def account(world):
    return world.resident


@pytest.fixture
def person(world, account):
    return Person.objects.create(name="李某某", area=world.grid_a1, id_number=ID, phone="13912345678",
                                 address="凤凰小巷 3 号楼 501", account=account, closed_at=years_ago(3, 1))


def key_entry(person, ended: datetime.date | None) -> KeyPerson:
    return KeyPerson.objects.create(person=person, category=KeyCategory.objects.get(code="released_prisoner"),
                                    details=SECRET, listed_on=datetime.date(2010, 1, 1), ended_on=ended)


def test_records_past_retention_are_blanked_not_before(world, person):
    years = RetentionRule.objects.get(registry="key_persons").years
    old = key_entry(person, years_ago(years, 1).date())
    young = KeyPerson.objects.create(person=Person.objects.create(name="周某", area=world.grid_a1),
                                     category=KeyCategory.objects.get(code="juvenile"), details=SECRET,
                                     listed_on=datetime.date(2010, 1, 1), ended_on=years_ago(years, -1).date())
    visit_years = RetentionRule.objects.get(registry="visits").years
    old_visit = Visit.objects.create(visitor=world.worker, area=world.grid_a1, notes=SECRET, at=years_ago(visit_years, 1))
    new_visit = Visit.objects.create(visitor=world.worker, area=world.grid_a1, notes=SECRET,
                                     at=years_ago(visit_years, -1))
    assert retention.anonymise_expired() == 3  # the old entry, the old visit, and the person (all past)
    assert raw(KeyPerson, old.pk, "details") == "" and raw(Visit, old_visit.pk, "notes") == ""
    assert raw(KeyPerson, young.pk, "details").startswith("gz1:")
    assert raw(Visit, new_visit.pk, "notes").startswith("gz1:")


def test_person_anonymised_raw_columns_blank_and_audit_without_values(world, person):
    key_entry(person, years_ago(6).date())
    assert retention.anonymise_expired() == 2
    person.refresh_from_db()
    assert person.name == retention.ANONYMOUS and person.account is None and person.anonymised_at is not None
    for column in ("id_number", "id_number_index", "phone", "address"):
        assert raw(Person, person.pk, column) == ""
    rows = AuditLog.objects.filter(action="registries.anonymise")
    assert rows.count() == 2
    for row in rows:
        text = f"{row.object_repr} {row.before} {row.after} {row.note}"
        assert "李某某" not in text and ID not in text and SECRET not in text and "盗窃" not in text


def test_idempotent(world, person):
    key_entry(person, years_ago(6).date())
    assert retention.anonymise_expired() == 2
    assert retention.anonymise_expired() == 0
    assert AuditLog.objects.filter(action="registries.anonymise").count() == 2


def test_a_person_another_registry_still_needs_is_kept(world, person):
    entry = key_entry(person, years_ago(4).date())  # ended, but key persons keep 5 years
    assert retention.anonymise_expired() == 0
    person.refresh_from_db()
    assert person.name == "李某某" and person.anonymised_at is None and person.id_number.reveal() == ID
    KeyPerson.objects.filter(pk=entry.pk).update(ended_on=years_ago(6).date())
    Consultation.objects.create(area=world.community_a, person=person, topic="劳动", question=SECRET,
                                on=timezone.localdate() - datetime.timedelta(days=30))  # legal keeps 10 years
    assert retention.anonymise_expired() == 1  # the entry's details only
    assert Person.objects.get(pk=person.pk).anonymised_at is None
    open_entry = key_entry(Person.objects.create(name="吴某", area=world.grid_a1, closed_at=years_ago(9)), None)
    assert retention.anonymise_expired() == 0  # an open listing keeps the person
    assert raw(KeyPerson, open_entry.pk, "details").startswith("gz1:")


def test_a_mediation_and_its_parties_and_an_open_household(world, person):
    household = Household.objects.create(area=world.grid_a1, number="3-501", address="凤凰小巷 3 号楼 501",
                                         closed_at=years_ago(4))
    mediation = Mediation.objects.create(area=world.community_a, number="TJ-2010-1", kind="neighbour",
                                         summary=SECRET, agreement=SECRET, closed_on=years_ago(11).date())
    party = MediationParty.objects.create(mediation=mediation, side="applicant", person=person, name="李某某",
                                          phone="13912345678")
    still_open = Household.objects.create(area=world.grid_a1, address="凤凰小巷 4 号楼")
    assert retention.anonymise_expired() == 3  # the mediation (with its party), the person, the household
    assert raw(Mediation, mediation.pk, "summary") == "" and raw(MediationParty, party.pk, "name") == ""
    assert raw(Household, household.pk, "address") == ""
    assert raw(Household, still_open.pk, "address").startswith("gz1:")
