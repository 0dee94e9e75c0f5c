"""Benchmark: list a street's subtree of 10,000 grids from PostgreSQL (the materialised path).

Builds a city in a database of its own (``gongzhi_bench`` by default, created and dropped here:
the database named in DATABASE_URL is only used to connect and is never written to):

    city → 4 districts → 20 streets → 20 communities each (400) → 500 grids each (200,000)

≈ 200,000 areas, so the street being listed holds 5 % of the table and the index on ``path`` has to
do the work. Rows are written with ``Area.objects.bulk_create`` and their ``path`` / ``depth`` set
with one SQL UPDATE per level (``/<city id>/<district id>/…/<own id>/``, depth = number of
ancestors), then ``VACUUM ANALYZE``.

Measured (median and p95 over ``--runs`` runs, after warm-up):

- ``under``: ``list(Area.objects.under(street).values("id", "name", "code", "level_id",
  "parent_id", "depth"))`` — 10,021 rows (the street, its communities and grids); the same SQL
  through a bare cursor, to split database time from ORM time; the first page of 50 (``[:50]``)
  of that street and of the street whose path sorts last;
- ``visible_to``: the same rows through the read door, ``Area.objects.visible_to(user)``, for a
  user holding a role (派遣员) in that street, with a fresh user object each run so that working
  out the jurisdiction is part of the time; and for a user with a second role in a community of
  another street (two subtrees);
- ``EXPLAIN (ANALYZE, BUFFERS)`` of the subtree query, and which index it used.

Target: < 50 ms for the subtree listing. Prints one JSON object on stdout; exits 1 if a query
returns the wrong rows (never because it is slow), 2 if PostgreSQL can't be reached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/subtree.py
    … --icu-locale zh-Hans-CN   # create the bench database with a Chinese ICU collation
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchcommon import check_db_name, connect_admin, create_database, drop_database, log  # noqa: E402

TARGET_MS = 50.0
FIELDS = ("id", "name", "code", "level_id", "parent_id", "depth")
DISTRICTS, STREETS_PER_DISTRICT, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY = 4, 5, 20, 500
TARGET_STREET = 7  # the street listed (0-based, in creation order)


def summary(times_s: list[float]) -> dict:
    ms = sorted(t * 1000 for t in times_s)
    p95 = ms[max(0, math.ceil(0.95 * len(ms)) - 1)]
    return {"runs": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2),
            "min_ms": round(ms[0], 2), "max_ms": round(ms[-1], 2)}


def timed(fn, runs: int, warmup: int = 3, setup=None) -> tuple[list[float], object]:
    result = None
    for _ in range(warmup):
        result = fn(setup() if setup else None)
    times = []
    for _ in range(runs):
        arg = setup() if setup else None
        start = time.perf_counter()
        result = fn(arg)
        times.append(time.perf_counter() - start)
    return times, result


def square(lon: float, lat: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def populate(batch_size: int) -> dict:
    """Write the city; returns ids of interest and counts."""
    from django.db import connection

    from gongzhi.areas.models import Area, AreaLevel

    levels = {level.slug: level for level in AreaLevel.objects.all()}
    table = connection.ops.quote_name(Area._meta.db_table)

    (city,) = Area.objects.bulk_create([Area(level=levels["city"], name="基准市", code="150300")])
    districts = Area.objects.bulk_create([
        Area(level=levels["district"], parent=city, name=f"第{d + 1}区", code=f"1503{d + 1:02d}")
        for d in range(DISTRICTS)
    ])
    streets = Area.objects.bulk_create([
        Area(level=levels["street"], parent=district, name=f"第{s + 1}街道", code=f"{district.code}{s + 1:03d}")
        for district in districts for s in range(STREETS_PER_DISTRICT)
    ])
    communities = Area.objects.bulk_create([
        Area(level=levels["community"], parent=street, name=f"第{c + 1}社区", code=f"{street.code}{c + 1:03d}")
        for street in streets for c in range(COMMUNITIES_PER_STREET)
    ], batch_size=batch_size)
    log(f"  {1 + len(districts) + len(streets) + len(communities)} upper areas written")
    size = 0.0012
    grids = 0
    for n, community in enumerate(communities):
        lon0, lat0 = 106.7 + (n % 20) * 0.03, 39.4 + (n // 20) * 0.03
        Area.objects.bulk_create([
            Area(level=levels["grid"], parent=community, name=f"第{g + 1}网格", code=f"{community.code}{g + 1:03d}",
                 geometry=square(lon0 + (g % 25) * size, lat0 + (g // 25) * size, size))
            for g in range(GRIDS_PER_COMMUNITY)
        ], batch_size=batch_size)
        grids += GRIDS_PER_COMMUNITY
        if (n + 1) % 100 == 0:
            log(f"  {grids:,} grids written")

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET path = '/' || id || '/', depth = 0 WHERE parent_id IS NULL")
        for slug in ("district", "street", "community", "grid"):
            cursor.execute(
                f"UPDATE {table} AS c SET path = p.path || c.id || '/', depth = p.depth + 1 "
                f"FROM {table} AS p WHERE c.parent_id = p.id AND c.level_id = %s",
                [levels[slug].pk],
            )
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE path = '') FROM {table}")
        total, without_path = cursor.fetchone()
    if without_path:
        raise RuntimeError(f"{without_path} areas were left without a path")
    street = streets[TARGET_STREET]
    other_community = communities[(TARGET_STREET + 1) * COMMUNITIES_PER_STREET]  # first of the next street
    return {"total": total, "street_id": street.pk, "other_community_id": other_community.pk,
            "expected_subtree": 1 + COMMUNITIES_PER_STREET + COMMUNITIES_PER_STREET * GRIDS_PER_COMMUNITY}


def path_indexes() -> list[dict]:
    from django.db import connection

    from gongzhi.areas.models import Area

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef, pg_relation_size(quote_ident(indexname)::regclass) FROM pg_indexes "
            "WHERE tablename = %s AND indexdef LIKE '%%(path%%' ORDER BY indexname",
            [Area._meta.db_table],
        )
        return [{"name": n, "definition": d, "size_mib": round(s / 2**20, 1)} for n, d, s in cursor.fetchall()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="gongzhi_bench", help="database created and dropped by this run")
    parser.add_argument("--icu-locale", default="",
                        help="create the database with this ICU collation (e.g. zh-Hans-CN); default: the server's")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="don't drop the bench database at the end")
    args = parser.parse_args(argv)
    check_db_name(parser, args.db_name)
    if args.icu_locale and not re.fullmatch(r"[A-Za-z0-9-]+", args.icu_locale):
        parser.error("--icu-locale looks wrong")

    admin, admin_url = connect_admin("subtree")
    if admin is None:
        return 2
    db = args.db_name
    options = ""
    if args.icu_locale:
        options = f"TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{args.icu_locale}' LOCALE 'C.UTF-8'"
    server_version = create_database(admin, admin_url, db, options)

    errors: list[str] = []
    result: dict = {}
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from gongzhi.areas.models import Area
        from gongzhi.orgs.models import Membership, Role, User

        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        migrate_s = time.perf_counter() - t0
        log(f"migrated in {migrate_s:.1f} s; writing areas")
        t0 = time.perf_counter()
        data = populate(args.batch_size)
        populate_s = time.perf_counter() - t0
        log(f"wrote {data['total']:,} areas in {populate_s:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate, datlocprovider, daticulocale FROM pg_database WHERE datname = %s", [db])
            collate, provider, icu = cursor.fetchone()
        collation = f"icu {icu}" if provider == "i" else collate

        street = Area.objects.get(pk=data["street_id"])
        expected = data["expected_subtree"]

        def check(name: str, rows, n: int) -> None:
            if len(rows) != n:
                errors.append(f"{name}: {len(rows)} rows, expected {n}")

        # under(street)
        under_times, rows = timed(lambda _: list(Area.objects.under(street).values(*FIELDS)), args.runs)
        check("under", rows, expected)
        # The truth, without the path prefix query: walk parent links down from the street.
        children: dict[int, list[int]] = {}
        for pk, parent_id in Area.objects.values_list("id", "parent_id").order_by():
            children.setdefault(parent_id, []).append(pk)
        truth_ids, todo = set(), [street.pk]
        while todo:
            pk = todo.pop()
            truth_ids.add(pk)
            todo.extend(children.get(pk, ()))
        ids_under = {r["id"] for r in rows}
        if ids_under != truth_ids:
            errors.append(f"under: {len(ids_under ^ truth_ids)} rows differ from a full-table scan")

        sql, params = Area.objects.under(street).values(*FIELDS).query.sql_with_params()

        def raw(_):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        raw_times, raw_rows = timed(raw, args.runs)
        check("raw SQL", raw_rows, expected)
        page_times, page = timed(lambda _: list(Area.objects.under(street).values(*FIELDS)[:50]), args.runs)
        check("first page", page, 50)
        # The street whose path sorts last: an ORDER BY path … LIMIT plan that walks the path index
        # from the start (filtering, not seeking) gets slower the further along the street lies.
        last = Area.objects.filter(level__slug="street").order_by("-path").first()
        last_page_times, last_page = timed(lambda _: list(Area.objects.under(last).values(*FIELDS)[:50]), args.runs)
        check("first page, last street", last_page, 50)
        explain_last_page = Area.objects.under(last).values(*FIELDS)[:50].explain(analyze=True)
        explain = Area.objects.under(street).values(*FIELDS).explain(analyze=True, buffers=True)
        indexes = path_indexes()
        used = sorted({i["name"] for i in indexes if re.search(rf"\b{re.escape(i['name'])}\b", explain)})

        # visible_to(user): one role in the street; then a second role in a community elsewhere.
        role = Role.objects.get(code="dispatcher")
        user = User.objects.create(username="bench-dispatcher", display_name="基准派遣员")
        Membership.objects.create(user=user, area=street, role=role)
        fresh_user = lambda: User.objects.get(pk=user.pk)  # noqa: E731 — jurisdiction is cached per user object
        visible_times, visible = timed(lambda u: list(Area.objects.visible_to(u).values(*FIELDS)), args.runs,
                                       setup=fresh_user)
        check("visible_to", visible, expected)
        if {r["id"] for r in visible} != truth_ids:
            errors.append("visible_to: not the street's subtree")
        user2 = User.objects.create(username="bench-two-roles", display_name="基准双角色")
        Membership.objects.create(user=user2, area=street, role=role)
        Membership.objects.create(user=user2, area_id=data["other_community_id"], role=role)
        fresh_user2 = lambda: User.objects.get(pk=user2.pk)  # noqa: E731
        visible2_times, visible2 = timed(lambda u: list(Area.objects.visible_to(u).values(*FIELDS)), args.runs,
                                         setup=fresh_user2)
        check("visible_to (two roles)", visible2, expected + 1 + GRIDS_PER_COMMUNITY)
        explain_visible2 = Area.objects.visible_to(fresh_user2()).values(*FIELDS).explain(analyze=True)

        under_summary = summary(under_times)
        result = {
            "server_version": server_version,
            "database": db,
            "collation": collation,
            "areas": data["total"],
            "subtree_rows": expected,
            "migrate_s": round(migrate_s, 1),
            "populate_s": round(populate_s, 1),
            "under": {**under_summary, "target_ms": TARGET_MS, "target_met": under_summary["p95_ms"] < TARGET_MS},
            "under_raw_sql": summary(raw_times),
            "under_first_page_50": summary(page_times),
            "under_first_page_50_last_street": summary(last_page_times),
            "visible_to": summary(visible_times),
            "visible_to_two_roles": summary(visible2_times),
            "path_indexes": indexes,
            "index_used": used,
            "explain": explain,
            "explain_visible_to_two_roles": explain_visible2,
            "explain_first_page_last_street": explain_last_page,
            "sql": sql % tuple(f"'{p}'" for p in params),
        }
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        drop_database(admin_url, db, keep=args.keep)
    print(json.dumps({"benchmark": "subtree", "ok": not errors, "errors": errors, **result}, indent=2,
                     ensure_ascii=False))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
