"""Who gets an inbox row after each kind of case event — and never the actor."""

from __future__ import annotations

import pytest

from gongzhi.cases import intake, services, sweeper
from gongzhi.cases.choices import Source
from gongzhi.cases.notify import case_events_committed
from gongzhi.notifications import services as notification_services
from gongzhi.notifications.models import Notification

pytestmark = pytest.mark.django_db
IN_A1 = (100.05, 30.05)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the on-commit hooks (the fan-out) at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def report(world, directory, user=None, **kw):
    data = {"title": "路边垃圾堆", "category": directory["garbage"], "lon": IN_A1[0], "lat": IN_A1[1], **kw}
    return intake.report_case(intake.Report(**data), reporter=user or world.resident)[0]


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("created_at", "id").values_list("kind", flat=True))


def test_each_step_reaches_the_right_people_and_never_the_actor(world, directory, supervisor, chain, committed):
    with committed():
        case = report(world, directory)
    assert kinds(world.dispatcher) == ["report"]  # the command center over grid A1 (street A)
    assert kinds(world.resident) == []            # the actor
    assert kinds(chain["district"]) == kinds(chain["city"]) == []  # only the nearest center
    assert Notification.objects.get(user=world.dispatcher).url == f"/cases/{case.number}/"

    with committed():
        services.file_case(case, actor=world.dispatcher)
        services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    assert kinds(world.handler) == ["dispatch"] and kinds(chain["head"]) == ["dispatch"]
    assert kinds(world.dispatcher) == ["report"]

    with committed():
        services.return_case(case, actor=world.handler, reason="不属于派出所职责")
    assert kinds(world.dispatcher) == ["report", "return"] and kinds(world.handler) == ["dispatch"]

    with committed():
        services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
        services.accept_case(case, actor=world.handler)
        services.request_extension(case, actor=world.handler, amount=1, reason="需要协调")
    assert kinds(world.dispatcher)[-1] == "request_extension"
    assert kinds(world.handler) == ["dispatch", "dispatch"]

    with committed():
        services.decide_extension(case, actor=world.dispatcher, approve=True)
    assert kinds(world.handler)[-1] == "decide_extension" and kinds(chain["head"])[-1] == "decide_extension"
    assert Notification.objects.filter(user=world.handler, kind="decide_extension").get().title.startswith(
        "延期申请已批准")

    with committed():
        services.handle_case(case, actor=world.handler, note="已清理")
    assert kinds(world.worker) == ["handle"] and kinds(supervisor) == ["handle"]
    assert kinds(world.dispatcher)[-1] == "handle" and kinds(world.handler)[-1] == "decide_extension"

    with committed():
        services.verify_case(case, actor=supervisor, passed=False, note="没清干净")
    assert kinds(world.handler)[-1] == "verify" and kinds(world.resident) == []
    assert "返工" in Notification.objects.filter(user=world.handler, kind="verify").get().title

    with committed():
        services.handle_case(case, actor=world.handler, note="再次清理")
        services.verify_case(case, actor=supervisor, passed=True)
    assert kinds(world.resident) == ["verify"]
    assert "已办结" in Notification.objects.get(user=world.resident).title

    with committed():
        services.rate_case(case, actor=world.resident, rating="unsatisfied", comment="太慢")
    assert kinds(world.dispatcher)[-1] == "rate"
    assert kinds(world.outsider) == [], "nobody outside street A hears anything"


def test_a_report_by_the_command_center_itself_does_not_notify_its_author(world, directory, committed):
    with committed():
        report(world, directory, user=world.dispatcher)
    assert kinds(world.dispatcher) == []


def test_not_filed_tells_the_reporter(world, directory, committed):
    case = report(world, directory)
    with committed():
        services.not_file_case(case, actor=world.dispatcher, reason="非本市管辖")
    assert kinds(world.resident) == ["not_file"]
    assert "非本市管辖" in Notification.objects.get(user=world.resident).body


def test_an_auto_dispatch_reaches_the_department(world, directory, committed):
    with committed():
        report(world, directory, user=world.worker, source=Source.PATROL)
    assert kinds(world.handler) == ["auto_dispatch"]
    # Nothing waits on the command center: its queue shows the case, its inbox stays for triage work.
    assert kinds(world.dispatcher) == [] and kinds(world.worker) == []


def test_deadline_events_reach_heads_staff_and_the_escalation_targets(world, directory, chain, committed):
    case = report(world, directory)
    services.file_case(case, actor=world.dispatcher)
    case = services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    Notification.objects.all().delete()
    with committed():
        sweeper.sweep(now=case.warn_at)
    assert kinds(world.handler) == ["warn"] and kinds(chain["head"]) == ["warn"] and kinds(world.dispatcher) == []
    with committed():
        sweeper.sweep(now=case.due_at)
    assert kinds(chain["head"]) == ["warn", "overdue"] and kinds(world.dispatcher) == ["overdue"]
    assert kinds(world.handler) == ["warn"]
    case.refresh_from_db()
    with committed():
        sweeper.sweep(now=case.next_escalation_at)
    assert kinds(chain["district"]) == ["escalate"] and kinds(chain["head"])[-1] == "escalate"
    assert kinds(world.dispatcher) == ["overdue"] and kinds(chain["city"]) == []
    assert "第 2 级" in Notification.objects.get(user=chain["district"]).title


def test_the_fan_out_is_idempotent_and_never_raises(world, directory, committed, monkeypatch):
    with committed():
        case = report(world, directory)
    event = case.events.get(action="report")
    case_events_committed([event.pk])
    assert Notification.objects.filter(event=event).count() == 1

    def broken(event_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(notification_services, "notify_case_event", broken)
    case_events_committed([event.pk])  # logged, not raised: the case transaction already committed
