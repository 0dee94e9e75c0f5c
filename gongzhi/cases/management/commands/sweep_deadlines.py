"""``gongzhi sweep_deadlines``: one pass of the deadline sweeper (``--loop`` to repeat).

The worker (``gongzhi worker``) already runs the sweeper; this command is for operators (a pass
by hand, or a sweeper on its own host) and for cron-style setups. Safe next to running workers.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from gongzhi.cases import sweeper


class Command(BaseCommand):
    help = "Warn, mark overdue and escalate (督办) the cases whose time has come; --loop to keep going."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="repeat until stopped (SIGTERM / Ctrl+C)")
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between passes with --loop (default: CASE_SWEEP_SECONDS, 30)")
        parser.add_argument("--batch-size", type=int, default=sweeper.BATCH_SIZE, help="rows read at a time")

    def handle(self, *args, **options) -> None:
        batch_size = max(1, options["batch_size"])
        if not options["loop"]:
            report = sweeper.sweep(batch_size=batch_size)
            self.stdout.write(str(report))
            return
        stop = threading.Event()

        def on_signal(signum, frame) -> None:
            self.stderr.write(f"received {signal.strsignal(signum)}: stopping after the claim in hand")
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        interval = options["interval"] if options["interval"] and options["interval"] > 0 else None

        def one_pass():
            return sweeper.sweep(batch_size=batch_size, should_stop=stop.is_set)

        sweeper.run_forever(stop, interval=interval, jobs=[one_pass])
