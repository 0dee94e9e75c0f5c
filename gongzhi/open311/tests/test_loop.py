"""A report posted through Open311 goes through the whole closed loop — the command center files
and dispatches it as staff do, 东派出所's own system accepts and reports it handled through
``POST servicerequestupdates``, the center verifies and closes — and the client sees every step
and the final state through ``GET requests`` and ``GET servicerequestupdates``."""

from __future__ import annotations

import pytest

from gongzhi.cases import queries
from gongzhi.cases import services as case_services
from gongzhi.cases.choices import Status
from gongzhi.cases.models import Case
from gongzhi.open311.models import ReceivedUpdate

from .conftest import BASE, IN_A1, jpeg, parse

pytestmark = pytest.mark.django_db


def update(client, keys, number, update_id, status, description="", **extra):
    return client.post(f"{BASE}/servicerequestupdates.json", {
        "api_key": keys.police_key, "service_request_id": number, "update_id": update_id, "status": status,
        "updated_datetime": "2026-11-23T10:00:00+08:00", "description": description, **extra})


def test_the_whole_loop_through_open311(client, keys, world):
    created = client.post(f"{BASE}/requests.json", {"api_key": keys.app_key, "service_code": "06010",
                                                    "description": "东街口垃圾堆积", **IN_A1, "media": jpeg()})
    assert created.status_code == 201
    number = created.json()[0]["service_request_id"]
    case = Case.objects.get(number=number)

    # The command center's queue shows it, waiting to be filed.
    queue = queries.queue(world.dispatcher, queries.QueueFilter(status=Status.REPORTED))
    assert case in queue
    assert case not in queries.queue(world.outsider, queries.QueueFilter())
    client.force_login(world.dispatcher)
    page = client.get("/cases/", {"status": "reported"})
    assert page.status_code == 200 and number in page.content.decode()
    client.logout()

    case = case_services.file_case(case, actor=world.dispatcher)
    case = case_services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    item = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert item["status"] == "open" and item["agency_responsible"] == "东派出所"
    assert item["expected_datetime"] and item["expected_datetime"].endswith("+08:00")
    assert item["status_notes"] == "已派遣待签收"

    # 东派出所's system: in progress, then fixed with a photo of the result.
    accepted = update(client, keys, number, "p-1", "IN_PROGRESS", "已出警")
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()[0]["status"] == "in_progress"
    again = update(client, keys, number, "p-1", "IN_PROGRESS", "已出警")
    assert again.status_code == 200 and again.json() == accepted.json()  # resent: nothing moves twice
    fixed = update(client, keys, number, "p-2", "fixed", "已清运", media=jpeg("result.jpg"))
    assert fixed.status_code == 201, fixed.content
    case.refresh_from_db()
    assert case.status == Status.HANDLED
    assert [e.action for e in case.events.all()] == ["report", "file", "dispatch", "accept", "handle"]
    handle = case.events.get(action="handle")
    assert handle.note == "已清运" and handle.actor == keys.police.user and handle.photos.count() == 1
    assert ReceivedUpdate.objects.filter(client=keys.police).count() == 2
    assert update(client, keys, number, "p-4", "IN_PROGRESS", "").json()[0]["code"] == 409  # handled already
    # A department can't close: only the command center verifies.
    refused = update(client, keys, number, "p-3", "FIXED", "再报一次")
    assert refused.status_code == 400 and refused.json()[0]["code"] == 409

    case = case_services.verify_case(case, actor=world.dispatcher, passed=True)
    assert case.status == Status.CLOSED

    for fmt in ("json", "xml"):
        final = parse(client.get(f"{BASE}/requests.{fmt}", {"service_request_id": number}))
        if fmt == "json":
            (item,) = final
            assert item["status"] == "closed" and item["status_notes"] == "已结案"
            assert item["expected_datetime"] is None
            assert item["updated_datetime"].endswith("+08:00")
        else:
            assert final.findtext("request/status") == "closed"
            assert final.findtext("request/expected_datetime") == ""
        steps = parse(client.get(f"{BASE}/servicerequestupdates.{fmt}", {"service_request_id": number}))
        statuses = ([u["status"] for u in steps] if fmt == "json"
                    else [u.findtext("status") for u in steps.findall("request_update")])
        assert statuses == ["open", "investigating", "action_scheduled", "in_progress", "fixed", "closed"]
    steps = client.get(f"{BASE}/servicerequestupdates.json").json()
    fixed_step = next(u for u in steps if u["status"] == "fixed")
    assert fixed_step["media_url"].endswith(f"/media/{handle.photos.get().pk}.jpg")
    assert "已清运" not in str(steps)  # free-text notes are not published


def test_a_department_returns_a_case_that_is_not_theirs(client, keys, world):
    number = client.post(f"{BASE}/requests.json", {"api_key": keys.app_key, "service_code": "06010",
                                                   "description": "垃圾", **IN_A1}).json()[0]["service_request_id"]
    case = case_services.file_case(Case.objects.get(number=number), actor=world.dispatcher)
    case_services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    assert update(client, keys, number, "r-1", "NOT_COUNCILS_RESPONSIBILITY", "").status_code == 400  # a reason
    response = update(client, keys, number, "r-2", "NOT_COUNCILS_RESPONSIBILITY", "应由环卫所处理")
    assert response.status_code == 201 and response.json()[0]["status"] == "internal_referral"
    case.refresh_from_db()
    assert case.status == Status.RETURNED and case.department is None and case.return_count == 1
    # No longer theirs: the next update is refused.
    assert update(client, keys, number, "r-3", "IN_PROGRESS", "").status_code == 403
