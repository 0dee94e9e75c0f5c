"""Admin: endpoints are edited there (the secret never reaches the audit log); rows are read-only."""

from __future__ import annotations

import json

import pytest

from gongzhi.core.models import AuditLog
from gongzhi.notifications.models import Notification, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_an_admin_adds_an_endpoint_and_the_secret_stays_out_of_the_audit_log(world, login):
    client = login(world.admin)
    assert client.get("/admin/notifications/webhookendpoint/add/").status_code == 200
    response = client.post("/admin/notifications/webhookendpoint/add/", {
        "name": "短信网关", "url": "https://sms.example.org/hook", "secret": "very-secret-value",
        "event_kinds": json.dumps(["overdue", "escalate"]), "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_kinds == ["overdue", "escalate"] and endpoint.secret == "very-secret-value"
    log = AuditLog.objects.filter(action="webhookendpoint.create").get()
    assert "very-secret-value" not in json.dumps([log.before, log.after], ensure_ascii=False)


def test_event_kinds_must_be_a_list_of_names(world, login):
    response = login(world.admin).post("/admin/notifications/webhookendpoint/add/", {
        "name": "坏配置", "url": "https://sms.example.org/hook", "secret": "x" * 40,
        "event_kinds": json.dumps({"overdue": True}), "is_active": "on"})
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()


def test_deliveries_and_notifications_can_be_inspected_and_retried(world, login):
    endpoint = WebhookEndpoint.objects.create(name="网关", url="https://sms.example.org/hook")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id=1, kind="report", payload={},
                                              status="failed", attempts=5, last_error="HTTP 500")
    Notification.objects.create(user=world.dispatcher, kind="report", title="消息")
    client = login(world.admin)
    for url in ("/admin/notifications/webhookdelivery/", f"/admin/notifications/webhookdelivery/{delivery.pk}/change/",
                "/admin/notifications/notification/"):
        assert client.get(url).status_code == 200, url
    response = client.post("/admin/notifications/webhookdelivery/",
                           {"action": "retry_now", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.next_attempt_at is not None
