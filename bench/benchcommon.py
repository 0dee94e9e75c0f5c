"""Shared by the benchmarks: paths, logging, percentiles, CPU accounting."""

from __future__ import annotations

import json
import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

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


def pin_to_one_cpu() -> int | None:
    """Pin this process to one CPU (single-core figures); returns it, or None where not possible."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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


def _tree(stats: dict, root: int | None) -> dict[int, float]:
    if root is None or root not in stats:
        return {}
    members = {root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _cpu) in stats.items():
            if ppid in members and pid not in members:
                members.add(pid)
                changed = True
    return {pid: stats[pid][1] for pid in members}


def cpu_snapshot(tree_root: int | None, worker_root: int | None = None) -> dict:
    """CPU seconds so far: the process tree under ``tree_root`` (gunicorn), the one under
    ``worker_root`` (``gongzhi worker``), every ``postgres`` process, and the whole machine (busy =
    all but idle and iowait, from /proc/stat)."""
    stats = {}
    for pid in _all_pids():
        st = _proc_stat(pid)
        if st is not None:
            stats[pid] = st
    tree = _tree(stats, tree_root)
    worker = _tree(stats, worker_root)
    postgres = {pid: cpu for pid, (_ppid, cpu) in stats.items() if _comm(pid) == "postgres"}
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return {"tree": tree, "worker": worker, "postgres": postgres, "busy": (sum(parts) - idle) / CLK_TCK, "total": sum(parts) / CLK_TCK,
            "at": time.monotonic()}


def cpu_delta(before: dict, after: dict) -> dict:
    def grown(a: dict, b: dict) -> float:
        return sum(cpu - a.get(pid, 0.0) for pid, cpu in b.items())

    wall = after["at"] - before["at"]
    return {"wall_s": round(wall, 2),
            "gunicorn_cores": round(grown(before["tree"], after["tree"]) / wall, 2),
            "worker_cores": round(grown(before["worker"], after["worker"]) / wall, 2),
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
    return round(max(0.0, cpu["machine_busy_cores"] - cpu["gunicorn_cores"] - cpu.get("worker_cores", 0.0)
                     - cpu["postgres_cores"] - sum(cpu.get(k, 0.0) for k in own)), 2)


def connect_admin(benchmark: str):
    """An autocommit connection to the PostgreSQL server in DATABASE_URL (to create and drop the bench
    database), or None — after printing the "skipped" JSON line — when the server can't be reached."""
    import psycopg

    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not admin_url.startswith(("postgres://", "postgresql://")):
        log(f"DATABASE_URL is not PostgreSQL ({admin_url.split(':')[0]}); using {DEFAULT_URL} to connect")
        admin_url = DEFAULT_URL
    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=5), admin_url
    except psycopg.OperationalError as exc:
        log(f"PostgreSQL is not reachable at {admin_url}: {exc}")
        print(json.dumps({"benchmark": benchmark, "ok": False, "skipped": True, "errors": [str(exc).strip()]}))
        return None, admin_url


def check_db_name(parser, name: str) -> None:
    """The scratch database's name: created and dropped by the bench, so never one of ours."""
    import re

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not name.startswith("gongzhi_bench"):
        parser.error("--db-name must start with gongzhi_bench and be a plain lower-case identifier")


def create_database(admin, admin_url: str, name: str, options: str = "") -> str:
    """Drop and create the scratch database ``name`` (``options`` appended to CREATE DATABASE), point
    DATABASE_URL at it for Django; returns the server's version."""
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"{" " + options if options else ""}')
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    log(f"created database {name}")
    os.environ["DATABASE_URL"] = with_database(admin_url, name)
    return server_version


def drop_database(admin_url: str, name: str, *, keep: bool = False) -> None:
    """Close Django's connections and drop the scratch database unless ``keep`` (the bench's ``finally``)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    if keep:
        return
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    log(f"dropped database {name}")


def git_commit() -> str:
    """The commit measured (short hash), or "" outside a git checkout."""
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
