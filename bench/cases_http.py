"""bench/cases.py, part 1: the load generator, gunicorn, HTTP helpers."""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchcommon import BENCH, REPO, cpu_delta, cpu_snapshot, latency_summary, other_cores  # noqa: E402

# --------------------------------------------------------------------------- the load generator


class Conn:
    """One HTTP/1.1 connection: keep-alive when the server allows it, reconnects otherwise."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.connects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request, return (status, body). Retries once on a reused connection that the
        server had closed before answering (safe here: every POST carries an idempotency key)."""
        for attempt in (0, 1):
            reused = self.writer is not None
            if not reused:
                await self._open()
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                self.close()
                if reused and attempt == 0 and (not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial):
                    continue
                raise
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"content-length:")
            length = int(lower[at + 15:lower.index(b"\r\n", at)]) if at >= 0 else 0
            body = await self.reader.readexactly(length) if length else b""
            if b"connection: close" in lower or at < 0:
                self.close()
            return status, body
        raise AssertionError("unreachable")


NUMBER_RE = re.compile(rb'"number":\s*"([^"]+)"')
STATUS_RE = re.compile(rb'"status":\s*"([^"]+)"')


def _post(cfg: dict, token: str, key: str, point: tuple[float, float]) -> bytes:
    if cfg.get("kind") == "healthz":
        return f"GET /healthz HTTP/1.1\r\nHost: {cfg['host']}:{cfg['port']}\r\n\r\n".encode()
    body = json.dumps({
        "title": "暴露垃圾", "description": "巷口垃圾堆放，影响通行（基准测试）", "category_code": cfg["category"],
        "lon": point[0], "lat": point[1], "source": "patrol", "idempotency_key": key,
    }, ensure_ascii=False).encode()
    return (f"POST /api/v1/cases HTTP/1.1\r\nHost: {cfg['host']}:{cfg['port']}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def closed_loop(cfg: dict) -> dict:
    """``connections`` clients, each sending its next report as soon as the last one is answered."""
    rng = random.Random(cfg.get("seed", 1))
    points, tokens = cfg["points"], cfg["tokens"]
    loop = asyncio.get_running_loop()
    results = {"warmup": [], "measure": []}
    phase = {"name": "warmup", "stop": False}
    counters = {"sent": 0}

    async def client(i: int) -> None:
        conn = Conn(cfg["host"], cfg["port"])
        token = tokens[i % len(tokens)]
        seq = 0
        while not phase["stop"]:
            seq += 1
            name = phase["name"]
            key = f"{cfg['prefix']}-{name[0]}-{i}-{seq}"
            raw = _post(cfg, token, key, points[rng.randrange(len(points))])
            counters["sent"] += 1
            t0 = loop.time()
            try:
                status, body = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError) as exc:
                results[name].append((t0, loop.time(), -1, type(exc).__name__.encode(), key))
                await asyncio.sleep(0.01)
                continue
            number = body[:300]  # for an error: what the server said
            if status == 201 or status == 200:
                m = NUMBER_RE.search(body)
                number = m.group(1) if m else b"?"
            results[name].append((t0, loop.time(), status, number, key))
        conn.close()

    tasks = [asyncio.create_task(client(i)) for i in range(cfg["connections"])]
    await asyncio.sleep(cfg["warmup"])
    phase["name"] = "measure"
    before = cpu_snapshot(cfg.get("gunicorn_pid"), cfg.get("worker_pid"))
    own0 = os.times()
    start = loop.time()
    await asyncio.sleep(cfg["duration"])
    end = loop.time()
    own1 = os.times()
    after = cpu_snapshot(cfg.get("gunicorn_pid"), cfg.get("worker_pid"))
    phase["stop"] = True
    await asyncio.gather(*tasks)

    rows = results["measure"]
    in_window = [r for r in rows if r[1] <= end]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    ok = 200 if cfg.get("kind") == "healthz" else 201
    created = [r for r in rows + results["warmup"] if r[2] == 201]
    cpu = cpu_delta(before, after)
    cpu["loadgen_cores"] = round(((own1.user - own0.user) + (own1.system - own0.system)) / (end - start), 2)
    cpu["other_cores"] = other_cores(cpu, "loadgen_cores")
    errors = [f"{r[2]} {r[3].decode(errors='replace')[:200]}" for r in rows if r[2] not in (200, 201)][:5]
    return {
        "duration_s": round(end - start, 2),
        "completed_in_window": len(in_window),
        "per_s": round(sum(1 for r in in_window if r[2] == ok) / (end - start), 1),
        "statuses": statuses,
        "latency": latency_summary([r[1] - r[0] for r in in_window]),
        "created_201_total": len(created),
        "created_keys_sample": [r[4] for r in created[:: max(1, len(created) // 50)]][:50],
        "distinct_numbers_201": len({r[3] for r in created}),
        "warmup_requests": len(results["warmup"]),
        "cpu": cpu,
        "first_errors": errors,
    }


async def open_loop(cfg: dict) -> dict:
    """Reports sent at fixed moments (``rate`` per second); latency counts from the scheduled moment.

    At most ``max_connections`` requests are in flight; a report whose moment comes while all are
    busy waits in the client, and that wait is part of its latency. A server that cannot keep up
    makes the run longer: past three times the planned duration (+30 s) the reports not yet sent
    are counted as not sent, so the run ends."""
    rng = random.Random(cfg.get("seed", 2))
    points, tokens = cfg["points"], cfg["tokens"]
    loop = asyncio.get_running_loop()
    idle: list[Conn] = []
    state = {"in_flight": 0, "new_conns": 0, "not_sent": 0}
    out: list[tuple] = []
    n = int(cfg["rate"] * cfg["duration"])
    t0 = loop.time() + 0.2
    give_up = t0 + cfg["duration"] * 3 + 30
    slots = asyncio.Semaphore(cfg.get("max_connections", 256))

    async def one(i: int) -> None:
        sched = t0 + i / cfg["rate"]
        delay = sched - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await asyncio.wait_for(slots.acquire(), timeout=max(0.0, give_up - loop.time()))
        except TimeoutError:
            state["not_sent"] += 1
            return
        state["in_flight"] += 1
        started = loop.time()
        if idle:
            conn = idle.pop()
        else:
            conn = Conn(cfg["host"], cfg["port"])
            state["new_conns"] += 1
        key = f"{cfg['prefix']}-{i}"
        raw = _post(cfg, tokens[i % len(tokens)], key, points[rng.randrange(len(points))])
        try:
            status, body = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            out.append((sched, started, loop.time(), -1, type(exc).__name__, b""))
            return
        finally:
            state["in_flight"] -= 1
            slots.release()
        done = loop.time()
        if conn.writer is not None:
            idle.append(conn)
        m = STATUS_RE.search(body)
        num = NUMBER_RE.search(body)
        out.append((sched, started, done, status, m.group(1).decode() if m else "?", num.group(1) if num else b""))

    before = cpu_snapshot(cfg.get("gunicorn_pid"), cfg.get("worker_pid"))
    own0 = os.times()
    await asyncio.gather(*(one(i) for i in range(n)))
    own1 = os.times()
    after = cpu_snapshot(cfg.get("gunicorn_pid"), cfg.get("worker_pid"))
    wall = after["at"] - before["at"]
    case_status: dict[str, int] = {}
    http_status: dict[str, int] = {}
    for r in out:
        http_status[str(r[3])] = http_status.get(str(r[3]), 0) + 1
        case_status[r[4]] = case_status.get(r[4], 0) + 1
    cpu = cpu_delta(before, after)
    cpu["loadgen_cores"] = round(((own1.user - own0.user) + (own1.system - own0.system)) / wall, 2)
    cpu["other_cores"] = other_cores(cpu, "loadgen_cores")
    return {
        "rate_per_s": cfg["rate"], "duration_s": cfg["duration"], "planned": n, "sent": len(out),
        "not_sent_server_saturated": state["not_sent"], "wall_s": round(wall, 1),
        "http_statuses": http_status, "case_statuses": case_status,
        "latency_from_schedule": latency_summary([r[2] - r[0] for r in out]),
        "latency_from_send": latency_summary([r[2] - r[1] for r in out]),
        "late_starts_over_5ms": sum(1 for r in out if r[1] - r[0] > 0.005),
        "connections_opened": state["new_conns"],
        "created_201_total": sum(1 for r in out if r[3] == 201),
        "distinct_numbers_201": len({r[5] for r in out if r[3] == 201}),
        "cpu": cpu,
    }


def loadgen_main() -> int:
    cfg = json.loads(sys.stdin.read())
    result = asyncio.run(closed_loop(cfg) if cfg["mode"] == "closed" else open_loop(cfg))
    print(json.dumps(result))
    return 0


def run_loadgen(cfg: dict) -> dict:
    proc = subprocess.run([sys.executable, str(BENCH / "cases.py"), "_loadgen"], input=json.dumps(cfg),
                          capture_output=True, text=True, check=False, timeout=cfg.get("duration", 20) * 3 + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_config(text: str) -> dict:
    """``sync:4`` or ``gthread:2x8`` → worker class, workers, threads."""
    m = re.fullmatch(r"(sync|gthread):(\d+)(?:x(\d+))?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad gunicorn configuration {text!r} (e.g. sync:4 or gthread:2x8)")
    threads = int(m.group(3) or 1)
    return {"name": text.strip(), "worker_class": m.group(1), "workers": int(m.group(2)), "threads": threads}


class Gunicorn:
    """gunicorn with our WSGI app, as ``gongzhi serve`` runs it, on 127.0.0.1 and a free port."""

    def __init__(self, config: dict, env: dict, log_dir: Path, app: str = "gongzhi.wsgi:application"):
        self.config, self.env, self.log_dir, self.app = config, env, log_dir, app
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    @property
    def worker_pid(self) -> int | None:
        return self.worker.pid if self.worker is not None else None

    def __enter__(self) -> Gunicorn:
        c = self.config
        cmd = [sys.executable, "-m", "gunicorn", self.app, "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(c["workers"]), "--worker-class", c["worker_class"], "--threads", str(c["threads"]),
               "--backlog", "2048", "--access-logfile", str(self.log_dir / f"access-{self.port}.log"),
               "--error-logfile", str(self.log_dir / f"error-{self.port}.log"),
               "--forwarded-allow-ips", "127.0.0.1",
               "--no-control-socket"]  # gunicorn 27's default socket is one path per user, shared with others
        self.output = open(self.log_dir / f"output-{self.port}.log", "wb")  # Django's own log goes to stderr
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True)
        if c.get("worker", True):
            # As in production: the worker writes the notifications (the outbox) while reports arrive.
            self.worker = subprocess.Popen([str(Path(sys.executable).parent / "gongzhi"), "worker",
                                            "--no-startup-delay"], env=self.env, cwd=REPO,
                                           stdin=subprocess.DEVNULL, stdout=self.output, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_dir}/error-{self.port}.log")
            try:
                if http_get(self.port, "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(5)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # graceful: the master stops its workers
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.output.close()

    def error_log_tail(self) -> str:
        text = ""
        for name in (f"error-{self.port}.log", f"output-{self.port}.log"):
            path = self.log_dir / name
            if path.exists():
                text += path.read_text(errors="replace")[-3000:]
        return text


def http_get(port: int, path: str, headers: dict | None = None, conn=None) -> tuple[int, bytes]:
    import http.client

    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()
