"""Races for tests on PostgreSQL: start threads at the same moment, each with its own connection.

``run_parallel(n, fn)`` runs ``fn(i)`` for ``i`` in ``range(n)``, one thread each, all released
together by a barrier; ``per_thread=k`` makes each of the ``n`` threads run ``k`` attempts in a row
(``n × k`` results, attempt ``t × k + j`` in thread ``t``). Every result is ``("ok", value)`` or
``("error", exception)`` — the test inspects what each attempt got. Each thread closes its database
connections when it ends (a transactional test's threads must not keep them open).
"""

from __future__ import annotations

import threading

from django.db import connections


def run_parallel(n: int, fn, *, per_thread: int = 1, timeout: float = 60) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * (n * per_thread)

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for k in range(per_thread):
                i = t * per_thread + k
                try:
                    results[i] = ("ok", fn(i))
                except Exception as exc:  # noqa: BLE001 - the test inspects what each attempt got
                    results[i] = ("error", exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout)
    return results
