"""The outbox: case events whose notifications are not written yet (``CaseEvent.notified_at`` null).

A transition only writes its timeline row; the worker (``gongzhi worker``) claims unnotified events
every ``NOTIFY_POLL_SECONDS`` and fans them out (inbox rows, pending webhook deliveries, the
email task) — a claimed batch together, in a few statements — then marks them. So a report costs
the reporter's request nothing for notifications, and an event committed while no worker runs is
fanned out when one starts — nothing is lost.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED``: any number of workers share the outbox, and each
event is fanned out by one of them (``fan_out`` is idempotent besides, should a worker die between
writing the rows and marking the event).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from gongzhi.cases.models import CaseEvent

logger = logging.getLogger(__name__)

#: Events claimed per transaction.
BATCH = 200


def _fan_out_each(event_ids: list[int]) -> list[int]:
    """Fan out the events; returns the ids to mark as done.

    All of them together first (``notify_case_events``: a few statements for the whole pass, in
    one savepoint). Should that fail, each event again in its own savepoint: a database error (a
    lock or statement timeout, a deadlock, the server going away) leaves the event unmarked, so the
    next pass tries again; any other error (a bug, a broken template) is logged and the event
    marked, so that one bad event cannot block the outbox for everyone.
    """
    from . import services

    if len(event_ids) > 1:
        try:
            with transaction.atomic():
                services.notify_case_events(event_ids)
            return list(event_ids)
        except Exception:
            logger.warning("notifications for %d case events failed together; trying each alone", len(event_ids),
                           exc_info=True)
    done = []
    for pk in event_ids:
        try:
            with transaction.atomic():
                services.notify_case_event(pk)
        except DatabaseError:
            logger.exception("notifications for case event %s failed; retried on the next pass", pk)
            continue
        except Exception:
            logger.exception("notifications for case event %s failed", pk)
        done.append(pk)
    return done


def notify_events(event_ids: list[int]) -> None:
    """Fan out these committed events now, in this process (``NOTIFY_INLINE``)."""
    done = _fan_out_each(event_ids)
    CaseEvent.objects.filter(pk__in=done, notified_at__isnull=True).update(notified_at=timezone.now())


def drain(*, batch: int = BATCH) -> int:
    """Fan out every unnotified event, oldest first, in claimed batches. Returns how many."""
    done = 0
    while True:
        with transaction.atomic():
            ids = list(CaseEvent.objects.select_for_update(skip_locked=True).filter(notified_at__isnull=True)
                       .order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return done
            marked = _fan_out_each(ids)
            CaseEvent.objects.filter(pk__in=marked).update(notified_at=timezone.now())
        done += len(marked)
        if len(ids) < batch or len(marked) < len(ids):  # a short batch, or events to retry next pass
            return done


def pending() -> int:
    """How many events wait for their notifications (health checks, the admin)."""
    return CaseEvent.objects.filter(notified_at__isnull=True).count()
