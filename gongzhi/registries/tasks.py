"""Background work of the registries (the worker's sweeper calls these on each pass; run_worker.py):

- ``reminder_job``: a message to the responsible people when a key person's visit or a correction's
  reporting falls due (once per due date, claimed with a conditional UPDATE on ``alerted_for``);
- ``retention_job``: anonymise records whose retention period after closing has passed."""

from __future__ import annotations

import datetime


def reminder_job(now: datetime.datetime | None = None) -> str | None:
    from . import corrections, keypersons

    visits = keypersons.remind_due(now)
    reports = corrections.remind_due(now)
    if not visits and not reports:
        return None
    return f"registries: {visits} key-person visits due, {reports} correction reports due"


def retention_job(now: datetime.datetime | None = None) -> str | None:
    from . import retention

    done = retention.anonymise_expired(now=now)
    return f"registries: {done} records anonymised" if done else None
