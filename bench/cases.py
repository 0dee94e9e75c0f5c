"""Benchmark: the closed loop on PostgreSQL through the real HTTP stack (gunicorn) — report intake
against pgbench, auto-dispatch latency at a fixed rate, the command-center queue with 1,000,000 cases.

Builds everything in a database of its own (``gongzhi_bench_cases`` by default, created and dropped
here: the database named in DATABASE_URL is only used to connect and is never written to): runs
``migrate``, loads the demo city (``gongzhi.core.demo.build_demo_city``, real polygons for the
point → grid lookup), the 250 matters (管理事项) of the GB/T 47678.5 directory as the active
category version, one routing rule (06010 暴露垃圾 in 凤凰岭街道 → 凤凰岭综合执法中队) and a handling
time limit for it, grid-worker accounts (网格员 of the three 凤凰小巷 grids, so their reports are
auto-dispatched) with write tokens, and read tokens and web sessions for ``center`` (the city
dispatcher) and ``fhl-dispatcher`` (a street dispatcher).

Then, with gunicorn started by this script on 127.0.0.1 and a free port (environment: the bench
database, GONGZHI_INSECURE_DEV=1, a SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, DATABASE_CONN_MAX_AGE=60;
an access log as ``gongzhi serve`` writes one):

1. **intake**: ``POST /api/v1/cases`` (JSON, no photo) by the grid workers, each report at a random
   point inside a 凤凰小巷 grid with a fresh idempotency key — grid lookup, case number, routing,
   ``due_at`` in working time and the auto-dispatch transition are all inside the request. The load
   generator is a separate process (this file, ``_loadgen``: asyncio, raw HTTP/1.1, keep-alive where
   the server allows it, ``--connections`` closed-loop connections) sharing the same 2 cores; it
   measures its own CPU time, and that of gunicorn and PostgreSQL, over the measured window. Each
   gunicorn configuration of ``--configs`` gets a warm-up and a ``--duration`` run; the best is
   reported. Afterwards every 201 must match exactly one case row (keys counted in the database,
   case numbers distinct), and a sample of keys is sent again: each must answer 200 with the same
   case and create nothing.
   Then ``pgbench -n -f insert.sql -c 8 -j 2 -T <duration>`` against the same database: single-row
   INSERTs into a copy of the cases table's columns (primary key only), and the ratio.
2. **dispatch**: the same report from a grid worker, open loop at ``--rate`` per second for
   ``--rate-duration`` seconds (send times fixed in advance, latency measured from the scheduled
   time, so a stalled server cannot hide its queue); every answer must say ``"dispatched"``.
3. **queue**: the case tables emptied, ``--cases`` cases written with COPY (a year of reports over
   the demo's 22 grids, statuses by age, a Zipf-like category mix, sources, departments, due times
   and overdue flags, unique numbers), ``VACUUM ANALYZE``; then ``GET /api/v1/cases?…`` (first page)
   with several filters as ``center`` and as ``fhl-dispatcher`` (``--runs`` requests each after 3
   warm-ups, one client), and the HTML page ``/cases/?…`` if it answers 200. Every request's SQL is
   captured in-process (Django test client, ``CaptureQueriesContext``) and EXPLAIN ANALYZEd; the
   slowest query's plan is printed, and sequential scans of ``cases_case`` are pointed out.

Prints one JSON object on stdout; exits 1 if an answer is wrong (a lost or duplicated case, a report
that was not dispatched, a 5xx), never because something is slow; 2 if PostgreSQL can't be reached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/cases.py
    … --quick                      # ≈ 1 minute: short runs, 100,000 cases
    … --configs sync:4,gthread:2x8 # gunicorn configurations to try (worker class:workers[xthreads])
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlencode, urlsplit, urlunsplit  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test"
DIRECTORY_CSV = REPO / "gongzhi" / "cases" / "data" / "gbt47678_5_2026_directory.csv"
TARGET_INTAKE_PER_S = 1000.0
TARGET_RATIO = 0.20
TARGET_DISPATCH_P99_MS = 50.0
TARGET_QUEUE_P95_MS = 150.0
INTAKE_CATEGORY = "06010"  # 暴露垃圾
ROUTED_TO = "fhl-enforcement"  # 凤凰岭综合执法中队
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def latency_summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p95_ms": round(percentile(ms, 95), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(ms[-1], 2), "mean_ms": round(sum(ms) / len(ms), 2)}


# --------------------------------------------------------------------------- CPU accounting (/proc)


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(tree_root: int | None) -> dict:
    """CPU seconds so far: the process tree under ``tree_root`` (gunicorn), every ``postgres``
    process, and the whole machine (busy = all but idle and iowait, from /proc/stat)."""
    stats = {}
    for pid in _all_pids():
        st = _proc_stat(pid)
        if st is not None:
            stats[pid] = st
    tree: dict[int, float] = {}
    if tree_root is not None and tree_root in stats:
        members = {tree_root}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _cpu) in stats.items():
                if ppid in members and pid not in members:
                    members.add(pid)
                    changed = True
        tree = {pid: stats[pid][1] for pid in members}
    postgres = {pid: cpu for pid, (_ppid, cpu) in stats.items() if _comm(pid) == "postgres"}
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return {"tree": tree, "postgres": postgres, "busy": (sum(parts) - idle) / CLK_TCK, "total": sum(parts) / CLK_TCK,
            "at": time.monotonic()}


def cpu_delta(before: dict, after: dict) -> dict:
    def grown(a: dict, b: dict) -> float:
        return sum(cpu - a.get(pid, 0.0) for pid, cpu in b.items())

    wall = after["at"] - before["at"]
    return {"wall_s": round(wall, 2),
            "gunicorn_cores": round(grown(before["tree"], after["tree"]) / wall, 2),
            "postgres_cores": round(grown(before["postgres"], after["postgres"]) / wall, 2),
            "machine_busy_cores": round((after["busy"] - before["busy"]) / wall, 2),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def machine_busy(seconds: float = 2.0) -> float:
    """Cores the whole machine kept busy over the next ``seconds``."""
    before = cpu_snapshot(None)
    time.sleep(seconds)
    after = cpu_snapshot(None)
    return (after["busy"] - before["busy"]) / (after["at"] - before["at"])


def wait_for_quiet(max_wait: float, threshold: float = 0.4) -> dict:
    """The machine is shared: wait (at most ``max_wait`` s) until it is nearly idle before measuring."""
    start = time.monotonic()
    busy = machine_busy()
    while busy > threshold and time.monotonic() - start < max_wait:
        busy = machine_busy()
    waited = round(time.monotonic() - start, 1)
    if busy > threshold:
        log(f"  the machine is busy ({busy:.2f} cores used by others after {waited} s of waiting): measuring anyway")
    return {"waited_s": waited, "busy_cores_before": round(busy, 2), "quiet": busy <= threshold}


def other_cores(cpu: dict, *own: str) -> float:
    """CPU used by neither gunicorn, PostgreSQL nor the load generator: other work on the machine."""
    return round(max(0.0, cpu["machine_busy_cores"] - cpu["gunicorn_cores"] - cpu["postgres_cores"]
                     - sum(cpu.get(k, 0.0) for k in own)), 2)


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
    before = cpu_snapshot(cfg.get("gunicorn_pid"))
    own0 = os.times()
    start = loop.time()
    await asyncio.sleep(cfg["duration"])
    end = loop.time()
    own1 = os.times()
    after = cpu_snapshot(cfg.get("gunicorn_pid"))
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

    before = cpu_snapshot(cfg.get("gunicorn_pid"))
    own0 = os.times()
    await asyncio.gather(*(one(i) for i in range(n)))
    own1 = os.times()
    after = cpu_snapshot(cfg.get("gunicorn_pid"))
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
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_loadgen"], input=json.dumps(cfg),
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


# --------------------------------------------------------------------------- set-up (Django)


def load_directory() -> dict:
    """The active category directory (migration 0002 loads GB/T 47678.5-2026; if no version is active,
    its 250 matters are loaded here), one routing rule and a handling limit for 06010 暴露垃圾."""
    import csv
    from decimal import Decimal

    from django.utils import timezone

    from gongzhi.areas.models import Area
    from gongzhi.cases.choices import LimitUnit, Step
    from gongzhi.cases.models import Category, DirectoryVersion, RoutingRule, TimeLimit
    from gongzhi.orgs.models import Department

    version = DirectoryVersion.objects.filter(is_active=True).first()
    loaded_here = version is None
    if loaded_here:
        version = DirectoryVersion.objects.create(name="GB/T 47678.5-2026 管理事项（基准）", source=DIRECTORY_CSV.name,
                                                  is_active=True, activated_at=timezone.now())
        with DIRECTORY_CSV.open(encoding="utf-8-sig") as f:
            rows = [r for r in csv.DictReader(f) if r["matter_kind"] == "管理事项"]
        Category.objects.bulk_create([
            Category(version=version, code=r["code5"], name=r["name"], kind=Category.Kind.MATTER,
                     major_code=r["major_code"], major_name=r["major_name"]) for r in rows])
    category = Category.objects.get(version=version, code=INTAKE_CATEGORY)
    street = Area.objects.get(name="凤凰岭街道")
    department = Department.objects.get(code=ROUTED_TO)
    RoutingRule.objects.create(category=category, area=street, department=department)
    limit = TimeLimit.objects.filter(category=category, step=Step.HANDLE).first()
    if limit is None:
        limit = TimeLimit.objects.create(category=category, step=Step.HANDLE, amount=Decimal(4),
                                         unit=LimitUnit.WORKING_HOURS)
    return {"directory": version.name, "directory_loaded_by_bench": loaded_here,
            "categories": Category.objects.filter(version=version).count(),
            "matters": Category.objects.filter(version=version, kind=Category.Kind.MATTER).count(),
            "category_id": category.pk, "department_id": department.pk,
            "handle_limit": f"{limit.amount.normalize()} {limit.unit}"}


def make_people(n_workers: int) -> dict:
    """Grid workers with write tokens; read tokens and sessions for the two dispatchers."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from gongzhi.areas.models import Area
    from gongzhi.core.demo import FENGHUANG_GRID_NAMES
    from gongzhi.orgs import services as org_services
    from gongzhi.orgs.models import Role, User

    role = Role.objects.get(code="grid_worker")
    grids = list(Area.objects.filter(name__in=FENGHUANG_GRID_NAMES))
    tokens = []
    for i in range(n_workers):
        user = org_services.create_user(actor=None, username=f"bench-gw-{i:02d}", password=None,
                                        display_name=f"基准网格员{i:02d}")
        for grid in grids:
            org_services.assign_role(actor=None, user=user, area=grid, role=role)
        tokens.append(org_services.create_api_token(actor=None, user=user, name="bench", scope="write")[1])
    readers = {}
    for username in ("center", "fhl-dispatcher"):
        user = User.objects.get(username=username)
        token = org_services.create_api_token(actor=None, user=user, name="bench", scope="read")[1]
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "gongzhi.orgs.backends.UsernameOrPhoneBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        readers[username] = {"token": token, "session": session.session_key, "user_id": user.pk}
    return {"write_tokens": tokens, "readers": readers}


