"""The reveal door: permission, a stated purpose and reason, exactly one access-log row per full view
(page and API), the access log shown to officers and not to others, rows append-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from gongzhi.conftest import PASSWORD
from gongzhi.core.models import AppendOnlyError
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Role
from gongzhi.registries.models import AccessLog, Person

ID = "150302198001017777"


@pytest.fixture
def person(world):
    return Person.objects.create(name="甲乙", area=world.grid_a1, id_number=ID, phone="13877770000",
                                 address="东一路 9 号 3 单元")


@pytest.fixture
def officer(world):
    user = org_services.create_user(actor=None, username="officer", password=PASSWORD, display_name="核查员")
    group = Group.objects.create(name="可查看完整信息")
    group.permissions.add(Permission.objects.get(codename="reveal_sensitive"))
    user.groups.add(group)
    org_services.assign_role(actor=None, user=user, area=world.community_a, role=Role.objects.get(code="grid_head"))
    return user


def url(person):
    return reverse("registries:reveal", args=["person", person.pk])


def test_reveal_needs_the_permission(world, person, login):
    client = login(world.worker)  # sees the person, may not reveal
    assert client.get(url(person)).status_code == 403
    assert client.post(url(person), {"purpose": "visit", "reason": "走访前核对"}).status_code == 403
    assert login(world.outsider).get(url(person)).status_code == 404
    assert not AccessLog.objects.exists()


def test_purpose_and_reason_are_required_with_clear_errors(person, officer, login):
    client = login(officer)
    page = client.get(url(person)).content.decode()
    assert "1503**********7777" in page and ID not in page
    body = client.post(url(person), {"purpose": "", "reason": ""}).content.decode()
    assert ID not in body and "errorlist" in body
    body = client.post(url(person), {"purpose": "visit", "reason": "看"}).content.decode()
    assert "至少 4 个字" in body and ID not in body
    body = client.post(url(person), {"purpose": "nonsense", "reason": "走访前核对住址"}).content.decode()
    assert ID not in body and "errorlist" in body
    assert not AccessLog.objects.exists()


def test_each_full_view_writes_exactly_one_row_with_the_fields(person, officer, login):
    client = login(officer)
    for n in (1, 2):
        response = client.post(url(person), {"purpose": "visit", "reason": "走访前核对住址"})
        body = response.content.decode()
        assert ID in body and "东一路 9 号 3 单元" in body and "no-store" in response["Cache-Control"]
        assert AccessLog.objects.count() == n
    row = AccessLog.objects.first()
    assert row.user == officer and row.person == person and row.purpose == "visit"
    assert row.reason == "走访前核对住址" and row.fields == ["id_number", "phone", "address"]
    assert row.object_type == "registries.person" and row.object_id == str(person.pk)


def test_the_access_log_page_shows_officers_not_others(world, person, officer, login):
    login(officer).post(url(person), {"purpose": "case", "reason": "办理案件核对身份"})
    body = login(officer).get(reverse("registries:access_log")).content.decode()
    assert "办理案件核对身份" in body and "甲乙" in body
    for user in (world.worker, world.outsider, world.dispatcher, world.resident):
        body = login(user).get(reverse("registries:access_log")).content.decode()
        assert "办理案件核对身份" not in body


def test_access_log_rows_are_append_only(person, officer, login):
    login(officer).post(url(person), {"purpose": "visit", "reason": "走访前核对住址"})
    row = AccessLog.objects.get()
    row.reason = "改写"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert AccessLog.objects.get().reason == "走访前核对住址"
