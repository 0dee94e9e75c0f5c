"""Background work for notifications (django-tasks; arguments are ids, never objects)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_notifications(event_id: int) -> dict[str, int]:
    """Send one case event's email and make the first webhook attempts (retries: the worker's loop)."""
    from . import services

    return services.deliver_event(event_id)


@task()
def retry_webhooks() -> int:
    """Retry the pending webhook deliveries that are due (also run by the worker's periodic loop)."""
    from . import services

    return services.deliver_due_webhooks()
