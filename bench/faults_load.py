"""bench/faults.py, part 2: clients that submit reports and retry until they get an answer.

Each of ``clients`` asyncio clients sends reports one after another (``POST /api/v1/cases``, JSON,
raw HTTP/1.1 as in bench/cases.py) for ``duration`` seconds. Every report has its own idempotency
key; an attempt that fails — a timeout, a refused or reset connection, a connection closed before
the answer, a 5xx, a 429 or 408 — is retried with the SAME key and body after an exponential
back-off with full jitter (``base`` × 2ⁿ, at most ``cap`` seconds), up to ``max_attempts`` attempts.
A share (``drop_answer``) of first attempts is sent and the connection closed at once, the
answer never read — a phone losing its network after sending: the server stores the report, the
client retries, and must be answered with that case (``200``), not a second one. A 200 or 201 is
an acknowledgement: the client now believes the report is stored, and the run
checks afterwards that it is (exactly once, with the number the client was told). Other answers
(400, 401, 403 …) are not retried: they are the server refusing the report, counted as "rejected".

Runs in its own process (``bench/faults.py _loadgen``, configuration as JSON on stdin, result as
JSON on stdout) so that the fault injector in the parent can kill and restart servers meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from cases_http import NUMBER_RE, Conn, _post

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "connection_reset"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "closed_before_answer"
    return type(exc).__name__


async def run(cfg: dict) -> dict:
    loop = asyncio.get_running_loop()
    rng = random.Random(cfg.get("seed", 11))
    points, tokens = cfg["points"], cfg["tokens"]
    stop_at = loop.time() + cfg["duration"]
    acked: list[list] = []        # [key, status, number, attempts, client]
    unacked: list[list] = []      # [key, last outcome, attempts, client]
    rejected: list[list] = []     # [key, status, body]
    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    totals = {"attempts": 0, "retries": 0, "reports": 0, "acked_on_retry": 0, "acked_200_after_retry": 0,
              "answers_dropped": 0}
    timeline: list[tuple[float, str]] = []  # (seconds from start, outcome) for every attempt
    start = loop.time()

    async def submit(client: int, key: str) -> None:
        token = tokens[client % len(tokens)]
        raw = _post(cfg, token, key, points[rng.randrange(len(points))])
        conn = Conn(cfg["host"], cfg["port"])
        outcome = ""
        try:
            for attempt in range(1, cfg["max_attempts"] + 1):
                totals["attempts"] += 1
                if attempt > 1:
                    totals["retries"] += 1
                if attempt == 1 and rng.random() < cfg.get("drop_answer", 0.0):
                    # The client hangs up right after sending (a phone losing its network): the server
                    # goes on and commits, the answer is lost. The retry must get this case back.
                    try:
                        await conn._open()
                        conn.writer.write(raw)
                        await conn.writer.drain()
                    except OSError:
                        pass
                    conn.close()
                    totals["answers_dropped"] += 1
                    outcome = "answer_dropped_by_client"
                    errors[outcome] = errors.get(outcome, 0) + 1
                    timeline.append((round(loop.time() - start, 2), outcome))
                    await asyncio.sleep(rng.uniform(0, cfg["base"]))
                    continue
                try:
                    status, body = await asyncio.wait_for(conn.request(raw), cfg["timeout"])
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    conn.close()
                    outcome = _error_kind(exc)
                    errors[outcome] = errors.get(outcome, 0) + 1
                else:
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                    outcome = str(status)
                    if status in (200, 201):
                        m = NUMBER_RE.search(body)
                        acked.append([key, status, m.group(1).decode() if m else None, attempt, client])
                        if attempt > 1:
                            totals["acked_on_retry"] += 1
                            if status == 200:
                                totals["acked_200_after_retry"] += 1
                        timeline.append((round(loop.time() - start, 2), outcome))
                        return
                    if status not in RETRYABLE_STATUS:
                        rejected.append([key, status, body[:300].decode(errors="replace")])
                        timeline.append((round(loop.time() - start, 2), outcome))
                        return
                timeline.append((round(loop.time() - start, 2), outcome))
                ceiling = min(cfg["cap"], cfg["base"] * 2 ** (attempt - 1))
                await asyncio.sleep(rng.uniform(0, ceiling))
            unacked.append([key, outcome, cfg["max_attempts"], client])
        finally:
            conn.close()

    async def client(i: int) -> None:
        seq = 0
        while loop.time() < stop_at:
            seq += 1
            totals["reports"] += 1
            await submit(i, f"{cfg['prefix']}-{i}-{seq}")

    await asyncio.gather(*(client(i) for i in range(cfg["clients"])))
    return {"wall_s": round(loop.time() - start, 2), "acked": acked, "unacked": unacked, "rejected": rejected,
            "errors": errors, "statuses": statuses, "timeline": timeline, **totals}


def main() -> int:
    cfg = json.loads(sys.stdin.read())
    t0 = time.time()
    result = asyncio.run(run(cfg))
    result["started_at"] = t0
    print(json.dumps(result))
    return 0
