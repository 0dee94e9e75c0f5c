"""Hook called after a case event commits. The notifications app fills this in (inbox, email, webhooks)."""

from __future__ import annotations


def case_event_committed(event_id: int) -> None:
    """Fan out one committed timeline event to the people and systems that follow the case."""
    return None
