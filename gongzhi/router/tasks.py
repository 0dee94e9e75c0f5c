"""Background work for smart dispatch (django-tasks; no arguments to pickle)."""

from __future__ import annotations

from django_tasks import task


@task()
def retrain() -> dict:
    """Train every target on the history (or the directory), activating as the settings say. Queued
    by the worker's schedule (``services.retrain_job``) after it won the claim."""
    from . import services

    return services.scheduled_retrain()
