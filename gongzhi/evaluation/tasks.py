"""Background work for the indicators (django-tasks; no arguments to pickle)."""

from __future__ import annotations

from django_tasks import task


@task()
def recount() -> str:
    """Top up the return-visit samples and re-count the recent months. Queued by the worker's schedule
    (``services.recount_job``) after it won the claim, so a long recount never holds up the sweeper."""
    from . import services

    return services.run_recount()
