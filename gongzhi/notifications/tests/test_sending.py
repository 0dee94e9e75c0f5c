"""Email (only when enabled) and signed webhooks with retries. No test touches the network: the
sender is injected, or a local HTTP server on 127.0.0.1 answers."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from gongzhi.cases import intake, services
from gongzhi.notifications import services as notification_services
from gongzhi.notifications.models import Notification, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
IN_A1 = (100.05, 30.05)
SECRET = "test-secret-不要外传"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def sent(monkeypatch):
    """Replace the HTTP sender; ``sent.calls`` records (url, body, headers); ``sent.answer`` is the
    status to return, or an exception to raise."""
    class Recorder:
        calls: list = []
        answer: int | Exception = 204

        def __call__(self, url, body, headers, timeout):
            assert timeout == 5
            self.calls.append((url, body, headers))
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    recorder = Recorder()
    recorder.calls = []
    monkeypatch.setattr(notification_services, "default_sender", recorder)
    return recorder


def report(world, directory):
    return intake.report_case(intake.Report(title="路边垃圾堆", category=directory["garbage"], lon=IN_A1[0],
                                            lat=IN_A1[1]), reporter=world.resident)[0]


def dispatch(world, directory):
    case = report(world, directory)
    services.file_case(case, actor=world.dispatcher)
    return services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)


# --------------------------------------------------------------------------- email


def test_no_email_unless_enabled(world, directory, chain, committed):
    with committed():
        dispatch(world, directory)
    assert Notification.objects.filter(user=chain["head"], kind="dispatch").exists()
    assert mail.outbox == []


@override_settings(NOTIFY_EMAIL=True)
def test_email_goes_to_recipients_with_an_address_once(world, directory, chain, committed):
    with committed():
        case = dispatch(world, directory)
    assert [m.to for m in mail.outbox] == [["head@example.org"]]  # the handler has no address
    message = mail.outbox[0]
    assert "新派遣案件待签收" in message.subject and case.number in message.body
    row = Notification.objects.get(user=chain["head"], kind="dispatch")
    assert row.emailed_at is not None
    notification_services.deliver_event(row.event_id)  # a repeated task sends nothing more
    assert len(mail.outbox) == 1


# --------------------------------------------------------------------------- webhooks


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_a_case_event_is_posted_signed_to_each_subscribed_endpoint(world, directory, committed, sent):
    WebhookEndpoint.objects.create(name="短信网关", url="http://127.0.0.1:9/sms", secret=SECRET)
    WebhookEndpoint.objects.create(name="只要督办", url="http://127.0.0.1:9/only", secret=SECRET,
                                   event_kinds=["escalate"])
    WebhookEndpoint.objects.create(name="停用", url="http://127.0.0.1:9/off", secret=SECRET, is_active=False)
    with committed():
        case = report(world, directory)
    assert [c[0] for c in sent.calls] == ["http://127.0.0.1:9/sms"]
    url, body, headers = sent.calls[0]
    assert headers["X-Gongzhi-Signature"] == expected_signature(body)
    assert notification_services.verify_signature(SECRET, body, headers["X-Gongzhi-Signature"])
    assert not notification_services.verify_signature("another secret", body, headers["X-Gongzhi-Signature"])
    assert headers["X-Gongzhi-Event"] == "report" and headers["Content-Type"].startswith("application/json")
    payload = json.loads(body.decode("utf-8"))
    assert payload["kind"] == "report" and payload["case"]["number"] == case.number
    assert payload["recipients"] == [{"id": world.dispatcher.pk, "name": "调度甲", "phone": "13800000001",
                                      "email": ""}]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.response_status == 204
    assert headers["X-Gongzhi-Delivery"] == str(delivery.pk)


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up(world, directory, committed, sent):
    WebhookEndpoint.objects.create(name="短信网关", url="http://127.0.0.1:9/sms", secret=SECRET)
    sent.answer = OSError("connection refused")
    with committed():
        report(world, directory)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and "connection refused" in delivery.last_error
    waits = []
    sent.answer = 503
    for _attempt in range(4):
        due = delivery.next_attempt_at
        previous = WebhookDelivery.objects.get(pk=delivery.pk).attempts
        assert notification_services.deliver_due_webhooks(now=due - datetime.timedelta(seconds=1)) == 0
        assert notification_services.deliver_due_webhooks(now=due) == 1
        delivery.refresh_from_db()
        assert delivery.attempts == previous + 1
        if delivery.next_attempt_at:
            waits.append(delivery.next_attempt_at - due)
    assert waits == [datetime.timedelta(minutes=m) for m in (5, 30, 120)]
    assert delivery.status == "failed" and delivery.attempts == 5 and delivery.last_error == "HTTP 503"
    assert delivery.next_attempt_at is None
    assert notification_services.deliver_due_webhooks(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(sent.calls) == 5


def test_the_first_retry_comes_after_a_minute_and_can_succeed(world, directory, committed, sent):
    WebhookEndpoint.objects.create(name="短信网关", url="http://127.0.0.1:9/sms", secret=SECRET)
    sent.answer = 500
    with committed():
        report(world, directory)
    delivery = WebhookDelivery.objects.get()
    first_try = delivery.next_attempt_at - datetime.timedelta(minutes=1)
    assert abs((timezone.now() - first_try).total_seconds()) < 60
    sent.answer = 200
    assert notification_services.deliver_due_webhooks(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None and delivery.attempts == 2


def test_one_attempt_is_claimed_once(world, directory, committed, sent):
    """Two workers that read the same due delivery: the second claim changes nothing."""
    WebhookEndpoint.objects.create(name="短信网关", url="http://127.0.0.1:9/sms", secret=SECRET)
    sent.answer = 500
    with committed():
        report(world, directory)
    delivery = WebhookDelivery.objects.get()
    now = delivery.next_attempt_at
    sent.answer = 204
    assert notification_services.attempt_delivery(delivery.pk, now=now) == "delivered"
    assert notification_services.attempt_delivery(delivery.pk, now=now) == "skipped"
    assert len(sent.calls) == 2  # the first (failed) try and one retry


class Receiver(BaseHTTPRequestHandler):
    """A gateway on 127.0.0.1: records what it got; /fail answers 500, /moved answers 302."""

    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length", "0"))
        Receiver.received.append((self.path, dict(self.headers), self.rfile.read(length)))
        code = {"/fail": 500, "/moved": 302}.get(self.path, 200)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        return None


@pytest.fixture
def gateway(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_real_post_to_a_local_gateway(world, directory, committed, gateway):
    WebhookEndpoint.objects.create(name="本地网关", url=f"{gateway}/sms", secret=SECRET)
    WebhookEndpoint.objects.create(name="坏网关", url=f"{gateway}/fail", secret=SECRET)
    WebhookEndpoint.objects.create(name="跳转网关", url=f"{gateway}/moved", secret=SECRET)
    with committed():
        case = report(world, directory)
    got = {path: (headers, body) for path, headers, body in Receiver.received}
    assert set(got) == {"/sms", "/fail", "/moved"}, "a redirect is not followed"
    headers, body = got["/sms"]
    assert headers["X-Gongzhi-Signature"] == expected_signature(body)
    assert json.loads(body)["case"]["number"] == case.number
    status = dict(WebhookDelivery.objects.values_list("endpoint__name", "status"))
    assert status == {"本地网关": "delivered", "坏网关": "pending", "跳转网关": "pending"}
    errors = dict(WebhookDelivery.objects.values_list("endpoint__name", "last_error"))
    assert errors["坏网关"] == "HTTP 500" and errors["跳转网关"] == "HTTP 302"


def test_endpoints_get_a_secret_when_none_is_given(db):
    endpoint = WebhookEndpoint.objects.create(name="无密钥", url="http://127.0.0.1:9/", secret="")
    assert len(endpoint.secret) >= 32
