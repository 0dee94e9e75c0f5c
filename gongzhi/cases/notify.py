"""Hook called when case events are saved: the notifications app fans them out (inbox, email, webhooks)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def events_saved(event_ids: list[int]) -> None:
    """Events are fanned out by the worker (the unnotified rows are its outbox); with
    ``NOTIFY_INLINE`` on, right after this transaction commits, in this process."""
    if settings.NOTIFY_INLINE:
        transaction.on_commit(lambda: case_events_committed(event_ids))


def case_events_committed(event_ids: list[int]) -> None:
    """Fan out committed timeline events to the people and systems that follow the case.

    Runs in ``transaction.on_commit``, after the case is safely stored, so it must never raise: a
    failure here would turn a successful transition into an error page (the worker's outbox pass
    picks up whatever was not marked as notified).
    """
    try:
        from gongzhi.notifications.outbox import notify_events

        notify_events(event_ids)
    except Exception:
        logger.exception("notifications for case events %s failed", event_ids)
