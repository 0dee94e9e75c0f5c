"""Writing and sending notifications.

The flow for a case event (ARCHITECTURE: side effects after commit, sending in the worker):

1. ``cases.services.record_event`` schedules ``cases.notify.case_event_committed(event_id)`` with
   ``transaction.on_commit``; it calls ``notify_case_event`` here.
2. ``fan_out`` writes one inbox row per person to tell (``recipients.RULES``) and one pending
   ``WebhookDelivery`` per subscribed endpoint. Both are idempotent (unique per event).
3. The ``deliver_notifications`` task (django-tasks, JSON arguments: the event id) sends email
   (when ``NOTIFY_EMAIL`` is on) and makes the first webhook attempt.
4. Failed webhooks are retried by the worker's periodic loop (``deliver_due_webhooks``) after
   1 min, 5 min, 30 min and 2 h, then marked failed. Each attempt is claimed with a conditional
   UPDATE, so two workers never send the same attempt twice.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from gongzhi.cases.models import Case, CaseEvent
from gongzhi.core import refcache

from . import recipients
from .models import Notification, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

#: Waits after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
BACKOFF: tuple[datetime.timedelta, ...] = (
    datetime.timedelta(minutes=1), datetime.timedelta(minutes=5), datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 5.0
SIGNATURE_HEADER = "X-Gongzhi-Signature"
EVENT_HEADER = "X-Gongzhi-Event"
DELIVERY_HEADER = "X-Gongzhi-Delivery"
MAX_ID = 2**63 - 1

#: ``sender(url, body, headers, timeout) -> HTTP status``; raises on a network error.
Sender = Callable[[str, bytes, dict[str, str], float], int]


def email_enabled() -> bool:
    """Setting ``NOTIFY_EMAIL`` (default off): send inbox messages by email too."""
    return bool(getattr(settings, "NOTIFY_EMAIL", False))


# --------------------------------------------------------------------------- texts

#: Inbox titles by event kind; "kind:variant" where the outcome matters.
TITLES = {
    "report": _("新上报案件待受理"),
    "dispatch": _("新派遣案件待签收"),
    "auto_dispatch": _("新派遣案件待签收"),
    "return": _("案件被退回，请改派"),
    "handle": _("案件已处置，待核查"),
    "verify:passed": _("您反映的问题已办结"),
    "verify:failed": _("核查未通过，案件需返工"),
    "not_file": _("您反映的问题不予立案"),
    "warn": _("案件即将超期"),
    "overdue": _("案件已超期"),
    "escalate": _("案件督办（第 %(level)s 级）"),
    "request_extension": _("延期申请待审批"),
    "decide_extension:approved": _("延期申请已批准"),
    "decide_extension:denied": _("延期申请未批准"),
    "rate": _("群众评价不满意"),
    "rate:reopen": _("群众不满意，案件重新办理"),
}


def event_kind(event: CaseEvent) -> str:
    """The event's kind as notifications and webhooks name it (auto-dispatch is told apart)."""
    if event.action == "dispatch" and (event.data or {}).get("via") == "auto_dispatch":
        return "auto_dispatch"
    return event.action


def _title_key(event: CaseEvent, kind: str) -> str:
    data = event.data or {}
    if kind == "verify":
        return "verify:passed" if data.get("passed") else "verify:failed"
    if kind == "decide_extension":
        return "decide_extension:approved" if data.get("approved") else "decide_extension:denied"
    if kind == "rate" and data.get("reopen"):
        return "rate:reopen"
    return kind


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def render(event: CaseEvent, case: Case) -> tuple[str, str]:
    """(title, body) of the inbox message for ``event``, in the active language."""
    from gongzhi.cases.services import ACTION_LABELS

    kind = event_kind(event)
    template = TITLES.get(_title_key(event, kind))
    label = str(template) % {"level": (event.data or {}).get("level", "")} if template else str(
        ACTION_LABELS.get(event.action, event.action))
    title = f"{label}：{case.number} {case.title}"[:200]
    lines = [f"{case.number} {case.title}"]
    if case.address:
        lines.append(str(_("地址：%(address)s")) % {"address": case.address})
    if event.note:
        lines.append(str(_("说明：%(note)s")) % {"note": event.note[:500]})
    if kind in ("warn", "overdue", "escalate") and case.due_at:
        lines.append(str(_("期限：%(due)s")) % {"due": _local(case.due_at)})
    return title, "\n".join(lines)


