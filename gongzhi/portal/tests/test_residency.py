"""Who lives where: requests, verification, moving out, several homes (docs/portal.md#residency)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from gongzhi.areas import services as area_services
from gongzhi.areas.models import AreaLevel
from gongzhi.core.models import AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.portal import queries, residency
from gongzhi.portal.models import Residency


def building(parent, name):
    return area_services.create_area(actor=None, level=AreaLevel.objects.get(slug="building"), parent=parent,
                                     name=name)


def make_user(username, display="居民"):
    return org_services.create_user(actor=None, username=username, password="correct-horse-battery",
                                    display_name=display)


def give_role(user, area, code):
    org_services.assign_role(actor=None, user=user, area=area, role=Role.objects.get(code=code))


def verified_home(user, area, unit="1-101"):
    """A verified residency, through the services (the system verifies)."""
    return residency.verify(None, residency.request_residency(user, area=area, unit=unit), approve=True)


@pytest.fixture
def homes(world):
    return SimpleNamespace(x=building(world.grid_a1, "1号楼"), y=building(world.grid_a2, "2号楼"),
                           z=building(world.grid_b1, "9号楼"))


def test_request_then_verify_opens_the_home(world, homes):
    r = residency.request_residency(world.resident, area=homes.x, unit=" 3-502 ")
    assert (r.status, r.unit) == (Residency.Status.PENDING, "3-502")
    assert not queries.homes(world.resident).exists()
    residency.verify(world.worker, r, approve=True, note="上门核实")
    r.refresh_from_db()
    assert r.status == Residency.Status.VERIFIED and r.decided_by == world.worker and r.decided_at
    assert list(queries.homes(world.resident)) == [homes.x]
    actions = list(AuditLog.objects.filter(object_id=str(r.pk), object_type="portal.residency")
                   .values_list("action", flat=True))
    assert sorted(actions) == ["portal.residency_request", "portal.residency_verify"]


def test_one_live_request_per_area_and_not_at_community_level(world, homes):
    residency.request_residency(world.resident, area=homes.x, unit="1")
    with pytest.raises(ValidationError) as exc:
        residency.request_residency(world.resident, area=homes.x, unit="2")
    assert "area" in exc.value.message_dict
    with pytest.raises(ValidationError):
        residency.request_residency(world.resident, area=world.community_a, unit="1")
    with pytest.raises(ValidationError):
        residency.request_residency(world.resident, area=homes.y, unit="")
    assert Residency.objects.filter(user=world.resident).count() == 1


def test_several_homes(world, homes):
    verified_home(world.resident, homes.x)
    verified_home(world.resident, homes.z)
    assert set(queries.homes(world.resident)) == {homes.x, homes.z}


def test_only_verifiers_of_the_area_decide(world, homes):
    r = residency.request_residency(world.resident, area=homes.x, unit="1")
    with pytest.raises(PermissionDenied):
        residency.verify(world.outsider, r, approve=True)  # grid worker of another street
    with pytest.raises(PermissionDenied):
        residency.verify(world.handler, r, approve=True)  # police staff: sees, does not verify
    assert list(residency.verify_for(world.worker)) == [r]
    assert not residency.verify_for(world.outsider).exists()
    assert not residency.verify_for(world.resident).exists()
    # a building head verifies in their building, and never their own home
    head = make_user("head_x", "栋长甲")
    give_role(head, homes.x, "building_head")
    own = residency.request_residency(head, area=homes.x, unit="1-1")
    assert list(residency.verify_for(head)) == [r]
    with pytest.raises(PermissionDenied):
        residency.verify(head, own, approve=True)
    residency.verify(head, r, approve=False)  # refusing needs no note
    r.refresh_from_db()
    assert r.status == Residency.Status.REFUSED
    with pytest.raises(ValidationError):
        residency.verify(world.worker, r, approve=True)  # already decided
    # refused: the resident may ask again
    assert residency.request_residency(world.resident, area=homes.x, unit="1").status == Residency.Status.PENDING


def test_move_out_by_resident_or_verifier(world, homes):
    r = verified_home(world.resident, homes.x)
    with pytest.raises(PermissionDenied):
        residency.move_out(world.outsider, r)
    residency.move_out(world.resident, r)
    r.refresh_from_db()
    assert r.status == Residency.Status.ENDED and r.ended_at
    assert not queries.homes(world.resident).exists()
    with pytest.raises(ValidationError):
        residency.move_out(world.worker, r)
    r2 = verified_home(world.resident, homes.x)
    residency.move_out(world.worker, r2)
    assert Residency.objects.get(pk=r2.pk).status == Residency.Status.ENDED


def test_pages_request_decide_move_out(world, homes, login):
    client = login(world.resident)
    page = client.get(reverse("portal:residency"))
    assert page.status_code == 200 and "1号楼" in page.content.decode()
    assert client.post(reverse("portal:residency"), {"area": homes.x.pk, "unit": "5-501"}).status_code == 302
    r = Residency.objects.get(user=world.resident)
    again = client.post(reverse("portal:residency"), {"area": homes.x.pk, "unit": "5-502"})
    assert again.status_code == 400 and "已有待核实或已核实的登记" in again.content.decode()
    assert client.get(reverse("portal:residency_requests")).status_code == 403
    assert client.post(reverse("portal:residency_decide", args=[r.pk]), {"approve": "1"}).status_code == 404

    outsider = login(world.outsider)
    assert outsider.get(reverse("portal:residency_requests")).status_code == 200
    assert outsider.post(reverse("portal:residency_decide", args=[r.pk]), {"approve": "1"}).status_code == 404
    assert outsider.post(reverse("portal:residency_move_out", args=[r.pk])).status_code == 404

    worker = login(world.worker)
    listing = worker.get(reverse("portal:residency_requests"))
    assert "5-501" in listing.content.decode()
    assert worker.post(reverse("portal:residency_decide", args=[r.pk]), {"approve": "1"}).status_code == 302
    assert Residency.objects.get(pk=r.pk).status == Residency.Status.VERIFIED

    client = login(world.resident)
    assert client.post(reverse("portal:residency_move_out", args=[r.pk])).status_code == 302
    assert Residency.objects.get(pk=r.pk).status == Residency.Status.ENDED
