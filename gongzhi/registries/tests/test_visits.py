"""Visits (民情日志): who records them, a key-person visit moves the due date, a visit becomes a case
with the worker's typed text and never the sealed notes, the pages."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.cases.models import Case
from gongzhi.core.models import AuditLog
from gongzhi.registries import keypersons, visits
from gongzhi.registries.models import KeyCategory, Person, Visit

NOTES = "家中争吵，疑似服药中断，邻居反映夜间吵闹"


@pytest.fixture
def person(world):
    return Person.objects.create(name="孙某某", area=world.grid_a1)


@pytest.fixture
def entry(world, person):
    listed = timezone.localdate() - datetime.timedelta(days=45)
    return keypersons.list_person(None, person, category=KeyCategory.objects.get(code="mental_disorder"),
                                  responsible=world.worker, listed_on=listed)


def test_key_person_visit_moves_the_due_date_and_clears_the_alert(world, entry):
    assert keypersons.remind_due() == 1
    visit = visits.record_visit(world.worker, notes=NOTES, key_person=entry)
    assert (visit.area, visit.person, visit.purpose) == (world.grid_a1, entry.person, Visit.Purpose.KEY_PERSON)
    entry.refresh_from_db()
    today = timezone.localdate()
    assert entry.last_visit_on == today and entry.alerted_for is None
    assert entry.next_visit_due == today + datetime.timedelta(days=entry.category.visit_every_days)
    row = AuditLog.objects.get(action="registries.visit_record", object_id=str(visit.pk))
    assert NOTES not in str(row.after)


def test_who_may_record_a_visit(world, person, entry):
    with pytest.raises(PermissionDenied):
        visits.record_visit(world.outsider, notes=NOTES, person=person)
    with pytest.raises(PermissionDenied):
        visits.record_visit(world.resident, area=world.grid_a1, notes=NOTES)
    with pytest.raises(PermissionDenied):
        visits.record_visit(world.dispatcher, area=world.grid_a1, notes=NOTES)
    with pytest.raises(PermissionDenied):
        visits.record_visit(None, area=world.grid_a1, notes=NOTES)
    with pytest.raises(PermissionDenied):  # a routine visit is the grid staff's, not the police's
        visits.record_visit(world.handler, notes=NOTES, person=person)
    # The police see key persons (the registry's audience), so they may record a key-person visit.
    assert visits.record_visit(world.handler, notes=NOTES, key_person=entry).visitor == world.handler
    with pytest.raises(ValidationError):  # the person lives outside the chosen area
        visits.record_visit(world.worker, area=world.grid_a2, notes=NOTES, person=person)
    with pytest.raises(ValidationError):
        visits.record_visit(world.worker, area=world.grid_a1, notes="  ")
    with pytest.raises(ValidationError):
        visits.record_visit(world.worker, area=world.grid_a1, notes=NOTES,
                            at=timezone.now() + datetime.timedelta(days=1))
    keypersons.end_listing(None, entry, "迁出")
    with pytest.raises(ValidationError):
        visits.record_visit(world.worker, notes=NOTES, key_person=entry)


def test_visit_to_case_files_the_typed_text_never_the_notes(world, person):
    visit = visits.record_visit(world.worker, notes=NOTES, person=person)
    case = visits.visit_to_case(world.worker, visit, title="楼道堆放杂物", description="三单元楼道堆满纸箱")
    case = Case.objects.get(pk=case.pk)
    assert (case.title, case.description, case.reporter, case.area) == (
        "楼道堆放杂物", "三单元楼道堆满纸箱", world.worker, world.grid_a1)
    texts = [case.title, case.description, case.address, str(case.extra),
             *case.events.values_list("note", flat=True)]
    assert not any(fragment in text for text in texts for fragment in (NOTES, "服药", "孙某某"))
    assert Visit.objects.get(pk=visit.pk).case == case
    with pytest.raises(ValidationError):
        visits.visit_to_case(world.worker, visit, title="再来一次")
    assert Case.objects.count() == 1
    with pytest.raises(PermissionDenied):
        visits.visit_to_case(world.outsider, Visit.objects.get(pk=visit.pk), title="越权")


def test_visits_are_seen_by_the_visitor_and_the_grid_heads_not_by_others(world, login, person):
    visit = visits.record_visit(world.worker, notes=NOTES, person=person)
    url = reverse("registries:visit", args=[visit.pk])
    response = login(world.worker).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert NOTES not in html and "孙某某" in html and 'id="visit-case-form"' in html
    assert "no-store" in response["Cache-Control"]
    for user in (world.outsider, world.resident, world.dispatcher, world.handler):
        assert login(user).get(url).status_code == 404
    assert login(world.admin).get(url).status_code == 200
    listing = login(world.worker).get(reverse("registries:visits")).content.decode()
    assert f'id="visit-{visit.pk}"' in listing and NOTES not in listing
    assert f'id="visit-{visit.pk}"' not in login(world.outsider).get(reverse("registries:visits")).content.decode()


def test_new_visit_page_for_a_key_person_and_the_case_form(world, login, entry):
    client = login(world.worker)
    url = reverse("registries:visit_new") + f"?key_person={entry.pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"purpose": Visit.Purpose.KEY_PERSON, "notes": NOTES})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("registries:visit", args=[visit.pk])
    assert visit.key_person == entry and visit.notes.reveal() == NOTES
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.resident).get(reverse("registries:visit_new")).status_code == 403
    case_url = reverse("registries:visit_case", args=[visit.pk])
    assert login(world.outsider).post(case_url, {"title": "x"}).status_code == 404
    client = login(world.worker)
    assert client.post(case_url, {"title": ""}).status_code == 400
    assert client.post(case_url, {"title": "路灯不亮", "description": "门口路灯坏了"}).status_code == 302
    visit.refresh_from_db()
    assert visit.case.title == "路灯不亮"
    assert 'id="visit-case-form"' not in client.get(reverse("registries:visit", args=[visit.pk])).content.decode()


def test_routine_visit_in_an_area_from_the_form(world, login):
    client = login(world.worker)
    assert client.post(reverse("registries:visit_new"), {}).status_code == 400
    response = client.post(reverse("registries:visit_new"), {"area": world.grid_a1.pk, "purpose": "routine",
                                                             "notes": NOTES})
    assert response.status_code == 302
    assert Visit.objects.get().area == world.grid_a1
    refused = client.post(reverse("registries:visit_new"), {"area": world.grid_b1.pk, "purpose": "routine",
                                                            "notes": NOTES})
    assert refused.status_code == 400 and Visit.objects.count() == 1
