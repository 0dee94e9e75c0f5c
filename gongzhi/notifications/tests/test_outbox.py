"""With a worker (NOTIFY_INLINE off), a transition writes no notification; the outbox pass does."""

from __future__ import annotations

import pytest

from gongzhi.cases import intake
from gongzhi.cases.models import CaseEvent
from gongzhi.notifications import outbox
from gongzhi.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_the_worker_fans_out_what_the_request_left(world, directory, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_INLINE = False
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        case, _created = intake.report_case(intake.Report(title="路边垃圾堆", category=directory["garbage"],
                                                          lon=100.05, lat=30.05), reporter=world.resident)
    assert hooks == [] and Notification.objects.count() == 0
    assert outbox.pending() == 1

    assert outbox.drain() == 1
    event = case.events.get(action="report")
    assert event.notified_at is not None
    assert list(Notification.objects.filter(event=event).values_list("user_id", flat=True)) == [world.dispatcher.pk]
    assert outbox.drain() == 0 and outbox.pending() == 0  # nothing twice


def test_a_broken_event_does_not_block_the_outbox(world, directory, settings, monkeypatch):
    settings.NOTIFY_INLINE = False
    for title in ("一", "二"):
        intake.report_case(intake.Report(title=title, category=directory["garbage"], lon=100.05, lat=30.05),
                           reporter=world.resident)
    first, second = CaseEvent.objects.order_by("pk")
    from gongzhi.notifications import services

    real = services.notify_case_event

    def flaky(event_id):
        if event_id == first.pk:
            raise RuntimeError("template broken")
        return real(event_id)

    monkeypatch.setattr(services, "notify_case_event", flaky)
    assert outbox.drain() == 2
    assert not Notification.objects.filter(event=first).exists()
    assert Notification.objects.filter(event=second).exists()
    assert outbox.pending() == 0


def test_inline_mode_marks_events_as_notified(world, directory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case, _created = intake.report_case(intake.Report(title="路边垃圾堆", category=directory["garbage"],
                                                          lon=100.05, lat=30.05), reporter=world.resident)
    assert case.events.get().notified_at is not None and outbox.pending() == 0


def test_a_database_error_leaves_the_event_for_the_next_pass(world, directory, settings, monkeypatch):
    from django.db import OperationalError

    from gongzhi.notifications import services

    settings.NOTIFY_INLINE = False
    intake.report_case(intake.Report(title="一", category=directory["garbage"], lon=100.05, lat=30.05),
                       reporter=world.resident)
    real = services.notify_case_event

    def timeout(event_id):
        raise OperationalError("canceling statement due to lock timeout")

    monkeypatch.setattr(services, "notify_case_event", timeout)
    assert outbox.drain() == 0 and outbox.pending() == 1
    monkeypatch.setattr(services, "notify_case_event", real)
    assert outbox.drain() == 1 and Notification.objects.count() == 1