def case_url(case: Case) -> str:
    """The case's page (relative), or "" while the case pages are not installed."""
    try:
        return reverse("cases:detail", kwargs={"number": case.number})
    except NoReverseMatch:
        return ""


def absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


# --------------------------------------------------------------------------- fan-out


@dataclass
class FanOut:
    """What ``fan_out`` did for one event (``notifications``: inbox rows offered; a repeat adds none)."""

    notifications: int = 0
    deliveries: int = 0
    emails_wanted: bool = False


def active_endpoints() -> list[WebhookEndpoint]:
    """The active webhook endpoints (cached per process: read for every event; see core.refcache)."""
    return refcache.get("webhook-endpoints", lambda: list(WebhookEndpoint.objects.filter(is_active=True)))


def fan_out(event_id: int) -> FanOut:
    """Write the inbox rows and pending webhook deliveries for one committed case event.

    Idempotent: running it twice for an event writes nothing the second time.
    """
    return fan_out_events([event_id]).get(event_id, FanOut())


def fan_out_events(event_ids: list[int]) -> dict[int, FanOut]:
    """``fan_out`` for several committed events at once (the outbox's pass): the events in one
    query, each department's or area's people once (``recipients.batch``), the active accounts in
    one query, and every inbox row in one INSERT. Returns what was done per event id.

    Idempotent like ``fan_out``; one transaction (or savepoint) for all: a failure writes nothing.
    """
    events = list(CaseEvent.objects.select_related("case", "case__category", "case__area", "case__department",
                                                   "department").defer("case__area__geometry")
                  .filter(pk__in=list(event_ids)).order_by("pk"))
    if not events:
        return {}
    with recipients.batch():
        wanted = {event.pk: recipients.wanted_for(event, event.case) for event in events}
    active = recipients.active_users(set().union(*wanted.values()))
    endpoints = active_endpoints()
    emails = email_enabled()
    results: dict[int, FanOut] = {}
    rows: list[Notification] = []
    webhooks = []  # (event, kind, user ids, title, body, url, endpoints)
    with translation.override(settings.LANGUAGE_CODE):
        for event in events:
            case = event.case
            user_ids = sorted(wanted[event.pk] & active)
            kind = event_kind(event)
            title, body = render(event, case)
            url = case_url(case)
            result = results[event.pk] = FanOut()
            if user_ids:
                # One row per (user, event) — the unique constraint drops a repeat (a second fan-out of
                # the same event); sending mail claims each row, so a repeat never mails twice either.
                rows += [Notification(user_id=u, case=case, event=event, kind=kind, title=title, body=body, url=url)
                         for u in user_ids]
                result.notifications = len(user_ids)
                result.emails_wanted = emails
            subscribed = [e for e in endpoints if e.wants(kind) or e.wants(event.action)]
            if subscribed:
                webhooks.append((event, kind, user_ids, title, body, url, subscribed))
    with transaction.atomic(savepoint=False):  # the outbox already gives each pass its own savepoint
        if rows:
            Notification.objects.bulk_create(rows, ignore_conflicts=True)
        if webhooks:
            _write_deliveries(webhooks, results)
    return results


def _write_deliveries(webhooks: list, results: dict[int, FanOut]) -> None:
    """One pending delivery per subscribed endpoint and event, unless one exists already."""
    event_ids = [event.pk for event, *_rest in webhooks]
    done = set(WebhookDelivery.objects.filter(event_id__in=event_ids).values_list("event_id", "endpoint_id"))
    people = {p.pk: p for p in get_user_model().objects.filter(
        pk__in={u for _e, _k, user_ids, *_rest in webhooks for u in user_ids})}
    now = timezone.now()
    deliveries = []
    for event, kind, user_ids, title, body, url, subscribed in webhooks:
        payload = event_payload(event, event.case, kind, user_ids, title=title, body=body, url=url, people=people)
        mine = [WebhookDelivery(endpoint=e, event_id=event.pk, kind=kind, payload=payload, next_attempt_at=now)
                for e in subscribed if (event.pk, e.pk) not in done]
        deliveries += mine
        results[event.pk].deliveries = len(mine)
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)


