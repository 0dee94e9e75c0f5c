"""The lifecycle through the service functions: every step, its guards, rework, return, extension."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gongzhi.cases import intake, services
from gongzhi.cases.choices import Source, Status
from gongzhi.cases.models import Case

pytestmark = pytest.mark.django_db
IN_A1 = (100.05, 30.05)


def report(world, directory, user=None, **kw):
    data = {"title": "路边垃圾堆", "category": directory["garbage"], "lon": IN_A1[0], "lat": IN_A1[1], **kw}
    case, created = intake.report_case(intake.Report(**data), reporter=user or world.resident)
    return case


def test_the_whole_loop(world, directory, supervisor):
    case = report(world, directory)
    assert case.status == Status.REPORTED and case.area == world.grid_a1 and case.number.startswith("990101-")
    case = services.file_case(case, actor=world.dispatcher)
    assert case.status == Status.FILED and case.due_at is not None
    case = services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    assert case.due_at > case.dispatched_at
    case = services.accept_case(case, actor=world.handler)
    case = services.handle_case(case, actor=world.handler, note="已清理")
    case = services.verify_case(case, actor=supervisor, passed=True)
    assert case.status == Status.CLOSED
    case = services.rate_case(case, actor=world.resident, rating="satisfied", comment="很快")
    assert case.rating == "satisfied"
    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["report", "file", "dispatch", "accept", "handle", "verify", "rate"]


def test_guards(world, directory, supervisor):
    case = report(world, directory)
    with pytest.raises(PermissionDenied):
        services.file_case(case, actor=world.outsider)
    with pytest.raises(PermissionDenied):
        services.file_case(case, actor=world.handler)
    with pytest.raises(PermissionDenied):
        services.accept_case(case, actor=world.handler)  # not dispatched to the handler's department
    services.file_case(case, actor=world.dispatcher)
    with pytest.raises(ValidationError) as exc:
        services.file_case(case, actor=world.dispatcher)  # twice: the second is told why
    assert "已立案" in str(exc.value)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(case, actor=world.handler)
    with pytest.raises(ValidationError):
        services.accept_case(case, actor=world.handler)  # wrong state now
    with pytest.raises(PermissionDenied):
        services.verify_case(case, actor=world.resident, passed=True)


def test_return_redispatch_rework_extension(world, directory, supervisor):
    case = report(world, directory)
    services.file_case(case, actor=world.dispatcher)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    with pytest.raises(ValidationError):
        services.return_case(case, actor=world.handler, reason="")
    case = services.return_case(case, actor=world.handler, reason="不属于派出所职责")
    assert case.status == Status.RETURNED and case.return_count == 1 and case.department is None
    case = services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(case, actor=world.handler)
    ext = services.request_extension(case, actor=world.handler, amount=2, reason="需要协调")
    before = Case.objects.get(pk=case.pk).due_at
    case = services.decide_extension(case, actor=world.dispatcher, approve=True)
    assert case.due_at > before and ext.pk
    case = services.handle_case(case, actor=world.handler, note="处理了")
    case = services.verify_case(case, actor=supervisor, passed=False, note="没清干净")
    assert case.status == Status.IN_PROGRESS and case.rework_count == 1


def test_idempotent_retry_returns_the_first_case(world, directory):
    first = report(world, directory, idempotency_key="abc-1")
    again, created = intake.report_case(intake.Report(title="重复", lon=IN_A1[0], lat=IN_A1[1],
                                                      idempotency_key="abc-1"), reporter=world.resident)
    assert again.pk == first.pk and not created
    assert Case.objects.count() == 1


def test_outside_the_city_is_an_error_and_an_address_only_report_waits_to_be_located(world, directory):
    with pytest.raises(ValidationError) as exc:
        report(world, directory, lon=120.0, lat=20.0)
    assert "不在本市" in str(exc.value)
    case = report(world, directory, lon=None, lat=None, address="东街道某巷口")
    assert case.locate_status == "to_locate" and case.area is None


def test_trusted_grid_worker_report_is_dispatched_at_once(world, directory):
    case = report(world, directory, user=world.worker, source=Source.PATROL)
    assert case.status == Status.DISPATCHED and case.department == world.police_a
    assert (case.dispatched_at - case.created_at) < datetime.timedelta(seconds=5)
    assert list(case.events.values_list("action", flat=True)) == ["report", "file", "dispatch"]
    assert case.due_at > timezone.now()
