"""``gongzhi worker``: the django-tasks database worker, plus the deadline sweeper loop.

The sweeper (``cases.sweeper``) runs in a daemon thread every ``CASE_SWEEP_SECONDS`` seconds and
also retries due webhook deliveries; the database worker (``django_tasks_db``'s ``db_worker``)
runs in the main thread with the options given here. SIGTERM or SIGINT stops both: the worker
finishes its running task (its own signal handling), then the sweeper thread is told to stop and
finishes the claim in hand — every claim is one short transaction, so nothing is half done.

Any number of workers may run on any hosts: both loops claim their work with conditional updates.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from argparse import BooleanOptionalAction

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from gongzhi.cases import sweeper

logger = logging.getLogger("gongzhi.worker")

#: How long to wait for the sweeper thread to finish its claim in hand at shutdown.
STOP_GRACE_SECONDS = 30
#: When the database goes away under the task worker: the first wait before starting it again, doubled
#: after each failure up to the second.
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 30.0


def periodic_jobs(stop: threading.Event) -> list:
    """What the sweeper thread runs on each pass: deadlines, webhook retries, the audit chain, the
    router's retraining schedule, the indicators' recount, the points' expiry, the re-inspection
    reminders, the recurring meetings' reminders."""
    from gongzhi.core import audit
    from gongzhi.notifications.services import deliver_due_webhooks

    def deadlines():
        return sweeper.sweep(should_stop=stop.is_set)

    def webhooks():
        attempts = deliver_due_webhooks()
        return f"webhook attempts={attempts}" if attempts else None

    def audit_chain():
        # Seal new audit rows into the hash chain, then purge rows past AUDIT_RETENTION_DAYS.
        try:
            sealed, purge = audit.run_periodic()
        except audit.ChainHeadMissing:
            logger.error("audit: the chain head is missing; run `gongzhi audit_verify --repair-head` after checking")
            return None
        return f"audit: sealed {sealed}, purged {purge.rows}" if sealed or purge.rows else None

    def router_retrain():
        # Smart dispatch: queue a retraining when the schedule is due (one worker wins the claim).
        from gongzhi.router.services import retrain_job

        return retrain_job()

    def evaluation_recount():
        # Indicators: re-count the recent months' facts and top up the return-visit sample when due.
        from gongzhi.evaluation.services import recount_job

        return recount_job()

    def points_expiry():
        # 喜邻 points: earning batches and unused vouchers past their dates (docs/points.md).
        from gongzhi.points.services import expire_job

        return expire_job()

    def inspection_reminders():
        # Joint inspections: a message when a re-inspection (回头看) falls due (docs/inspections.md).
        from gongzhi.inspections.followup import reminder_job

        return reminder_job()

    def meeting_reminders():
        # Co-decision: reminders before a recurring meeting falls due, an alert once overdue (docs/deliberation.md).
        from gongzhi.deliberation.tasks import reminder_job

        return reminder_job()

    def registry_reminders():
        # Registries: key persons' visits and corrections' reporting falling due (docs/registries.md).
        from gongzhi.registries.tasks import reminder_job

        return reminder_job()

    def registry_retention():
        # Registries: anonymise records whose retention period after closing has passed.
        from gongzhi.registries.tasks import retention_job

        return retention_job()

    return [deadlines, webhooks, audit_chain, router_retrain, evaluation_recount, points_expiry,
            inspection_reminders, meeting_reminders, registry_reminders, registry_retention]


def outbox_job():
    from gongzhi.notifications.outbox import drain

    done = drain()
    return f"notifications for {done} case events" if done else None


def start_sweeper(stop: threading.Event, interval: float) -> list[threading.Thread]:
    """The sweeper thread, and the notification outbox's thread (a pass every NOTIFY_POLL_SECONDS)."""
    threads = [
        threading.Thread(target=sweeper.run_forever, name="gongzhi-sweeper", daemon=True,
                         kwargs={"interval": interval, "jobs": periodic_jobs(stop)}, args=(stop,)),
        threading.Thread(target=sweeper.run_forever, name="gongzhi-outbox", daemon=True,
                         kwargs={"interval": settings.NOTIFY_POLL_SECONDS, "jobs": [outbox_job]}, args=(stop,)),
    ]
    for thread in threads:
        thread.start()
    return threads