def event_payload(event: CaseEvent, case: Case, kind: str, user_ids: list[int], *, title: str, body: str,
                  url: str, people: dict | None = None) -> dict:
    """The JSON a webhook receives: the event, the case, the message, and whom to tell.
    ``people``: the users by id, when the caller has loaded them already."""
    from gongzhi.cases.services import ACTION_LABELS

    if people is None:
        people = {p.pk: p for p in get_user_model().objects.filter(pk__in=user_ids)}
    people = [people[pk] for pk in sorted(user_ids) if pk in people]
    return {
        "kind": kind,
        "event": {
            "id": event.pk, "action": event.action, "label": str(ACTION_LABELS.get(event.action, event.action)),
            "at": event.at.isoformat(), "actor": event.actor_name, "note": event.note,
            "from_status": event.from_status, "to_status": event.to_status, "data": event.data or {},
        },
        "case": {
            "id": case.pk, "number": case.number, "title": case.title, "status": case.status,
            "category": case.category.code if case.category_id else "",
            "area": case.area.name if case.area_id else "", "address": case.address,
            "department": case.department.name if case.department_id else "",
            "due_at": case.due_at.isoformat() if case.due_at else None, "overdue": case.overdue,
            "escalation_level": case.escalation_level, "url": absolute(url) if url else "",
        },
        "message": {"title": title, "body": body},
        "recipients": [{"id": p.pk, "name": str(p), "phone": getattr(p, "phone", None) or "",
                        "email": p.email or ""} for p in people],
    }


def notify_case_event(event_id: int) -> FanOut:
    """After a case event commits: write the rows, then hand sending to the worker (if any)."""
    return notify_case_events([event_id]).get(event_id, FanOut())


def notify_case_events(event_ids: list[int]) -> dict[int, FanOut]:
    """``notify_case_event`` for several events at once (the outbox's pass)."""
    from . import tasks

    results = fan_out_events(event_ids)
    for event_id, result in results.items():
        if result.deliveries or result.emails_wanted:
            tasks.deliver_notifications.enqueue(event_id)
    return results


# --------------------------------------------------------------------------- sending (the worker)


def deliver_event(event_id: int, *, now: datetime.datetime | None = None, sender: Sender | None = None) -> dict:
    """Send what one event's fan-out wrote: emails, then the first webhook attempts."""
    emails = send_event_emails(event_id)
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(event_id=event_id, status=WebhookDelivery.Status.PENDING,
                                         next_attempt_at__lte=now).values_list("pk", flat=True)
    results = [attempt_delivery(pk, now=now, sender=sender) for pk in list(due)]
    return {"emails": emails, "webhooks": sum(1 for r in results if r == WebhookDelivery.Status.DELIVERED)}


def send_event_emails(event_id: int) -> int:
    """Email each inbox row of the event whose user has an address (only when NOTIFY_EMAIL is on)."""
    if not email_enabled():
        return 0
    sent = 0
    rows = (Notification.objects.filter(event_id=event_id, emailed_at__isnull=True)
            .exclude(user__email="").select_related("user"))
    for row in rows:
        # Claim first: two workers running the same task never mail a person twice.
        if not Notification.objects.filter(pk=row.pk, emailed_at__isnull=True).update(emailed_at=timezone.now()):
            continue
        try:
            send_email(row)
            sent += 1
        except Exception:
            logger.exception("email for notification %s to user %s failed", row.pk, row.user_id)
            Notification.objects.filter(pk=row.pk).update(emailed_at=None)
    return sent


def send_email(notification: Notification) -> None:
    """One inbox message as a plain-text email, through Django's email backend."""
    body = notification.body
    if notification.url:
        body = f"{body}\n\n{absolute(notification.url)}"
    with translation.override(settings.LANGUAGE_CODE):
        subject = str(_("【共治】%(title)s")) % {"title": notification.title}
    EmailMessage(subject=subject[:200], body=body, to=[notification.user.email]).send()


