"""bench/cases.py, part 2: set-up through Django (directory, people, points, 1,000,000 cases), pgbench, queue filters."""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from benchcommon import (  # noqa: E402
    DIRECTORY_CSV,
    INTAKE_CATEGORY,
    ROUTED_TO,
    _proc_stat,
    cpu_delta,
    cpu_snapshot,
    other_cores,
    with_database,
)
from cases_http import NUMBER_RE, _post, http_get  # noqa: E402


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