def grid_points(n: int, seed: int = 7) -> tuple[list[tuple[float, float]], dict]:
    """Random points inside the three 凤凰小巷 grids, each checked with the real lookup."""
    import shapely
    from shapely.geometry import shape

    from gongzhi.areas.models import Area
    from gongzhi.areas.services import area_at
    from gongzhi.core.demo import FENGHUANG_GRID_NAMES

    rng = random.Random(seed)
    grids = list(Area.objects.filter(name__in=FENGHUANG_GRID_NAMES))
    points, landed = [], {"grid": 0, "building": 0}
    while len(points) < n:
        grid = grids[len(points) % len(grids)]
        poly = shape(grid.geometry)
        w, s, e, nn = poly.bounds
        lon, lat = round(rng.uniform(w, e), 6), round(rng.uniform(s, nn), 6)
        if not shapely.contains_xy(poly, lon, lat):
            continue
        area = area_at(lon, lat)
        if area is None or not area.path.startswith(grid.path):
            raise RuntimeError(f"lookup put ({lon}, {lat}) in {area} instead of {grid}")
        landed["grid" if area.pk == grid.pk else "building"] += 1
        points.append((lon, lat))
    return points, landed


def count_keys(prefix: str) -> tuple[int, int]:
    """Case rows whose idempotency key starts with ``prefix``, and their distinct numbers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT number) FROM cases_case WHERE idempotency_key LIKE %s",
                       [prefix + "%"])
        return cursor.fetchone()


def lock_sampler(db: str, stop: threading.Event, samples: list) -> None:
    """Every 50 ms: what each client backend of the bench database is doing (pg_stat_activity)."""
    import psycopg

    url = with_database(os.environ["DATABASE_URL"], db)
    with psycopg.connect(url, autocommit=True) as conn:
        me = conn.info.backend_pid
        while not stop.wait(0.05):
            rows = conn.execute(
                "SELECT state, coalesce(wait_event_type, ''), coalesce(wait_event, '') FROM pg_stat_activity "
                "WHERE datname = %s AND backend_type = 'client backend' AND pid <> %s", [db, me]).fetchall()
            samples.append(rows)


def summarize_waits(samples: list) -> dict:
    active = waiting_lock = 0
    events: dict[str, int] = {}
    for rows in samples:
        for state, wtype, wevent in rows:
            if state != "active":
                continue
            active += 1
            if wtype:
                events[f"{wtype}:{wevent}"] = events.get(f"{wtype}:{wevent}", 0) + 1
            if wtype == "Lock":
                waiting_lock += 1
    return {"samples": len(samples), "active_backends_mean": round(active / max(1, len(samples)), 2),
            "lock_wait_share_of_active": round(waiting_lock / max(1, active), 3),
            "top_wait_events": dict(sorted(events.items(), key=lambda kv: -kv[1])[:6])}


def check_retries(port: int, tokens: list[str], keys: list[str], points) -> dict:
    """Send already-answered keys again: each must answer 200 with the first case, creating nothing."""
    cfg = {"host": "127.0.0.1", "port": port, "category": INTAKE_CATEGORY}
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    codes: dict[str, int] = {}
    numbers_same = 0
    for key in keys:
        client = int(key.split("-")[-2])
        raw = _post(cfg, tokens[client % len(tokens)], key, points[0])
        head, body = raw.split(b"\r\n\r\n", 1)
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        headers.pop("Host", None)
        conn.request("POST", "/api/v1/cases", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        codes[str(resp.status)] = codes.get(str(resp.status), 0) + 1
        from gongzhi.cases.models import Case

        m = NUMBER_RE.search(data)
        if m and Case.objects.filter(idempotency_key=key, number=m.group(1).decode()).exists():
            numbers_same += 1
    conn.close()
    return {"sent": len(keys), "statuses": codes, "same_case": numbers_same}


# --------------------------------------------------------------------------- pgbench

PGBENCH_TABLE = "bench_case_insert"
PGBENCH_SCRIPT = """\\set g random(1, 3)
\\set n random(1, 999999999)
INSERT INTO bench_case_insert (number, title, description, category_id, source, status, urgent, extra, lon, lat,
  address, area_id, area_path, locate_status, reporter_id, reporter_name, reporter_phone, idempotency_key,
  created_at, updated_at, warned, overdue, escalation_level, rework_count, return_count, reopen_count, rating,
  rating_comment)
