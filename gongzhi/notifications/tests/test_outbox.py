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

    real = services.notify_case_events

    def flaky(event_ids):  # the pass fails as a whole, then each event is tried alone
        if first.pk in event_ids:
            raise RuntimeError("template broken")
        return real(event_ids)

    monkeypatch.setattr(services, "notify_case_events", flaky)
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


def test_a_pass_fans_out_many_events_together_as_each_alone_would(world, directory, chain, settings, monkeypatch,
                                                                   django_assert_max_num_queries):
    """A pass writes, for a batch of events of several kinds, exactly what event-by-event fan-outs
    would (inbox rows, one webhook delivery per subscribed endpoint, their recipients) — in a few
    statements for the whole batch, not a few per event."""
    from gongzhi.cases import services as case_services
    from gongzhi.notifications import recipients, tasks
    from gongzhi.notifications.models import WebhookDelivery, WebhookEndpoint

    settings.NOTIFY_INLINE = False
    enqueued = []
    monkeypatch.setattr(tasks, "deliver_notifications", type("Task", (), {"enqueue": staticmethod(enqueued.append)}))
    WebhookEndpoint.objects.create(name="短信网关", url="http://127.0.0.1:9/hook", event_kinds=["dispatch", "return"])
    for i in range(4):
        case, _created = intake.report_case(intake.Report(title=f"垃圾{i}", category=directory["garbage"],
                                                          lon=100.05, lat=30.05), reporter=world.resident)
        case_services.file_case(case, actor=world.dispatcher)
        case = case_services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
        if i % 2:
            case_services.return_case(case, actor=world.handler, reason="不属于派出所职责")
    events = list(CaseEvent.objects.filter(notified_at__isnull=True).order_by("pk"))
    expected = {e.pk: recipients.recipients_for(e) for e in events}
    assert {e.action for e in events} == {"report", "file", "dispatch", "return"} and len(events) == 14

    with django_assert_max_num_queries(20):  # was ~6 per event
        assert outbox.drain() == len(events)
    written: dict[int, list[int]] = {}
    for event_id, user_id in Notification.objects.values_list("event_id", "user_id"):
        written.setdefault(event_id, []).append(user_id)
    assert {k: sorted(v) for k, v in written.items()} == {k: v for k, v in expected.items() if v}
    assert {e.action for e in events if expected[e.pk]} == {"report", "dispatch", "return"}  # file tells nobody
    deliveries = {d.event_id: d for d in WebhookDelivery.objects.all()}
    assert set(deliveries) == {e.pk for e in events if e.action in ("dispatch", "return")}
    for event_id, delivery in deliveries.items():
        assert [p["id"] for p in delivery.payload["recipients"]] == expected[event_id]
    assert enqueued == sorted(deliveries)  # the sending task, once per event with something to send
    assert outbox.pending() == 0
    assert outbox.drain() == 0 and Notification.objects.count() == sum(len(v) for v in expected.values())
