"""Hook called after a case event commits: the notifications app fans it out (inbox, email, webhooks)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def case_event_committed(event_id: int) -> None:
    """Fan out one committed timeline event to the people and systems that follow the case.

    Runs in ``transaction.on_commit``, after the case is safely stored, so it must never raise: a
    failure here would turn a successful transition into an error page. Inbox rows are written
    now; email and webhooks are sent by the worker (``notifications.tasks``).
    """
    try:
        from gongzhi.notifications.services import notify_case_event

        notify_case_event(event_id)
    except Exception:
        logger.exception("notifications for case event %s failed", event_id)
