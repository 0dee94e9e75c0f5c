"""A home confirmed from the community's records (docs/portal.md#from-registry): linking an account to
an open person of the residents' registry gives it a verified residency at the person's area; closing,
moving or unlinking the person ends (or moves) it; a home the resident asked for is never touched; no
sealed registry value reaches the portal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from gongzhi.areas import services as area_services
from gongzhi.areas.models import AreaLevel
from gongzhi.core.models import AuditLog
from gongzhi.portal import notices, queries, residency
from gongzhi.portal.models import Residency
from gongzhi.registries import residents

ID = "11010119900307123" + residents.id_check_digit("11010119900307123")
PHONE = "13987650432"
ADDRESS = "东一路十八号三单元五零二室"
SEALED = (ID, ID[4:14], PHONE, PHONE[3:7], ADDRESS)


def building(parent, name):
    return area_services.create_area(actor=None, level=AreaLevel.objects.get(slug="building"), parent=parent,
                                     name=name)


def person_at(area, id_number=ID):
    return residents.register_person(None, area=area, name="周一鸣", id_number=id_number, phone=PHONE,
                                     address=ADDRESS)


def registry_homes(user):
    return Residency.objects.filter(user=user, source=Residency.Source.REGISTRY)


@pytest.fixture
def home(world):
    return building(world.grid_a1, "1号楼")


def test_linking_gives_one_verified_home_and_the_buildings_notice(world, home, login):
    notices.publish_notice(None, area=home, title="1号楼电梯检修", body="周三停用", valid_from=timezone.localdate())
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    residents.link_account(world.worker, person, world.resident)  # again: no second home
    r = registry_homes(world.resident).get()
    assert (r.status, r.area, r.unit, r.decided_by) == (Residency.Status.VERIFIED, home, "", world.worker)
    assert list(queries.homes(world.resident)) == [home]
    client = login(world.resident)
    assert "1号楼电梯检修" in client.get(reverse("portal:home")).content.decode()
    page = client.get(reverse("portal:residency")).content.decode()
    assert "1号楼" in page and "社区已根据居民登记信息确认此住址" in page
    assert AuditLog.objects.filter(action="portal.residency_registry_verify", object_id=str(r.pk)).count() == 1


def test_closing_the_person_ends_it(world, home):
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    residents.close_person(world.worker, person, "moved")
    r = registry_homes(world.resident).get()
    assert r.status == Residency.Status.ENDED and r.ended_at
    assert not queries.homes(world.resident).exists()
    assert AuditLog.objects.filter(action="portal.residency_registry_end", object_id=str(r.pk)).count() == 1
    residents.link_account(world.worker, person, None)  # unlinking a closed person changes nothing more
    residents.link_account(world.worker, person, world.resident)  # nor does linking one: no new home
    assert registry_homes(world.resident).count() == 1


def test_unlinking_or_relinking_to_another_account_ends_it(world, home):
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    residents.link_account(world.worker, person, world.dispatcher)  # the wrong account was linked
    assert not queries.homes(world.resident).exists()
    assert list(queries.homes(world.dispatcher)) == [home]
    residents.link_account(world.worker, person, None)
    assert not queries.homes(world.dispatcher).exists()
    assert not Residency.objects.filter(status__in=residency.LIVE).exists()


def test_moving_the_person_moves_the_home(world, home):
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    other = building(world.grid_a1, "2号楼")
    residents.update_person(world.worker, person, area=other)
    assert list(queries.homes(world.resident)) == [other]
    assert registry_homes(world.resident).filter(area=home, status=Residency.Status.ENDED).count() == 1
    residents.update_person(world.worker, person, name="周一明")  # other edits leave the home alone
    assert registry_homes(world.resident).count() == 2
    residents.update_person(world.admin, person, area=world.community_a)  # community level: no home
    assert not queries.homes(world.resident).exists()


def test_a_home_the_resident_asked_for_is_never_touched(world, home):
    own = residency.verify(world.worker, residency.request_residency(world.resident, area=home, unit="3-502"),
                           approve=True)
    pending_elsewhere = residency.request_residency(world.resident, area=world.grid_a2, unit="1")
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    assert not registry_homes(world.resident).exists()  # a live one there already
    residents.update_person(world.admin, person, area=world.grid_a2)
    assert not registry_homes(world.resident).exists()  # the pending request there stays a request
    residents.update_person(world.admin, person, area=home)
    residents.close_person(world.worker, person, "moved")
    residents.link_account(world.worker, person, None)
    own.refresh_from_db()
    pending_elsewhere.refresh_from_db()
    assert (own.status, own.unit, own.source) == (Residency.Status.VERIFIED, "3-502", Residency.Source.RESIDENT)
    assert pending_elsewhere.status == Residency.Status.PENDING
    assert not AuditLog.objects.filter(action__startswith="portal.residency_registry").exists()


def test_only_a_registry_writer_of_the_area_vouches(world, home):
    for actor in (world.outsider, world.resident, world.dispatcher):
        with pytest.raises(PermissionDenied):
            residency.verify_from_registry(actor, world.resident, home)
    assert residency.verify_from_registry(world.handler, world.resident, home)  # police serving the street
    with pytest.raises(PermissionDenied):
        residency.end_from_registry(world.outsider, world.resident, home)
    assert Residency.objects.get().status == Residency.Status.VERIFIED


def test_nothing_sealed_reaches_the_portal(world, home, login):
    person = person_at(home)
    residents.link_account(world.worker, person, world.resident)
    page = login(world.resident).get(reverse("portal:residency")).content.decode()
    residents.close_person(world.worker, person, "moved")
    rows = AuditLog.objects.filter(action__startswith="portal.residency")
    assert rows.count() == 2
    texts = [page] + [f"{row.before} {row.after} {row.note}" for row in rows]
    for text in texts:
        for value in SEALED:
            assert value not in text
        assert "周一鸣" not in text
    verified = rows.get(action="portal.residency_registry_verify")
    assert set(verified.after) == set(residency.FIELDS) - {"user", "area", "decided_by"} | {
        "user_id", "area_id", "decided_by_id"}