def is_database_backend(alias: str) -> bool:
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    try:
        return isinstance(task_backends[alias], DatabaseBackend)
    except Exception:  # noqa: BLE001 - an unknown alias: db_worker reports it properly
        return True


class Command(BaseCommand):
    help = "Run the background worker: the django-tasks database worker and the deadline sweeper."

    def add_arguments(self, parser) -> None:
        # Passed through to db_worker, which validates them (see `gongzhi db_worker --help`).
        parser.add_argument("--queue-name", help="queues to process, comma-separated; '*' for all")
        parser.add_argument("--exclude-queues", help="queues to leave out (with --queue-name '*')")
        parser.add_argument("--interval", help="seconds to wait when the task queue is empty")
        parser.add_argument("--batch", action="store_true", help="run the queued tasks, then exit")
        parser.add_argument("--reload", action=BooleanOptionalAction, default=None,
                            help="reload on code changes (default: DEBUG)")
        parser.add_argument("--backend", dest="backend_name", help="the task backend alias")
        parser.add_argument("--no-startup-delay", action="store_true")
        parser.add_argument("--max-tasks", help="exit after this many tasks")
        parser.add_argument("--worker-id", help="a worker id, unique in the pool")
        # Ours.
        parser.add_argument("--sweep-seconds", type=float, default=None,
                            help="seconds between sweeper passes (default: CASE_SWEEP_SECONDS, 30)")
        parser.add_argument("--no-sweeper", action="store_true", help="run the task worker only")

    def handle(self, *args, **options) -> None:
        interval = options["sweep_seconds"] if options["sweep_seconds"] is not None else sweeper.sweep_seconds()
        if interval <= 0:
            interval = sweeper.sweep_seconds()
        backend = options["backend_name"] or "default"
        reload = settings.DEBUG if options["reload"] is None else options["reload"]
        if options["batch"]:
            reload = False
        # Under --reload this process only restarts a child that runs this command again: the
        # sweeper belongs in the child.
        supervisor_only = reload and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"

        if not is_database_backend(backend):
            logger.warning("task backend %r is not the database backend: running the sweeper only", backend)
            if not options["no_sweeper"]:
                self.sweep_in_foreground(interval)
            return

        stop = threading.Event()
        threads = []
        if not options["no_sweeper"] and not supervisor_only:
            threads = start_sweeper(stop, interval)
        try:
            self.run_task_worker(options, reload, stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(STOP_GRACE_SECONDS)
                if thread.is_alive():
                    logger.warning("%s thread still busy after %s s; exiting anyway", thread.name, STOP_GRACE_SECONDS)

    def run_task_worker(self, options: dict, reload: bool, stop: threading.Event) -> None:
        """db_worker, started again when the database goes away under it (a PostgreSQL restart):
        db_worker re-raises the connection error, and without this the sweeper and the outbox
        would stop with it. SIGTERM or SIGINT while waiting to retry stops the worker."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                call_command("db_worker", *self.worker_args(options, reload), verbosity=options["verbosity"])
                return
            except (OperationalError, InterfaceError) as exc:
                connections.close_all()
                if stop.is_set():
                    return

                def on_signal(signum, frame) -> None:
                    logger.warning("received %s: stopping", signal.strsignal(signum))
                    stop.set()

                signal.signal(signal.SIGTERM, on_signal)
                signal.signal(signal.SIGINT, on_signal)
                logger.warning("the database is unavailable (%s); the task worker starts again in %.0f s",
                               str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, delay)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    @staticmethod
    def worker_args(options: dict, reload: bool) -> list[str]:
        argv: list[str] = []
        for name in ("queue_name", "exclude_queues", "interval", "backend_name", "max_tasks", "worker_id"):
            value = options.get(name)
            if value not in (None, ""):
                flag = "--backend" if name == "backend_name" else "--" + name.replace("_", "-")
                argv += [flag, str(value)]
        if options.get("batch"):
            argv.append("--batch")
        if options.get("no_startup_delay"):
            argv.append("--no-startup-delay")
        argv.append("--reload" if reload else "--no-reload")
        return argv

    def sweep_in_foreground(self, interval: float) -> None:
        """The sweeper loop in this thread, stopped by SIGTERM or SIGINT."""
        stop = threading.Event()

        def on_signal(signum, frame) -> None:
            logger.warning("received %s: stopping the sweeper", signal.strsignal(signum))
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        sweeper.run_forever(stop, interval=interval, jobs=[*periodic_jobs(stop), outbox_job])
