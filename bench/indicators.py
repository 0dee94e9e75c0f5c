"""Benchmark: the monthly street ranking (考核排名) over 10,000,000 cases on PostgreSQL.

Builds everything in a database of its own (``gongzhi_bench_indicators`` by default, created and
dropped here: the database named in DATABASE_URL is only used to connect and is never written to):
``migrate``, the demo city (``gongzhi.core.demo.build_demo_city``: 3 streets, 22 grids, 15
departments), the GB/T 47678.5 directory's 250 matters, then ``--cases`` cases written with COPY by
``bench/cases_data.populate_cases`` (the closed-loop bench's generator: a year of reports, statuses by
age, a Zipf-like category mix, five sources, departments, ratings). On top of them, with SQL:
the sweeper's ``overdue`` timeline rows for 6 % of the cases (half of them at the department, a
quarter each while waiting for dispatch and for verification), an approved extension after a fifth
of those marks, and answered return visits (回访) for 10 % of the closed cases. ``VACUUM ANALYZE``.

Then:

1. **recount**: ``services.recount_month`` for every month with cases (or the last
   ``--recount-months``; the worker's job does the recent three), timed per month; fact rows written.
2. **check**: for the ranked month, every count summed over the fact table equals one aggregate of
   the raw cases (``counting.count_cases`` over the month's cohort); and the street figures read
   from the roll-up equal a live count of each street's subtree.
3. **ranking**: ``queries.monthly_ranking(month, "street")`` — the ranked month is the last complete
   one; p50/p95 over ``--runs`` calls after warm-up, each call from scratch (scheme read, both
   months' roll-up rows, scores, ranks). Also the community and grid rankings, the department
   ranking, ``indicators(street, month)``, and the page ``/evaluation/ranking/`` (Django test client,
   as ``center``, the demo city's dispatcher). Target: street ranking p95 < 1 s.
4. **without pre-aggregation** (once): the same street figures counted live from the cases, to show
   what the fact tables save.

Prints one JSON object on stdout; exits 1 if a check fails (never because something is slow), 2 if
PostgreSQL can't be reached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/indicators.py
    … --cases 200000 --runs 20     # a quick run
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchcommon import (  # noqa: E402
    check_db_name,
    connect_admin,
    create_database,
    drop_database,
    git_commit,
    latency_summary,
    log,
)

TARGET_P95_MS = 1000.0


def add_history() -> dict:
    """Overdue marks, approved extensions after some of them, answered return visits (SQL)."""
    from django.db import connection

    with connection.cursor() as c:
        t0 = time.perf_counter()
        c.execute("""
            INSERT INTO cases_caseevent (case_id, at, actor_name, action, from_status, to_status, note, data, notified_at)
            SELECT id, coalesce(dispatched_at, filed_at, created_at) + interval '30 hours', '系统', 'overdue', s, s, '',
                   '{}'::jsonb, now()
            FROM (SELECT id, dispatched_at, filed_at, created_at,
                         CASE WHEN id % 4 = 0 THEN 'filed' WHEN id % 4 = 1 THEN 'handled' ELSE 'in_progress' END AS s
                  FROM cases_case WHERE filed_at IS NOT NULL AND id % 17 = 3) t""")
        marks = c.rowcount
        c.execute("""
            INSERT INTO cases_caseevent (case_id, at, actor_name, action, from_status, to_status, note, data, notified_at)
            SELECT case_id, at + interval '1 hour', '系统', 'decide_extension', from_status, from_status, '',
                   '{"approved": true}'::jsonb, now()
            FROM cases_caseevent WHERE action = 'overdue' AND case_id % 5 = 0""")
        extensions = c.rowcount
        c.execute("""
            INSERT INTO evaluation_returnvisit (case_id, month, stratum, status, channel, token, resolved, satisfaction,
                                                comment, attempts, created_at, answered_at)
            SELECT id, date_trunc('month', closed_at AT TIME ZONE 'Asia/Shanghai')::date, '', 'answered', 'phone',
                   'bench-' || id, (id % 10) <> 0,
                   CASE WHEN id % 7 = 0 THEN 'unsatisfied' WHEN id % 3 = 0 THEN 'basic' ELSE 'satisfied' END,
                   '', 1, closed_at, closed_at + interval '2 days'
            FROM cases_case WHERE status = 'closed' AND id % 10 = 7""")
        visits = c.rowcount
        c.execute("VACUUM ANALYZE cases_case")
        c.execute("VACUUM ANALYZE cases_caseevent")
        c.execute("VACUUM ANALYZE evaluation_returnvisit")
        c.execute("SELECT pg_total_relation_size('cases_case'), pg_total_relation_size('cases_caseevent')")
        case_bytes, event_bytes = c.fetchone()
    return {"overdue_marks": marks, "approved_extensions": extensions, "answered_visits": visits,
            "seconds": round(time.perf_counter() - t0, 1), "cases_table_with_indexes_mib": case_bytes // 2**20,
            "events_table_with_indexes_mib": event_bytes // 2**20}


def timed(fn, runs: int, warmup: int = 2) -> tuple[dict, object]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return latency_summary(times), result


def check_month(month: datetime.date) -> list[str]:
    """The facts of ``month`` against the raw cases: every count, city-wide and per street."""
    from django.db.models import Sum

    from gongzhi.areas.models import Area
    from gongzhi.evaluation import counting
    from gongzhi.evaluation.definitions import COUNTS
    from gongzhi.evaluation.models import AreaMonth, MonthlyFact

    errors = []
    end = counting.next_month(month) - datetime.timedelta(days=1)
    raw = counting.count_cases(counting.cohort(month, end))[0]
    facts = MonthlyFact.objects.filter(month=month).aggregate(**{n: Sum(n) for n in COUNTS})
    for n in COUNTS:
        if int(facts[n] or 0) != raw[n]:
            errors.append(f"{month:%Y-%m} {n}: facts {facts[n]} != cases {raw[n]}")
    for street in Area.objects.filter(level__slug="street"):
        live = counting.count_cases(counting.cohort(month, end).filter(area_path__startswith=street.path))
        live = live[0] if live else dict.fromkeys(COUNTS, 0)
        rolled = AreaMonth.objects.filter(month=month, area=street).aggregate(**{n: Sum(n) for n in COUNTS})
        for n in COUNTS:
            if int(rolled[n] or 0) != live[n]:
                errors.append(f"{month:%Y-%m} {street.name} {n}: roll-up {rolled[n]} != cases {live[n]}")
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="gongzhi_bench_indicators", help="database created and dropped here")
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--recount-months", type=int, default=0,
                        help="recount only the last N months (0: every month with cases)")
    parser.add_argument("--keep", action="store_true", help="don't drop the bench database at the end")
    args = parser.parse_args(argv)
    check_db_name(parser, args.db_name)

    admin, admin_url = connect_admin("indicators")
    if admin is None:
        return 2
    db = args.db_name
    server_version = create_database(admin, admin_url, db)

    errors: list[str] = []
    result: dict = {"server_version": server_version, "database": db, "git": git_commit(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        import django

        django.setup()
        from cases_data import load_directory, populate_cases
        from django.core.management import call_command
        from django.test import Client
        from django.utils import timezone

        from gongzhi.areas.models import Area
        from gongzhi.core.demo import build_demo_city
        from gongzhi.evaluation import counting, queries, services
        from gongzhi.evaluation.models import AreaMonth, MonthlyFact
        from gongzhi.orgs.models import User

        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        build_demo_city()
        load_directory()
        result["setup_s"] = round(time.perf_counter() - t0, 1)
        log(f"migrated, demo city and directory in {result['setup_s']} s; writing {args.cases:,} cases")
        result["cases"] = populate_cases(args.cases)
        log(f"cases written in {result['cases']['load_s']} s; adding history")
        result["history"] = add_history()
        log(f"history: {result['history']}")

        # 1. recount every month
        months = services.months_with_cases()
        if args.recount_months:
            months = months[-args.recount_months:]
        per_month = []
        t0 = time.perf_counter()
        for month in months:
            entry = services.recount_month(month)
            per_month.append({"month": f"{month:%Y-%m}", "cases": entry.cases, "fact_rows": entry.rows,
                              "seconds": entry.seconds})
            log(f"  recounted {month:%Y-%m}: {entry.cases:,} cases, {entry.rows:,} rows, {entry.seconds:.1f} s")
        result["recount"] = {"months": per_month, "total_s": round(time.perf_counter() - t0, 1),
                             "fact_rows": MonthlyFact.objects.count(), "rollup_rows": AreaMonth.objects.count()}

        # 2. check the ranked month (the last complete one) and the one before
        month = counting.previous_month(counting.month_start(timezone.localdate()))
        t0 = time.perf_counter()
        bad = check_month(month)
        result["check"] = {"months": [f"{month:%Y-%m}"],
                           "mismatches": bad[:20], "seconds": round(time.perf_counter() - t0, 1)}
        errors += bad[:20]
        log(f"checked: {len(bad)} mismatches")

        # 3. rankings
        street = Area.objects.get(name="凤凰岭街道")
        end = counting.next_month(month) - datetime.timedelta(days=1)
        timings = {}
        for name, fn in [
            ("street ranking", lambda: queries.monthly_ranking(month, "street")),
            ("community ranking", lambda: queries.monthly_ranking(month, "community")),
            ("grid ranking", lambda: queries.monthly_ranking(month, "grid")),
            ("department ranking", lambda: queries.department_ranking(month)),
            ("indicators(street, month)", lambda: queries.indicators(street, month, end)),
        ]:
            summary, rows = timed(fn, args.runs)
            timings[name] = summary
            log(f"  {name}: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms")
            if name == "street ranking":
                result["ranking"] = [{"street": r.name, "score": str(r.score), "rank": r.rank,
                                      "previous_rank": r.previous_rank, "change": r.change,
                                      "score_change": str(r.score_change), "cases": r.figures.cases} for r in rows]
        from django.conf import settings
        from django.test import override_settings

        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username="center"))  # the city's dispatcher (demo city)
        url = f"/evaluation/ranking/?month={month:%Y-%m}&level=street"
        # Static URLs without collectstatic's manifest (no files are served here).
        plain = {**settings.STORAGES,
                 "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        with override_settings(STORAGES=plain):
            status = client.get(url).status_code
            result["page_status"] = status
            if status == 200:
                summary, _r = timed(lambda: client.get(url), args.runs)
                timings[f"page {url} (as the city dispatcher)"] = summary
                log(f"  page: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms")
            else:
                errors.append(f"{url} answered {status}")
        result["timings"] = timings

        # 4. without pre-aggregation: the street figures counted from the cases
        t0 = time.perf_counter()
        for s in Area.objects.filter(level__slug="street"):
            counting.count_cases(counting.cohort(month, end).filter(area_path__startswith=s.path), ("source",))
        result["live_street_figures_s"] = round(time.perf_counter() - t0, 2)
        p95 = timings["street ranking"]["p95_ms"]
        result["target"] = {"street_ranking_p95_ms": p95, "target_ms": TARGET_P95_MS, "met": p95 < TARGET_P95_MS}
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        drop_database(admin_url, db, keep=args.keep)
    print(json.dumps({"benchmark": "indicators", "ok": not errors, "errors": errors, **result}, indent=2,
                     ensure_ascii=False, default=str))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