# --------------------------------------------------------------------------- webhooks


def sign(secret: str, body: bytes) -> str:
    """The value of ``X-Gongzhi-Signature``: ``sha256=`` + hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): does ``header`` sign ``body`` with ``secret``? Constant time."""
    return hmac.compare_digest(sign(secret, body), header or "")


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON with sorted keys."""
    return json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without body: treat it as a failure instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post_with_urllib(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with the standard library; returns the HTTP status (4xx/5xx too), raises on network errors."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


#: The sender used when none is passed; tests may replace it (never the network in tests).
default_sender: Sender = post_with_urllib


def attempt_delivery(delivery_id: int, *, now: datetime.datetime | None = None,
                     sender: Sender | None = None) -> str:
    """Make one attempt at a pending, due delivery. Returns its status afterwards, or "skipped"
    when it was not due, not pending, or another worker claimed the attempt first."""
    now = now or timezone.now()
    pending = WebhookDelivery.Status.PENDING
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != pending or (delivery.next_attempt_at and delivery.next_attempt_at > now):
        return "skipped"
    if delivery.attempts >= MAX_ATTEMPTS or not delivery.endpoint.is_active:
        # A worker died during the last attempt, or the endpoint was switched off meanwhile.
        error = str(_("接收端已停用")) if not delivery.endpoint.is_active else delivery.last_error
        WebhookDelivery.objects.filter(pk=delivery.pk, status=pending, attempts=delivery.attempts).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=error)
        return WebhookDelivery.Status.FAILED
    number = delivery.attempts + 1
    retry_at = now + BACKOFF[min(number, len(BACKOFF)) - 1]
    # The claim also books the next try, so a worker that dies mid-POST leaves a retry behind.
    claimed = WebhookDelivery.objects.filter(pk=delivery.pk, status=pending, attempts=delivery.attempts).update(
        attempts=number, next_attempt_at=retry_at)
    if claimed != 1:
        return "skipped"
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Gongzhi-Webhook/1",
        SIGNATURE_HEADER: sign(delivery.endpoint.secret, body),
        EVENT_HEADER: delivery.kind,
        DELIVERY_HEADER: str(delivery.pk),
    }
    code: int | None = None
    try:
        code = int((sender or default_sender)(delivery.endpoint.url, body, headers, TIMEOUT_SECONDS))
        error = "" if 200 <= code < 300 else f"HTTP {code}"
    except Exception as exc:  # noqa: BLE001 - any failure of the far end is recorded and retried
        error = f"{type(exc).__name__}: {exc}"
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=number)
    if not error:
        mine.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(), response_status=code,
                    last_error="", next_attempt_at=None)
        return WebhookDelivery.Status.DELIVERED
    final = number >= MAX_ATTEMPTS
    mine.update(status=WebhookDelivery.Status.FAILED if final else pending, response_status=code,
                last_error=error[:2000], next_attempt_at=None if final else retry_at)
    logger.warning("webhook delivery %s to %s attempt %s failed: %s", delivery.pk, delivery.endpoint.name,
                   number, error[:200])
    return WebhookDelivery.Status.FAILED if final else pending


def deliver_due_webhooks(now: datetime.datetime | None = None, *, limit: int = 100,
                         sender: Sender | None = None) -> int:
    """Retry the pending deliveries that are due (the worker's loop calls this). Returns how many
    attempts were made."""
    now = now or timezone.now()
    due = list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in due if attempt_delivery(pk, now=now, sender=sender) != "skipped")


# --------------------------------------------------------------------------- the inbox


def get_own_or_404(user, pk) -> Notification:
    """One of the user's own notifications; another person's (or none) is the same 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < pk <= MAX_ID:
        raise Http404
    notification = Notification.objects.for_user(user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def mark_all_read(user) -> int:
    """Mark every unread message of the user read; returns how many."""
    return Notification.objects.for_user(user).unread().update(read_at=timezone.now())


def unread_count(user) -> int:
    return Notification.objects.for_user(user).unread().count()
