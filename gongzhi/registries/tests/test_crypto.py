"""Sealed fields: the raw column never holds the plaintext, every string form is the mask, the blind
index finds exact identity numbers, and key rotation keeps every record readable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from gongzhi.registries import crypto
from gongzhi.registries.models import Household, Person

ID = "15030219880817123X"
PHONE = "13912345678"


def raw(model, pk, column):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def person(world):
    return Person.objects.create(name="甲乙丙", area=world.grid_a1, id_number=ID, phone=PHONE,
                                 address="凤凰小巷 3 号楼 2 单元 501")


def test_the_raw_column_holds_a_token_not_the_plaintext(person):
    for column, plain in (("id_number", ID), ("phone", PHONE), ("address", "凤凰小巷 3 号楼 2 单元 501")):
        value = raw(Person, person.pk, column)
        assert value.startswith(crypto.PREFIX)
        assert plain not in value and plain[-6:] not in value
    assert ID not in raw(Person, person.pk, "id_number_index")


def test_every_string_form_is_the_mask_even_before_saving(world):
    fresh = Person(name="甲", area=world.grid_a1, id_number=ID, phone=PHONE)
    assert str(fresh.id_number) == "1503**********123X"
    assert f"{fresh.phone}" == "139****5678" and repr(fresh.phone) == "139****5678"
    loaded = Person.objects.create(name="乙", area=world.grid_a1, id_number=ID)
    loaded = Person.objects.get(pk=loaded.pk)
    assert str(loaded.id_number) == "1503**********123X"
    assert loaded.id_number.reveal() == ID
    assert str(loaded.address) == "" and not loaded.address


def test_a_template_cannot_reveal(world):
    from django.template import Context, Template

    fresh = Person(name="甲", area=world.grid_a1, id_number=ID)
    shown = Template("[{{ p.id_number }}|{{ p.id_number.reveal }}]").render(Context({"p": fresh}))
    assert shown == "[1503**********123X|]"  # (and Django refuses names starting with _ at all)


def test_mask_rules():
    assert crypto.mask("150302198808171234", crypto.ID) == "1503**********1234"
    assert crypto.mask("１５０３０２ 19880817123x", crypto.ID) == "1503**********123X"
    assert crypto.mask("13912345678", crypto.PHONE) == "139****5678"
    assert crypto.mask("欧阳娜娜", crypto.NAME) == "欧***"
    assert crypto.mask("诊断：某病", crypto.TEXT) == crypto.HIDDEN
    assert crypto.mask("", crypto.ID) == ""


def test_blind_index_finds_the_exact_number_however_typed(person):
    assert Person.objects.filter(id_number_index=crypto.blind_index("15030219880817123x")).get() == person
    assert Person.objects.filter(id_number_index=crypto.blind_index(" 150302 19880817 123X ")).get() == person
    assert not Person.objects.filter(id_number_index=crypto.blind_index("150302198808171231")).exists()


def test_key_rotation_keeps_every_record_readable(person, world, settings):
    household = Household.objects.create(area=world.grid_a1, address="凤凰小巷 5 号")
    old_key = crypto.keys()[0]
    before = raw(Person, person.pk, "id_number")
    new_key = Fernet.generate_key().decode()
    settings.REGISTRY_KEYS = [new_key, old_key]
    assert Person.objects.get(pk=person.pk).id_number.reveal() == ID  # old tokens read under the new list
    call_command("rotate_keys")  # dry run: nothing rewritten
    assert raw(Person, person.pk, "id_number") == before
    call_command("rotate_keys", "--commit")
    assert raw(Person, person.pk, "id_number") != before
    settings.REGISTRY_KEYS = [new_key]  # the old key is gone: every row still reads
    assert Person.objects.get(pk=person.pk).id_number.reveal() == ID
    assert Person.objects.get(pk=person.pk).phone.reveal() == PHONE
    assert Household.objects.get(pk=household.pk).address.reveal() == "凤凰小巷 5 号"
    assert Person.objects.filter(id_number_index=crypto.blind_index(ID)).count() == 1
