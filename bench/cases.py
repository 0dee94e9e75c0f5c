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
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from benchcommon import (  # noqa: E402
    INTAKE_CATEGORY,
    REPO,
    ROUTED_TO,
    TARGET_DISPATCH_P99_MS,
    TARGET_INTAKE_PER_S,
    TARGET_QUEUE_P95_MS,
    TARGET_RATIO,
    check_db_name,
    connect_admin,
    create_database,
    drop_database,
    latency_summary,
    log,
    wait_for_quiet,
)
from cases_data import (  # noqa: E402
    capture_sql,
    case_indexes,
    check_retries,
    count_keys,
    explain,
    grid_points,
    load_directory,
    lock_sampler,
    make_people,
    populate_cases,
    queue_filters,
    run_pgbench,
    summarize_waits,
    time_requests,
)
from cases_http import Gunicorn, http_get, loadgen_main, parse_config, run_loadgen  # noqa: E402

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
                "warmup": args.warmup, "prefix": prefix, "gunicorn_pid": server.proc.pid, "worker_pid": server.worker_pid, "seed": n + 1,
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
                               "gunicorn_pid": server.proc.pid, "worker_pid": server.worker_pid})
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
        base.update({"port": server.port, "gunicorn_pid": server.proc.pid, "worker_pid": server.worker_pid})
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
    parser.add_argument("--configs", default="sync:2,sync:4,gthread:2x4",
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
    check_db_name(parser, args.db_name)

    admin, admin_url = connect_admin("cases")
    if admin is None:
        return 2
    db = args.db_name
    pg_settings = dict(admin.execute(
        "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN ('shared_buffers', "
        "'synchronous_commit', 'fsync', 'max_connections', 'work_mem', 'wal_level', 'commit_delay')").fetchall())
    server_version = create_database(admin, admin_url, db)
    db_url = os.environ["DATABASE_URL"]
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
        drop_database(admin_url, db, keep=args.keep)
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
