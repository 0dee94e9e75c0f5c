"""实有人口: identity numbers, the services (who may write, duplicates, stays) and the pages (masked,
404 for what is not yours, the identity-number search through a POST, bad input)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.models import AuditLog
from gongzhi.registries import residents
from gongzhi.registries.models import FloatingRegistration, Household, Person


def make_id(first17: str) -> str:
    return first17 + residents.id_check_digit(first17)


ID_A = make_id("11010119900307123")  # odd 17th digit: a man born 1990
ID_B = make_id("11010119851212002")  # even: a woman born 1985
PHONE = "13987650432"
ADDRESS = "东一路十八号三单元五零二室"


def register(world, actor=None, *, id_number=ID_A, area=None, **extra):
    return residents.register_person(actor, area=area or world.grid_a1, name=extra.pop("name", "周一鸣"),
                                     id_number=id_number, phone=extra.pop("phone", PHONE),
                                     address=extra.pop("address", ADDRESS), **extra)


# ------------------------------------------------------------------------------ identity numbers


def test_id_number_checksum_birth_year_and_gender():
    x_id = next(make_id(f"1101011990030712{d}") for d in range(10)
                if residents.id_check_digit(f"1101011990030712{d}") == "X")
    assert residents.valid_id_number(x_id.lower()) == x_id  # lower-case x accepted, normalised
    assert residents.valid_id_number(" ".join(ID_A[i:i + 6] for i in range(0, 18, 6))) == ID_A
    assert residents.valid_id_number(ID_A.translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == ID_A
    assert residents.id_facts(ID_A) == (1990, Person.Gender.MALE)
    assert residents.id_facts(ID_B) == (1985, Person.Gender.FEMALE)
    wrong = ID_A[:17] + ("0" if ID_A[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        residents.valid_id_number(wrong)
    text = " ".join(exc.value.messages)
    assert "校验位" in text and wrong not in text and "1101**********" in text
    for bad in ("", "123", ID_A[:15], "A" * 18, make_id("11010119901332123"), "x" * 20000):
        with pytest.raises(ValidationError):
            residents.valid_id_number(bad)


# ------------------------------------------------------------------------------ services


def test_register_refuses_a_duplicate_with_a_masked_message(world):
    person = register(world, world.worker, household=None, relation="户主")
    assert (person.birth_year, person.gender, person.created_by) == (1990, "m", world.worker)
    assert person.id_number.reveal() == ID_A and str(person.id_number) == ID_A[:4] + "*" * 10 + ID_A[-4:]
    with pytest.raises(ValidationError) as exc:
        register(world, world.worker, name="另一人")
    text = " ".join(exc.value.messages)
    assert "已有在册人员" in text and ID_A not in text and str(person.id_number) in text
    row = AuditLog.objects.get(action="registries.register_person")
    assert ID_A not in str(row.after) and PHONE not in str(row.after) and ADDRESS not in str(row.after)
    residents.close_person(world.worker, person, "moved")
    assert register(world, world.worker).pk != person.pk  # a closed entry doesn't block a new one


def test_gender_must_agree_with_the_identity_number(world):
    with pytest.raises(ValidationError) as exc:
        register(world, gender=Person.Gender.FEMALE)
    assert "gender" in exc.value.message_dict


def test_who_may_register(world):
    assert register(world, world.worker).area == world.grid_a1
    with pytest.raises(PermissionDenied):
        register(world, world.worker, id_number=ID_B, area=world.grid_a2)  # the worker's grid is A1 only
    for actor in (world.outsider, world.resident, world.dispatcher):
        with pytest.raises(PermissionDenied):
            register(world, actor, id_number=ID_B)
    with pytest.raises(PermissionDenied):
        residents.create_household(world.outsider, area=world.grid_a1, number="1-101")
    assert register(world, world.handler, id_number=ID_B, area=world.grid_a2).area == world.grid_a2  # police


def test_update_keeps_sealed_values_left_empty_and_move_person(world):
    person = register(world, world.worker)
    household = residents.create_household(world.worker, area=world.grid_a1, number="1-101", address=ADDRESS)
    with pytest.raises(ValidationError):
        residents.create_household(world.worker, area=world.grid_a1, number="1-101")
    residents.update_person(world.worker, person, name="周一鸣", id_number=None, phone="", address=None,
                            relation="户主")
    person.refresh_from_db()
    assert (person.phone.reveal(), person.address.reveal(), person.id_number.reveal()) == (PHONE, ADDRESS, ID_A)
    residents.move_person(world.worker, person, household, "户主")
    person.refresh_from_db()
    assert (person.household, person.relation) == (household, "户主")
    other = register(world, world.worker, id_number=ID_B)
    with pytest.raises(ValidationError) as exc:
        residents.update_person(world.worker, other, id_number=ID_A)
    assert ID_A not in " ".join(exc.value.messages)


def test_move_in_and_move_out_rules(world):
    person = register(world, world.worker)
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        residents.register_stay(world.worker, person, area=world.grid_a1, moved_in_on=today + datetime.timedelta(1))
    stay = residents.register_stay(world.worker, person, area=world.grid_a1, address=ADDRESS, reason="务工",
                                   housing="租赁", moved_in_on=today - datetime.timedelta(days=30))
    person.refresh_from_db()
    assert person.residence == Person.Residence.FLOATING
    with pytest.raises(ValidationError):  # one open stay at a time
        residents.register_stay(world.worker, person, area=world.grid_a1, moved_in_on=today)
    with pytest.raises(ValidationError) as exc:
        residents.end_stay(world.worker, stay, today - datetime.timedelta(days=31))
    assert "moved_out_on" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        residents.end_stay(world.outsider, stay, today)
    residents.end_stay(world.worker, stay, today)
    with pytest.raises(ValidationError):
        residents.end_stay(world.worker, stay, today)
    assert FloatingRegistration.objects.get(pk=stay.pk).moved_out_on == today


def test_close_person_ends_the_open_stay(world):
    person = register(world, world.worker)
    residents.register_stay(world.worker, person, area=world.grid_a1, moved_in_on=timezone.localdate())
    residents.close_person(world.worker, person, "deceased")
    person.refresh_from_db()
    assert person.closed_at is not None
    assert not FloatingRegistration.objects.filter(person=person, moved_out_on=None).exists()
    with pytest.raises(ValidationError):
        residents.close_person(world.worker, person, "moved")
    with pytest.raises(ValidationError):
        residents.update_person(world.worker, person, name="新名字")


def test_link_account(world):
    person = register(world, world.worker)
    residents.link_account(world.worker, person, world.resident)
    other = register(world, world.worker, id_number=ID_B)
    with pytest.raises(ValidationError):
        residents.link_account(world.worker, other, world.resident)
    with pytest.raises(PermissionDenied):
        residents.link_account(world.outsider, person, None)
    assert Person.objects.get(pk=person.pk).account == world.resident


# ------------------------------------------------------------------------------ pages


def _assert_no_plaintext(html: str) -> None:
    assert ID_A not in html and ID_A[4:14] not in html
    assert PHONE not in html and PHONE[3:7] not in html
    assert ADDRESS not in html


def test_list_shows_masked_values_only(world, login):
    person = register(world, world.worker)
    response = login(world.worker).get(reverse("registries:people"))
    html = response.content.decode()
    assert response.status_code == 200 and person.name in html
    assert str(person.id_number) in html and str(person.phone) in html
    _assert_no_plaintext(html)
    assert "no-store" in response["Cache-Control"]
    assert login(world.outsider).get(reverse("registries:people")).content.decode().count(person.name) == 0


def test_who_gets_the_pages(world, login, client):
    person = register(world, world.worker)
    assert login(world.resident).get(reverse("registries:people")).status_code == 403
    assert login(world.dispatcher).get(reverse("registries:people")).status_code == 403
    assert login(world.resident).get(reverse("registries:import")).status_code == 403
    outsider = login(world.outsider)
    for name in ("registries:person", "registries:person_edit", "registries:stay_new"):
        assert outsider.get(reverse(name, args=[person.pk])).status_code == 404
    assert outsider.post(reverse("registries:person_close", args=[person.pk]), {"reason": "moved"}).status_code == 404
    handler = login(world.handler)
    html = handler.get(reverse("registries:person", args=[person.pk])).content.decode()
    _assert_no_plaintext(html)
    assert "reveal-link" not in html and f"?person={person.pk}" in html


def test_person_page_links_to_the_reveal_door_for_those_who_may(world, login):
    person = register(world, world.worker)
    household = residents.create_household(world.worker, area=world.grid_a1, number="1-101")
    residents.move_person(world.worker, person, household, "户主")
    register(world, world.worker, id_number=ID_B, name="周小雨", household=household, relation="子女")
    world.worker.user_permissions.add(Permission.objects.get(codename="reveal_sensitive"))
    html = login(world.worker).get(reverse("registries:person", args=[person.pk])).content.decode()
    assert reverse("registries:reveal", args=["person", person.pk]) in html
    assert "周小雨" in html and "1-101" in html
    _assert_no_plaintext(html)


def test_post_search_by_identity_number(world, login):
    person = register(world, world.worker)
    register(world, world.worker, id_number=ID_B, name="周小雨")
    client = login(world.worker)
    response = client.post(reverse("registries:people"), {"id_number": ID_A.lower()})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="search-result"' in html
    assert f'id="person-{person.pk}"' in html and "周小雨" not in html
    _assert_no_plaintext(html)
    outsider = login(world.outsider).post(reverse("registries:people"), {"id_number": ID_A})
    assert person.name not in outsider.content.decode()


@pytest.mark.parametrize("value", ["", "1" * 20000, "😀" * 18, "<script>"])
def test_bad_search_input_is_a_form_error(world, login, value):
    response = login(world.worker).post(reverse("registries:people"), {"id_number": value})
    assert response.status_code == 400 and "errorlist" in response.content.decode()


def test_bad_form_input_is_a_form_error(world, login):
    client = login(world.worker)
    assert client.get(reverse("registries:people"), {"name": "周" * 20000}).status_code == 400
    assert client.get(reverse("registries:people"), {"area": "😀"}).status_code == 400
    for data in ({"name": "", "id_number": ""}, {"name": "周" * 20000, "id_number": ID_A},
                 {"name": "😀", "id_number": "😀" * 18}, {"name": "周一鸣", "id_number": ID_A, "phone": "电话😀"}):
        response = client.post(reverse("registries:person_new"),
                               {"area": world.grid_a1.pk, "residence": "registered", **data})
        assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert not Person.objects.exists()


def test_new_person_then_edit_never_prefills_sealed_fields(world, login):
    client = login(world.worker)
    response = client.post(reverse("registries:person_new"), {
        "area": world.grid_a1.pk, "name": "周一鸣", "id_number": ID_A, "phone": PHONE, "address": ADDRESS,
        "residence": "resident"})
    person = Person.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("registries:person", args=[person.pk])
    html = client.get(reverse("registries:person_edit", args=[person.pk])).content.decode()
    _assert_no_plaintext(html)
    assert f'placeholder="{person.id_number}"' in html
    household = Household.objects.create(area=world.grid_a1, number="2-201")
    response = client.post(reverse("registries:person_edit", args=[person.pk]), {
        "area": world.grid_a1.pk, "name": "周一鸣", "id_number": "", "phone": "", "address": "",
        "residence": "resident", "household": household.pk, "relation": "户主"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.id_number.reveal(), person.phone.reveal(), person.household) == (ID_A, PHONE, household)
    html = client.get(reverse("registries:person_edit", args=[person.pk])).content.decode()
    assert f'<option value="{household.pk}" selected>' in html
    _assert_no_plaintext(html)


def test_stay_pages(world, login):
    person = register(world, world.worker)
    client = login(world.worker)
    moved_in = timezone.localdate() - datetime.timedelta(days=3)
    response = client.post(reverse("registries:stay_new", args=[person.pk]), {
        "area": world.grid_a1.pk, "moved_in_on": moved_in.isoformat(), "reason": "务工"})
    assert response.status_code == 302
    stay = FloatingRegistration.objects.get(person=person)
    early = (moved_in - datetime.timedelta(days=1)).isoformat()
    client.post(reverse("registries:stay_end", args=[stay.pk]), {"moved_out_on": early})
    assert FloatingRegistration.objects.get(pk=stay.pk).moved_out_on is None
    client.post(reverse("registries:stay_end", args=[stay.pk]), {"moved_out_on": moved_in.isoformat()})
    assert FloatingRegistration.objects.get(pk=stay.pk).moved_out_on == moved_in
    assert login(world.outsider).post(reverse("registries:stay_end", args=[stay.pk]),
                                      {"moved_out_on": moved_in.isoformat()}).status_code == 404


def test_household_pages(world, login):
    client = login(world.worker)
    response = client.post(reverse("registries:household_new"), {"area": world.grid_a1.pk, "number": "3-301",
                                                                 "address": ADDRESS})
    household = Household.objects.get()
    assert response.status_code == 302
    html = client.get(reverse("registries:households")).content.decode()
    assert "3-301" in html and ADDRESS not in html
    assert client.get(reverse("registries:household", args=[household.pk])).status_code == 200
    assert login(world.outsider).get(reverse("registries:household", args=[household.pk])).status_code == 404


def test_the_person_page_links_an_account_by_username_or_phone(world, login):
    person = register(world)
    other = register(world, id_number=make_id("15030219850505123"), name="李四")
    residents.link_account(world.admin, other, world.handler)
    url = reverse("registries:person_account", args=[person.pk])
    c = login(world.worker)
    page = c.get(reverse("registries:person", args=[person.pk])).content.decode()
    assert 'id="account-form"' in page and "未关联账号" in page
    for value, message in (("nobody", "未找到该账号"), ("", "这个字段是必填项"),
                           ("handler", "该账号已关联其他人员")):
        answer = c.post(url, {"account": value})
        assert answer.status_code == 400 and message in answer.content.decode(), value
    assert Person.objects.get(pk=person.pk).account is None
    response = c.post(url, {"account": world.dispatcher.phone})  # by phone
    assert response.status_code == 302 and Person.objects.get(pk=person.pk).account == world.dispatcher
    assert AuditLog.objects.filter(action="registries.link_account", object_id=str(person.pk)).count() == 1
    assert "调度甲（dispatcher）" in c.get(reverse("registries:person", args=[person.pk])).content.decode()
    assert c.post(url, {"account": "resident"}).status_code == 302  # by username, replacing the link
    assert Person.objects.get(pk=person.pk).account == world.resident
    assert c.post(url, {"unlink": "1"}).status_code == 302 and Person.objects.get(pk=person.pk).account is None
    for user, status in ((world.outsider, 404), (world.dispatcher, 404), (world.resident, 404)):
        assert login(user).post(url, {"account": "dispatcher"}).status_code == status
    assert Person.objects.get(pk=person.pk).account is None
