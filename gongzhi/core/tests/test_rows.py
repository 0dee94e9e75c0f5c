"""core.rows: the hand-built INSERT and SELECT give exactly what the ORM writes and reads."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gongzhi.cases.models import Case, CaseEvent
from gongzhi.core import rows
from gongzhi.core.api import token_with_user
from gongzhi.core.models import ApiToken
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db


def test_insert_writes_what_the_orm_reads_back(world):
    now = timezone.now()
    case = Case(number="000000-20260101-0001", title="井盖缺失", reporter=world.resident, area=world.grid_a1,
                area_path=world.grid_a1.path, extra={"楼栋": "3号", "n": 2}, lon=100.05, lat=30.05, created_at=now)
    events = [CaseEvent(case=case, actor=world.resident, actor_name="居民", action="report", to_status="reported",
                        data={"via": "api"}, at=now),
              CaseEvent(case=case, actor_name="系统", action="file", to_status="filed", at=now, notified_at=now)]
    rows.insert([case])
    rows.insert(events)  # case_id taken from the case saved just before, as bulk_create does
    assert case.pk and all(e.pk for e in events) and not case._state.adding
    stored = Case.objects.get(pk=case.pk)
    assert (stored.extra, stored.reporter_id, stored.area_path, stored.created_at) == (
        {"楼栋": "3号", "n": 2}, world.resident.pk, world.grid_a1.path, now)
    assert stored.updated_at is not None  # auto_now, set by the field's pre_save
    assert list(case.events.order_by("pk").values_list("action", "data", "notified_at")) == [
        ("report", {"via": "api"}, None), ("file", {}, now)]


def test_the_token_is_read_with_its_user_as_the_orm_would(world):
    _token, raw = org_services.create_api_token(actor=None, user=world.worker, name="t", scope="write")
    digest = ApiToken.hash(raw)
    fast = token_with_user(digest)
    slow = ApiToken.objects.select_related("user").get(digest=digest)
    assert fast is not None and fast.user is not None
    for field in ApiToken._meta.concrete_fields:
        assert getattr(fast, field.attname) == getattr(slow, field.attname), field.name
    for field in type(slow.user)._meta.concrete_fields:
        assert getattr(fast.user, field.attname) == getattr(slow.user, field.attname), field.name
    assert token_with_user(ApiToken.hash("gz_nothing")) is None
