"""Background work of co-decision: the recurring meetings' reminders and overdue alerts.

The worker's sweeper calls ``reminder_job`` on each pass (``gongzhi worker``, run_worker.py); the task
``remind_meetings`` runs the same pass on demand through the task queue (no arguments to pickle)."""

from __future__ import annotations

import datetime

from django_tasks import task


def reminder_job(now: datetime.datetime | None = None) -> str | None:
    """One pass of ``meetings.remind_due``: a one-line summary, or None when nothing was sent."""
    from . import meetings

    return meetings.reminder_job(now)


@task()
def remind_meetings() -> str:
    return reminder_job() or "deliberation: nothing due"