VALUES ('150302-' || :client_id || '-' || :n, '暴露垃圾', '巷口垃圾堆放，影响通行（基准测试）', 1, 'patrol', 'reported',
  false, '{}', 106.82, 39.67, '', :g, '/1/2/4/5/', 'located', 1, '', '', 'pgb-' || :client_id || '-' || :n,
  now(), now(), false, false, 0, 0, 0, 0, '', '');
"""


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


def run_pgbench(db_url: str, duration: int, work: Path, clients: int = 8, threads: int = 2) -> dict:
    from django.db import connection

    exe = find_pgbench()
    if exe is None:
        return {"skipped": True, "error": "pgbench not found (Debian: apt-get install postgresql-contrib)"}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
        cursor.execute(f"CREATE TABLE {PGBENCH_TABLE} (LIKE cases_case INCLUDING DEFAULTS INCLUDING IDENTITY)")
        cursor.execute(f"ALTER TABLE {PGBENCH_TABLE} ADD PRIMARY KEY (id)")
        cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = %s", [PGBENCH_TABLE])
        columns = cursor.fetchone()[0]
    script = work / "insert.sql"
    script.write_text(PGBENCH_SCRIPT, encoding="utf-8")
    parts = urlsplit(db_url)
    cmd = [exe, "-n", "-f", str(script), "-c", str(clients), "-j", str(threads), "-T", str(duration),
           "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
           parts.path.lstrip("/")]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    # CPU is read while pgbench runs (from 1 s in to 1 s before the end): its backends exit with it.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    before, pgb0 = cpu_snapshot(None), _proc_stat(proc.pid)
    time.sleep(max(1.0, duration - 2.0))
    after, pgb1 = cpu_snapshot(None), _proc_stat(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=duration + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", stdout)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PGBENCH_TABLE}")
        rows = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {PGBENCH_TABLE}")
    cpu = cpu_delta(before, after)
    cpu["pgbench_cores"] = round((pgb1[1] - pgb0[1]) / cpu["wall_s"], 2) if pgb0 and pgb1 else 0.0
    cpu["other_cores"] = other_cores(cpu, "pgbench_cores")
    if proc.returncode != 0 or not tps:
        return {"skipped": True, "error": f"pgbench failed (exit {proc.returncode}): {stderr[-1000:]}"}
    return {"tps": round(float(tps.group(1)), 1), "latency_avg_ms": float(latency.group(1)) if latency else None,
            "rows": rows, "clients": clients, "threads": threads, "duration_s": duration, "columns": columns,
            "command": f"pgbench -n -f insert.sql -c {clients} -j {threads} -T {duration}",
            "script": PGBENCH_SCRIPT, "cpu": cpu}


# --------------------------------------------------------------------------- 1,000,000 cases


OPEN = ["reported", "filed", "dispatched", "returned", "in_progress", "handled"]
OPEN_WEIGHTS = [15, 5, 25, 3, 40, 12]
TERMINAL = ["closed", "not_filed", "withdrawn", "merged"]
TERMINAL_WEIGHTS = [88, 6, 3, 3]
SOURCES = ["patrol", "hotline", "resident", "device", "api"]
SOURCE_WEIGHTS = [50, 25, 15, 6, 4]
DEPARTMENT_SUFFIXES = ["office", "police", "market", "enforcement", "judicial"]
STREET_PREFIX = {"凤凰岭街道": "fhl", "海北街道": "hb", "滨海街道": "bh"}
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 12, 8, 9, 12, 13, 12, 10, 7, 5, 4, 3, 2, 1]


def open_share(age_days: float) -> float:
    """The share of cases of this age that are still open (most are closed within a week or two)."""
    if age_days < 2:
        return 0.7
    if age_days < 14:
        return 0.3
    if age_days < 60:
        return 0.08
    return 0.015


def populate_cases(n: int, seed: int = 11) -> dict:
    """Write ``n`` cases with COPY; returns what was written."""
    import datetime

    from django.db import connection
    from django.utils import timezone

    from gongzhi.areas.models import Area
    from gongzhi.cases.models import Case, Category
    from gongzhi.orgs.models import Department, User

    rng = random.Random(seed)
    now = timezone.now()
    local_now = timezone.localtime(now)
    grids = list(Area.objects.filter(level__slug="grid").order_by("path"))
    streets = {a.path: a for a in Area.objects.filter(level__slug="street")}
    departments = {d.code: d.pk for d in Department.objects.all()}
    grid_info = []
    for grid in grids:
        street = next(s for p, s in streets.items() if grid.path.startswith(p))
        w, s, e, nn = _bounds(grid.geometry)
        weight = 2.0 if street.name == "凤凰岭街道" else 1.0  # old alleys: more reports per grid
        grid_info.append((grid, street, (w, s, e, nn), weight,
                          [departments[f"{STREET_PREFIX[street.name]}-{suffix}"] for suffix in DEPARTMENT_SUFFIXES]))
    grid_weights = [g[3] for g in grid_info]
    categories = list(Category.objects.filter(version__is_active=True, kind=Category.Kind.MATTER)
                      .values_list("pk", "name"))
    rng.shuffle(categories)
    category_weights = [1 / (rank + 1) ** 1.1 for rank in range(len(categories))]
    reporters = {name: User.objects.get(username=name).pk for name in ("fh-gridworker", "hb-gridworker", "wd-gridworker")}
    worker_of_street = {"凤凰岭街道": reporters["fh-gridworker"], "海北街道": reporters["hb-gridworker"],
                        "滨海街道": reporters["wd-gridworker"]}

    # Creation times first, sorted, so that rows lie in the table roughly in the order they came in.
    day_weights = []
    for d in range(365):
        day = (local_now - datetime.timedelta(days=d)).date()
        day_weights.append(1.2 if day.weekday() < 5 else 0.7)
    days = rng.choices(range(365), weights=day_weights, k=n)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=n)
    created = []
    for d, h in zip(days, hours, strict=True):
        moment = (local_now - datetime.timedelta(days=d)).replace(hour=h, minute=0, second=0, microsecond=0)
        moment += datetime.timedelta(seconds=rng.random() * 3600)
        if moment > local_now:
            moment = local_now - datetime.timedelta(seconds=rng.random() * 3600)
        created.append(moment)
    created.sort()

    columns = ["number", "title", "description", "category_id", "source", "status", "urgent", "extra", "lon", "lat",
               "address", "area_id", "area_path", "locate_status", "reporter_id", "reporter_name", "reporter_phone",
               "idempotency_key", "department_id", "master_id", "created_at", "updated_at", "filed_at",
               "dispatched_at", "handled_at", "closed_at", "step_started_at", "due_at", "warn_at", "warned", "overdue",
               "escalation_level", "next_escalation_at", "rework_count", "return_count", "reopen_count", "rating",
               "rating_comment", "rated_at"]
    sequences: dict[str, int] = {}
    counts = {"status": {}, "overdue": 0, "to_locate": 0, "fhl": 0}
    hour = datetime.timedelta(hours=1)
    table = Case._meta.db_table
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for moment in created:
                grid, street, (w, s, e, nn), _weight, depts = rng.choices(grid_info, weights=grid_weights)[0]
                cat_id, cat_name = rng.choices(categories, weights=category_weights)[0]
                age = (local_now - moment).total_seconds() / 86400
                if rng.random() < open_share(age):
                    status = rng.choices(OPEN, weights=OPEN_WEIGHTS)[0]
                else:
                    status = rng.choices(TERMINAL, weights=TERMINAL_WEIGHTS)[0]
                counts["status"][status] = counts["status"].get(status, 0) + 1
                source = rng.choices(SOURCES, weights=SOURCE_WEIGHTS)[0]
                located = rng.random() > 0.01 or status in ("dispatched", "in_progress", "handled", "closed")
                district = (grid.code or "")[:6] if located else "000000"
                prefix = f"{district}-{moment:%Y%m%d}"
                sequences[prefix] = seq = sequences.get(prefix, 0) + 1
                lon, lat = (rng.uniform(w, e), rng.uniform(s, nn)) if located else (None, None)
                filed = dispatched = handled = closed = step = due = warn = nxt = None
                department = None
                if status not in ("reported", "withdrawn", "not_filed"):
                    filed = moment + hour * rng.uniform(0.05, 2)
                if status in ("dispatched", "in_progress", "handled", "closed", "returned"):
                    dispatched = filed + hour * rng.uniform(0.05, 1)
                    department = depts[cat_id % len(depts)] if status != "returned" else None
                if status in ("handled", "closed"):
                    handled = dispatched + hour * rng.uniform(1, 72)
                if status in TERMINAL:
                    closed = max(x for x in (moment, filed, dispatched, handled) if x is not None) + hour * rng.uniform(0.5, 30)
                    if closed > local_now:
                        closed = local_now
                if status in ("filed", "returned"):
                    step, due = filed, filed + hour * 2
                elif status in ("dispatched", "in_progress"):
                    step, due = dispatched, dispatched + hour * 24 * rng.choice((1, 2, 3, 5))
                elif status == "handled":
                    step, due = handled, handled + hour * 24
                overdue = due is not None and due < local_now
                if due is not None:
                    warn = step + (due - step) * 0.8
                    nxt = due
                counts["overdue"] += overdue
                counts["to_locate"] += not located
                counts["fhl"] += located and street.name == "凤凰岭街道"
                rated = closed is not None and status == "closed" and rng.random() < 0.6
                copy.write_row((
                    f"{prefix}-{seq:04d}", cat_name, f"{grid.name}附近发现{cat_name}，请尽快处理。（基准数据）", cat_id,
                    source, status, rng.random() < 0.02, "{}", lon, lat,
                    f"{street.name}{grid.name}{rng.randint(1, 200)}号" if located else "某地（待定位）",
                    grid.pk if located else None, grid.path if located else "", "located" if located else "to_locate",
                    worker_of_street[street.name] if source == "patrol" else None, "", "", None, department, None,
                    moment, closed or handled or dispatched or filed or moment, filed, dispatched, handled, closed,
                    step, due, warn, warn is not None and warn < local_now, overdue,
                    (1 + int((local_now - due).total_seconds() // 86400 > 2)) if overdue else 0, nxt,
                    0, 0, 0, rng.choice(("satisfied", "satisfied", "satisfied", "basic", "unsatisfied")) if rated else "",
                    "", closed if rated else None,
                ))
    load_s = time.perf_counter() - t0
    return {"cases": n, "load_s": round(load_s, 1), "grids": len(grids), "categories": len(categories),
            "statuses": dict(sorted(counts["status"].items(), key=lambda kv: -kv[1])),
            "open": sum(v for k, v in counts["status"].items() if k in OPEN), "overdue": counts["overdue"],
            "to_locate": counts["to_locate"], "in_fenghuangling": counts["fhl"],
            "first_created": created[0].isoformat(timespec="minutes"),
            "last_created": created[-1].isoformat(timespec="minutes")}


def _bounds(geometry: dict) -> tuple[float, float, float, float]:
    ring = geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def queue_filters(top_category_id: int) -> list[tuple[str, dict, dict]]:
    """The filter combinations timed for each dispatcher: (name, API parameters, page parameters).

    The page shows open cases when no status is given and takes ``overdue=1``; the API shows every
    status and takes ``overdue=true``: the page parameters ask for the same rows as the API's."""
    from gongzhi.areas.models import Area
    from gongzhi.cases.models import Case

    street = Area.objects.get(name="凤凰岭街道")
    community = Area.objects.get(name="新城社区")
    # A case in 凤凰岭街道 some weeks old (both dispatchers see it), and its day's numbers in 海勃湾区:
    # what a dispatcher types from a paper slip.
    ours = Case.objects.filter(area_path__startswith=street.path)
    sample = ours.order_by("-created_at")[min(5000, ours.count() // 10)]
    day_prefix = sample.number.rsplit("-", 1)[0]
    api = [
        ("open", {"status": "open"}),
        ("all statuses", {}),
        ("street subtree, open", {"status": "open", "area": street.pk}),
        ("community subtree, all statuses", {"area": community.pk}),
        ("overdue", {"overdue": "true"}),
        ("category, open", {"status": "open", "category": top_category_id}),
        ("in progress + overdue + street", {"status": "in_progress", "overdue": "true", "area": street.pk}),
        (f"number prefix {day_prefix}", {"q": day_prefix}),
        ("one case number", {"q": sample.number}),
    ]
    out = []
    for name, params in api:
        page = {k: ("1" if k == "overdue" else v) for k, v in params.items()}
        page.setdefault("status", "")
        out.append((name, params, page))
    return out


def time_requests(port: int, path: str, headers: dict, runs: int, warmup: int = 3) -> tuple[list[float], int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, status, body = [], 0, b""
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        status, body = http_get(port, path, headers, conn=conn)
        elapsed = time.perf_counter() - t0
        if i >= warmup:
            times.append(elapsed)
        if status >= 500:
            break
    conn.close()
    return times, status, body


def capture_sql(path: str, headers: dict) -> list[dict]:
    """Run one request in-process and return its SQL with each query's own time."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    extra = {}
    if "Authorization" in headers:
        extra["HTTP_AUTHORIZATION"] = headers["Authorization"]
    if "Cookie" in headers:
        client.cookies.load(headers["Cookie"])
    with CaptureQueriesContext(connection) as ctx:
        client.get(path, **extra)
    return [{"sql": q["sql"], "ms": float(q["time"]) * 1000} for q in ctx.captured_queries]


def explain(sql: str) -> tuple[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    m = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return plan, float(m.group(1)) if m else 0.0


def case_indexes() -> list[dict]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef, pg_relation_size(quote_ident(indexname)::regclass) FROM pg_indexes "
                       "WHERE tablename = 'cases_case' ORDER BY indexname")
        return [{"name": n, "definition": d.split(" USING ")[1], "size_mib": round(s / 2**20, 1)}
                for n, d, s in cursor.fetchall()]


# --------------------------------------------------------------------------- the three parts


def part_intake(args, configs: list[dict], env: dict, work: Path, db: str, db_url: str, tokens: list[str],
                points: list) -> tuple[dict, dict, list[str]]:
    """Closed-loop intake per gunicorn configuration, a GET /healthz ceiling, then pgbench."""
    from django.db import connections

    errors: list[str] = []
    runs = []
    for n, config in enumerate(configs):
        prefix = f"i{n}"
        log(f"intake: gunicorn {config['name']} ({args.wsgi}), {args.connections} connections, {args.duration} s")
        samples: list = []
        stop = threading.Event()
        with Gunicorn(config, env, work, args.wsgi) as server:
            quiet = wait_for_quiet(args.wait_quiet)
            sampler = threading.Thread(target=lock_sampler, args=(db, stop, samples), daemon=True)
            sampler.start()
            run = run_loadgen({
                "mode": "closed", "host": "127.0.0.1", "port": server.port, "tokens": tokens, "points": points,
                "category": INTAKE_CATEGORY, "connections": args.connections, "duration": args.duration,
                "warmup": args.warmup, "prefix": prefix, "gunicorn_pid": server.proc.pid, "seed": n + 1,
            })
            stop.set()
            sampler.join()
            rows, distinct = count_keys(prefix + "-")
            retry = check_retries(server.port, tokens, run.pop("created_keys_sample"), points)
            failed = any(s.startswith("5") or s == "-1" for s in run["statuses"])
            server_errors = server.error_log_tail() if failed else ""
        rows_after_retry, _ = count_keys(prefix + "-")
        run.update({"config": config, "connections": args.connections, "rows": rows, "before": quiet,
                    "distinct_numbers_rows": distinct,
                    "rows_match_201": rows == run["created_201_total"] == distinct == run["distinct_numbers_201"],
                    "retry": retry, "rows_after_retry": rows_after_retry, "db_waits": summarize_waits(samples)})
        if server_errors:
            run["server_error_log"] = server_errors
        log(f"  {run['per_s']:.0f} reports/s, p50 {run['latency'].get('p50_ms')} ms, p99 {run['latency'].get('p99_ms')}"
            f" ms, {run['statuses']}, {rows} rows, cpu {run['cpu']}, lock waits "
            f"{run['db_waits']['lock_wait_share_of_active']:.0%} of active backends")
        if not run["rows_match_201"]:
            errors.append(f"intake {config['name']}: {run['created_201_total']} answers 201 "
                          f"({run['distinct_numbers_201']} distinct numbers) but {rows} rows ({distinct} numbers)")
        if (rows_after_retry != rows or retry["statuses"].get("200", 0) != retry["sent"]
                or retry["same_case"] != retry["sent"]):
            errors.append(f"intake {config['name']}: retried keys did not all return their first case: {retry}")
        bad = {s: c for s, c in run["statuses"].items() if s != "201"}
        if bad:
            errors.append(f"intake {config['name']}: answers other than 201: {bad} {run['first_errors']}")
        runs.append(run)
    best = max(runs, key=lambda r: r["per_s"])

    # The ceiling of the stack itself: gunicorn + Django + one SELECT 1, same configuration and load.
    log(f"ceiling: GET /healthz on gunicorn {best['config']['name']}, {min(args.duration, 10)} s")
    with Gunicorn(best["config"], env, work, args.wsgi) as server:
        wait_for_quiet(args.wait_quiet)
        ceiling = run_loadgen({"mode": "closed", "kind": "healthz", "host": "127.0.0.1", "port": server.port,
                               "tokens": tokens, "points": points, "connections": args.connections,
                               "duration": min(args.duration, 10), "warmup": 1.0, "prefix": "h",
                               "gunicorn_pid": server.proc.pid})
    ceiling.pop("created_keys_sample", None)
    log(f"  {ceiling['per_s']:.0f} requests/s, cpu {ceiling['cpu']}")
    connections.close_all()

    log(f"pgbench: single-row INSERTs, 8 clients, 2 threads, {args.duration} s")
    quiet = wait_for_quiet(args.wait_quiet)
    pgb = run_pgbench(db_url, args.duration, work)
    pgb["before"] = quiet
    log(f"  {pgb.get('tps')} tps, cpu {pgb.get('cpu')}")
    intake = {"runs": runs, "best": best["config"]["name"], "per_s": best["per_s"], "wsgi": args.wsgi,
              "target_per_s": TARGET_INTAKE_PER_S, "target_met": best["per_s"] >= TARGET_INTAKE_PER_S,
              "healthz_ceiling": ceiling}
    if pgb.get("tps"):
        ratio = best["per_s"] / pgb["tps"]
        intake.update({"ratio_to_pgbench": round(ratio, 4), "target_ratio": TARGET_RATIO,
                       "ratio_met": ratio >= TARGET_RATIO})
    return intake, pgb, errors


def part_dispatch(args, config: dict, env: dict, work: Path, tokens: list[str], points: list) -> tuple[dict, list[str]]:
    """Open loop at ``--rate`` reports/s from grid workers; every answer must say "dispatched"."""
    from gongzhi.cases.models import CaseEvent

    errors: list[str] = []
    log(f"auto-dispatch: {args.rate:g} reports/s for {args.rate_duration} s on gunicorn {config['name']}")
    base = {"mode": "open", "host": "127.0.0.1", "tokens": tokens, "points": points, "category": INTAKE_CATEGORY,
            "rate": args.rate}
    with Gunicorn(config, env, work, args.wsgi) as server:
        base.update({"port": server.port, "gunicorn_pid": server.proc.pid})
        warm = run_loadgen({**base, "duration": 2, "prefix": "dw"})
        quiet = wait_for_quiet(args.wait_quiet)
        dispatch = run_loadgen({**base, "duration": args.rate_duration, "prefix": "d"})
        reference = None
        if args.reference_rate:
            # The same reports at a rate far below capacity: what one auto-dispatch costs with no queue.
            wait_for_quiet(args.wait_quiet)
            reference = run_loadgen({**base, "rate": args.reference_rate, "duration": args.rate_duration,
                                     "prefix": "r"})
    rows, distinct = count_keys("d-")
    events = CaseEvent.objects.filter(case__idempotency_key__startswith="d-", action="dispatch").count()
    p99 = dispatch["latency_from_schedule"].get("p99_ms", float("inf"))
    dispatch.update({"config": config["name"], "warmup_sent": warm["sent"], "before": quiet, "rows": rows,
                     "dispatch_events": events, "target_p99_ms": TARGET_DISPATCH_P99_MS, "target_met": p99 < TARGET_DISPATCH_P99_MS,
                     "routed_to": ROUTED_TO})
    log(f"  p50 {dispatch['latency_from_schedule'].get('p50_ms')} ms, p99 {p99} ms, {dispatch['case_statuses']}, "
        f"cpu {dispatch['cpu']}")
    if reference is not None:
        rrows, _ = count_keys("r-")
        dispatch["reference"] = {k: reference[k] for k in ("rate_per_s", "duration_s", "sent", "http_statuses",
                                                            "case_statuses", "latency_from_schedule", "cpu")}
        log(f"  at {args.reference_rate:g}/s: p50 {reference['latency_from_schedule'].get('p50_ms')} ms, "
            f"p99 {reference['latency_from_schedule'].get('p99_ms')} ms, {reference['case_statuses']}")
        if reference["case_statuses"].get("dispatched", 0) != reference["sent"] or rrows != reference["sent"]:
            errors.append(f"auto-dispatch at {args.reference_rate:g}/s: {reference['case_statuses']}, {rrows} rows")
    if dispatch["case_statuses"].get("dispatched", 0) != dispatch["sent"]:
        errors.append(f"auto-dispatch: not every report was dispatched: {dispatch['case_statuses']} "
                      f"{dispatch['http_statuses']}")
    if not (rows == distinct == dispatch["created_201_total"] == dispatch["sent"] == events):
        errors.append(f"auto-dispatch: {dispatch['sent']} sent, {dispatch['created_201_total']} answered 201, "
                      f"{rows} rows, {events} dispatch events")
    return dispatch, errors


def part_queue(args, config: dict, env: dict, work: Path, readers: dict) -> tuple[dict, list[str]]:
    """1,000,000 cases, then the queue through gunicorn (API and, if it answers, the page)."""
    from django.db import connection, connections
    from django.db.models import Count

    from gongzhi.cases.models import Case

    errors: list[str] = []
    intake_rows = Case.objects.count()
    with connection.cursor() as cursor:  # CASCADE: events, photos, notifications … of those cases
        cursor.execute("TRUNCATE cases_case, cases_casesequence RESTART IDENTITY CASCADE")
    log(f"queue: {intake_rows:,} intake cases removed; writing {args.cases:,} cases with COPY")
    data = populate_cases(args.cases)
    log(f"  written in {data['load_s']} s; VACUUM ANALYZE")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("SELECT pg_total_relation_size('cases_case'), pg_relation_size('cases_case')")
        total_size, heap_size = cursor.fetchone()
    data.update({"vacuum_analyze_s": round(time.perf_counter() - t0, 1), "intake_rows_removed": intake_rows,
                 "table_mib": round(heap_size / 2**20), "table_with_indexes_mib": round(total_size / 2**20),
                 "indexes": case_indexes()})
    top = Case.objects.values("category_id").annotate(n=Count("id")).order_by("-n").first()
    filters = queue_filters(top["category_id"])
    connections.close_all()

    rows: list[dict] = []
    html_status: dict[str, int] = {}
    with Gunicorn(config, env, work, args.wsgi) as server:
        data["before_timing"] = wait_for_quiet(args.wait_quiet)
        for username, reader in readers.items():
            api_headers = {"Authorization": f"Bearer {reader['token']}", "Accept": "application/json"}
            web_headers = {"Cookie": f"sessionid={reader['session']}"}
            for name, api_params, page_params in filters:
                for kind, path, headers in (("api", f"/api/v1/cases?{urlencode(api_params)}", api_headers),
                                            ("html", f"/cases/?{urlencode(page_params)}", web_headers)):
                    if kind == "html":
                        status, _body = http_get(server.port, path, headers)
                        html_status[f"{username} {path}"] = status
                        if status != 200:
                            continue
                    times, status, body = time_requests(server.port, path, headers, args.runs)
                    row = {"user": username, "filter": name, "kind": kind, "path": path, "status": status,
                           **latency_summary(times)}
                    if kind == "api" and status == 200:
                        row["count"] = json.loads(body).get("count")
                    if kind == "html" and status == 200:
                        row["rows_on_page"] = body.count(b'name="cases"')
                    if status != 200:
                        errors.append(f"queue {kind} {username} {path}: HTTP {status}")
                    rows.append(row)
                    log(f"  {username:15} {kind:4} {name:34} p50 {row.get('p50_ms')} ms, p95 {row.get('p95_ms')} ms"
                        f" (count {row.get('count', row.get('rows_on_page', '-'))})")

    # Each request's SQL, captured in-process, every query on cases_case EXPLAIN ANALYZEd.
    total_rows = data["cases"]
    html_ok = {k for k, v in html_status.items() if v == 200}
    slowest = None
    queries = []
    for username, reader in readers.items():
        for name, api_params, page_params in filters:
            targets = [("api", f"/api/v1/cases?{urlencode(api_params)}", {"Authorization": f"Bearer {reader['token']}"})]
            page_path = f"/cases/?{urlencode(page_params)}"
            if f"{username} {page_path}" in html_ok:
                targets.append(("html", page_path, {"Cookie": f"sessionid={reader['session']}"}))
            for kind, path, headers in targets:
                for q in capture_sql(path, headers):
                    sql = q["sql"].lstrip()
                    if "cases_case" not in sql or not sql.upper().startswith("SELECT"):
                        continue
                    plan, ms = explain(sql)
                    removed = max((int(x) for x in re.findall(r"Rows Removed by Filter: (\d+)", plan)), default=0)
                    loops = re.findall(r"on cases_case .*?loops=(\d+)\)", plan)
                    removed *= int(loops[0]) if loops else 1  # per loop: parallel workers share the table
                    entry = {"user": username, "filter": name, "kind": kind, "exec_ms": ms,
                             "query": "count" if sql.upper().startswith("SELECT COUNT(*)") else "rows",
                             "seq_scan": "Seq Scan on cases_case" in plan, "rows_removed_by_filter": removed,
                             "full_scan": "Seq Scan on cases_case" in plan or removed >= total_rows // 10}
                    queries.append(entry)
                    if slowest is None or ms > slowest["exec_ms"]:
                        slowest = {**entry, "sql": sql, "plan": plan}
    api_rows = [r for r in rows if r["kind"] == "api" and "p95_ms" in r]
    html_rows = [r for r in rows if r["kind"] == "html" and "p95_ms" in r]
    worst_api = max(api_rows, key=lambda r: r["p95_ms"]) if api_rows else None
    queue = {
        "data": data, "config": config["name"], "runs": args.runs, "results": rows,
        "html_measured": bool(html_rows), "html_status": html_status, "target_p95_ms": TARGET_QUEUE_P95_MS,
        "worst_api": worst_api, "target_met_api": bool(worst_api) and worst_api["p95_ms"] < TARGET_QUEUE_P95_MS,
        "api_met": sum(1 for r in api_rows if r["p95_ms"] < TARGET_QUEUE_P95_MS), "api_measured": len(api_rows),
        "queries": queries, "slowest_query": slowest,
        "seq_scans": sorted({f"{q['user']} · {q['filter']} · {q['kind']} {q['query']}" for q in queries
                             if q["seq_scan"]}),
        "full_scans": sorted({f"{q['user']} · {q['filter']} · {q['kind']} {q['query']}" for q in queries
                              if q["full_scan"]}),
    }
    if html_rows:
        worst_html = max(html_rows, key=lambda r: r["p95_ms"])
        queue.update({"worst_html": worst_html, "target_met_html": worst_html["p95_ms"] < TARGET_QUEUE_P95_MS,
                      "html_met": sum(1 for r in html_rows if r["p95_ms"] < TARGET_QUEUE_P95_MS),
                      "html_measured_count": len(html_rows)})
    if slowest:
        log(f"  slowest query: {slowest['exec_ms']} ms ({slowest['user']}, {slowest['filter']}, {slowest['kind']})")
    return queue, errors


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="gongzhi_bench_cases", help="database created and dropped by this run")
    parser.add_argument("--configs", default="sync:4,sync:8,gthread:4x4",
                        help="gunicorn configurations for the intake run, e.g. sync:4,gthread:2x8")
    parser.add_argument("--wsgi", default="gongzhi.wsgi:application",
                        help="the WSGI app gunicorn serves (to measure a proposed change without making it)")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop client connections (intake)")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per intake run and for pgbench")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=100.0, help="reports per second (auto-dispatch latency)")
    parser.add_argument("--rate-duration", type=int, default=20)
    parser.add_argument("--reference-rate", type=float, default=10.0,
                        help="also send auto-dispatched reports at this low rate, as long (0: don't)")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="requests per queue measurement")
    parser.add_argument("--worker-accounts", type=int, default=16, help="grid-worker accounts sending reports")
    parser.add_argument("--wait-quiet", type=float, default=30,
                        help="before each measurement, wait up to this many seconds for the shared machine to be idle")
    parser.add_argument("--skip", default="", help="parts to leave out: intake,dispatch,queue")
    parser.add_argument("--quick", action="store_true", help="short runs and 100,000 cases (a smoke test)")
    parser.add_argument("--keep", action="store_true", help="don't drop the bench database at the end")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rate_duration = 5, 1.0, 5
        args.cases, args.runs = min(args.cases, 100_000), min(args.runs, 10)
        args.wait_quiet = min(args.wait_quiet, 5)
        args.configs = args.configs.split(",")[0]
    configs = [parse_config(c) for c in args.configs.split(",") if c.strip()]
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_name) or not args.db_name.startswith("gongzhi_bench"):
        parser.error("--db-name must start with gongzhi_bench and be a plain lower-case identifier")

    import psycopg

    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not admin_url.startswith(("postgres://", "postgresql://")):
        log(f"DATABASE_URL is not PostgreSQL ({admin_url.split(':')[0]}); using {DEFAULT_URL} to connect")
        admin_url = DEFAULT_URL
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        log(f"PostgreSQL is not reachable at {admin_url}: {exc}")
        print(json.dumps({"benchmark": "cases", "ok": False, "skipped": True, "errors": [str(exc).strip()]}))
        return 2
    db = args.db_name
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db}"')
        server_version = admin.execute("SHOW server_version").fetchone()[0]
        pg_settings = dict(admin.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN ('shared_buffers', "
            "'synchronous_commit', 'fsync', 'max_connections', 'work_mem', 'wal_level', 'commit_delay')").fetchall())
    log(f"created database {db}")
    db_url = with_database(admin_url, db)
    work = Path(tempfile.mkdtemp(prefix="gongzhi-bench-cases-"))
    # The same settings here and in gunicorn (the SECRET_KEY signs the sessions made here).
    os.environ.update({"DATABASE_URL": db_url, "SECRET_KEY": "bench-cases-" + "k" * 50,
                       "DATABASE_CONN_MAX_AGE": "60", "STATIC_ROOT": str(work / "static")})
    os.environ.pop("DEBUG", None)
    server_env = dict(os.environ)
    server_env.update({"GONGZHI_INSECURE_DEV": "1", "ALLOWED_HOSTS": "127.0.0.1",
                       "DJANGO_SETTINGS_MODULE": "gongzhi.settings", "PYTHONDONTWRITEBYTECODE": "1"})

    errors: list[str] = []
    result: dict = {"server_version": server_version, "database": db, "postgres_settings": pg_settings,
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "git": git_state()}
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from gongzhi.core.demo import build_demo_city

        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        migrate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_demo_city()
        directory = load_directory()
        people = make_people(args.worker_accounts)
        points, landed = grid_points(600)
        setup_s = time.perf_counter() - t0
        log(f"migrated in {migrate_s:.1f} s; demo city, directory, {args.worker_accounts} grid workers in "
            f"{setup_s:.1f} s; collecting static files for gunicorn")
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO,
                       env=server_env, check=True, stdout=subprocess.DEVNULL)
        connections.close_all()
        result["setup"] = {"migrate_s": round(migrate_s, 1), "setup_s": round(setup_s, 1), **directory,
                           "grid_worker_accounts": args.worker_accounts, "points": len(points),
                           "points_landed": landed}
        tokens = people["write_tokens"]
        best = configs[0]
        if "intake" not in skip:
            result["intake"], result["pgbench"], errs = part_intake(args, configs, server_env, work, db, db_url,
                                                                     tokens, points)
            errors += errs
            best = next(c for c in configs if c["name"] == result["intake"]["best"])
        if "dispatch" not in skip:
            result["dispatch"], errs = part_dispatch(args, best, server_env, work, tokens, points)
            errors += errs
        if "queue" not in skip:
            result["queue"], errs = part_queue(args, best, server_env, work, people["readers"])
            errors += errs
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            log(f"dropped database {db}")
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"benchmark": "cases", "ok": not errors, "errors": errors, **result}, indent=2,
                     ensure_ascii=False, default=str))
    return 0 if not errors else 1


def git_state() -> dict:
    """The commit measured, and whether the working tree had changes (other work in progress)."""
    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    status = git("status", "--porcelain", "--", "gongzhi")
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_files_under_gongzhi": len(status.splitlines())}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_loadgen":
        sys.exit(loadgen_main())
    sys.exit(main())
