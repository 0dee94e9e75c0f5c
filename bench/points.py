"""Benchmark: volunteer-points vouchers on PostgreSQL — purchases through the balance guard and
redemptions at the counter, with parallel clients, checked for exactness afterwards.

Builds everything in a database of its own (``gongzhi_bench_points`` by default, created and dropped
here: the database named in DATABASE_URL is only used to connect and is never written to):
``migrate``, the test suite's small city (``gongzhi.conftest.build_world``), ``--residents``
residents with points from approved good deeds (each award is an entry pair and an earning batch),
one partner merchant with a cashier and an offer.

Then, each phase with ``--threads`` client threads (one database connection each), calling the
service functions directly (no HTTP):

1. **purchases**: ``services.buy_voucher`` — each thread buys for its own residents: lock the
   resident's points account, per-person limit, expire due batches, the guarded conditional UPDATE
   of the balance, oldest batch first, the voucher, the transaction and its entries, the audit row.
2. **hot account**: every thread buys for the *same* resident, whose balance affords exactly
   ``--hot-affords`` vouchers: the guard serialises them; exactly that many must succeed.
3. **redemptions**: ``services.redeem_voucher`` by typed code — the conditional
   ``UPDATE … WHERE status = 'issued'``, the escrow → merchant receivable transaction, the audit row.
4. **double scans**: each of ``--double`` vouchers scanned by two threads at the same moment:
   exactly one scan per voucher may succeed.

Checked: counts of vouchers and transactions, balances, and ``queries.invariant_violations()``
(every transaction sums to zero, cached balance = sum of entries, batches = balance). Prints one JSON
object; exits 1 on a wrong answer (never because something is slow), 2 if PostgreSQL can't be reached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/points.py
    … --residents 200 --purchases 2000 --threads 4     # the documented run
    … --quick                                          # a smoke test (seconds)
    … --write     # also rewrite the "Volunteer points" section of docs/benchmarks.md
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
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
    machine_busy,
)


def parallel(threads: int, jobs: list, fn) -> tuple[float, list[float], list]:
    """Run ``fn(job)`` for every job on ``threads`` threads started together; (wall s, latencies, outcomes)."""
    from django.db import connections

    barrier = threading.Barrier(threads)
    shares = [jobs[t::threads] for t in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    outcomes: list[list] = [[] for _ in range(threads)]

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for job in shares[t]:
                t0 = time.perf_counter()
                try:
                    outcomes[t].append(("ok", fn(job)))
                except Exception as exc:  # noqa: BLE001 - counted, and checked by the caller
                    outcomes[t].append(("error", f"{type(exc).__name__}: {exc}"))
                latencies[t].append(time.perf_counter() - t0)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    wall = time.perf_counter() - start
    return wall, [x for lat in latencies for x in lat], [o for out in outcomes for o in out]


START, END = "<!-- bench:points:start -->", "<!-- bench:points:end -->"
HEADING = "### Volunteer points (`bench/points.py`)"


def render(r: dict, command: str) -> str:
    """The docs/benchmarks.md section for one run's JSON."""
    def lat(x: dict) -> str:
        return f"p50 {x['p50_ms']:.1f} / p95 {x['p95_ms']:.1f} / p99 {x['p99_ms']:.1f} ms"

    pg = r.get("postgres_settings", {})
    lines = [f"Run on **{r.get('date', '?')}** with `{command}` (code: commit `{r.get('commit', '?')}`). "
             f"PostgreSQL {r.get('server_version', '?')} on the same machine (shared_buffers "
             f"{pg.get('shared_buffers', '?')}, synchronous_commit {pg.get('synchronous_commit', '?')}, fsync "
             f"{pg.get('fsync', '?')}); {r.get('threads', '?')} client threads in one Python process calling the services "
             f"(no HTTP), one connection each. The machine is shared: other processes kept "
             f"{r.get('busy_cores_before', '?')} of its {r.get('nproc', '?')} cores busy just before, "
             f"{r.get('busy_cores_after', '?')} just after.", ""]
    if not r.get("ok"):
        lines += ["**Errors:**", ""] + [f"- {e}" for e in r.get("errors", [])] + [""]
    if all(k in r for k in ("purchases", "hot_account", "redemptions", "double_scans", "checks")):
        p, h, d, x = r["purchases"], r["hot_account"], r["redemptions"], r["double_scans"]
        c = r["checks"]
        lines += [
            "| what | result | latency |",
            "| --- | --- | --- |",
            f"| voucher purchases through the balance guard (`buy_voucher`), {p['count']:,} by {r['residents']} "
            f"residents | **{p['per_s']:,.0f} /s** | {lat(p['latency'])} |",
            f"| one hot account: {h['attempts']} purchases against a balance for {h['affords']} | "
            f"{h['attempts_per_s']:,.0f} attempts/s; **{h['bought']} bought, {h['refused_insufficient']} refused "
            f"(积分不足), balance {h['balance_after']}** | {lat(h['latency'])} |",
            f"| voucher redemptions at the counter (`redeem_voucher` by code), {d['count']:,} | "
            f"**{d['per_s']:,.0f} /s** | {lat(d['latency'])} |",
            f"| {x['vouchers']} vouchers each scanned by two threads at the same moment | "
            f"**{x['succeeded']} of {x['scans']} scans succeeded** (one per voucher) | {lat(x['latency'])} |",
            "",
            f"Checked afterwards: {c['vouchers']:,} vouchers, {c['redeemed']:,} redeemed = {c['use_transactions']:,} "
            f"`use` transactions, the merchant's receivable {c['receivable']:,} points; {c['entries']:,} entries "
            f"summing to {c['sum_of_all_entries']}; invariant violations (every transaction balanced, cached "
            f"balance = sum of entries, batches = balance): **{c['invariant_violations']}**.",
            "",
            "Each operation is one database transaction and one commit: a purchase is 16 statements (account "
            "row lock, idempotency and limit checks, due batches, offer, batches, voucher insert in a savepoint, "
            "transaction, guarded UPDATE, entries, batch moves, audit row), a redemption 11 (the conditional "
            "UPDATE, the two merchant accounts, transaction, entries, audit row). Client threads and PostgreSQL "
            "share the machine's cores, so these rates measure the whole path on a small shared machine, not the "
            "guard alone. The hot account's refusals are cheaper than purchases (they stop at the batch check and "
            "roll back), hence its higher rate of attempts; its purchases still ran one at a time behind the "
            "account's row lock.",
        ]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    doc.write_text(text, encoding="utf-8")


def rate(count: int, wall: float) -> float:
    return round(count / wall, 1) if wall else 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="gongzhi_bench_points", help="database created and dropped here")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--purchases", type=int, default=2000, help="vouchers bought in phase 1 (and redeemed in 3)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--hot-affords", type=int, default=50, help="vouchers the hot account can pay for")
    parser.add_argument("--hot-attempts", type=int, default=400)
    parser.add_argument("--double", type=int, default=200, help="vouchers scanned twice at once")
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke test")
    parser.add_argument("--keep", action="store_true", help="don't drop the bench database at the end")
    parser.add_argument("--write", action="store_true", help="rewrite the section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    command = "bench/points.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.quick:
        args.residents, args.purchases, args.hot_affords, args.hot_attempts, args.double = 20, 200, 10, 60, 20
    check_db_name(parser, args.db_name)

    admin, admin_url = connect_admin("points")
    if admin is None:
        return 2
    db = args.db_name
    pg = {name: admin.execute(f"SHOW {name}").fetchone()[0]
          for name in ("shared_buffers", "synchronous_commit", "fsync", "max_connections")}
    server_version = create_database(admin, admin_url, db)

    errors: list[str] = []
    commit = git_commit()
    result: dict = {"server_version": server_version, "postgres_settings": pg, "threads": args.threads,
                    "residents": args.residents, "nproc": os.cpu_count(), "commit": commit,
                    "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db.models import Sum

        from gongzhi.conftest import build_world
        from gongzhi.orgs.models import User
        from gongzhi.points import queries, services
        from gongzhi.points.models import Account, Entry, GoodDeed, Transaction, Voucher

        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        log(f"migrated in {time.perf_counter() - t0:.1f} s")
        world = build_world()
        now = datetime.datetime.now(datetime.UTC)
        price = 10
        per_resident = -(-args.purchases // args.residents)
        residents = User.objects.bulk_create([User(username=f"bench-r{i}", display_name=f"居民{i}")
                                              for i in range(args.residents)])
        hot = User.objects.create(username="bench-hot", display_name="热点居民")
        cashier = User.objects.create(username="bench-cashier", display_name="收银员")
        t0 = time.perf_counter()
        for user in residents:
            for _ in range(2):  # two batches each: purchases cross batches
                deed = GoodDeed.objects.create(area=world.community_a, resident=user, reported_by=world.worker,
                                               description="bench", occurred_on=now.date())
                services.approve_good_deed(deed, actor=None, points=per_resident * price // 2 + price, now=now)
        deed = GoodDeed.objects.create(area=world.community_a, resident=hot, reported_by=world.worker,
                                       description="bench", occurred_on=now.date())
        services.approve_good_deed(deed, actor=None, points=args.hot_affords * price, now=now)
        log(f"awarded points to {args.residents + 1} residents in {time.perf_counter() - t0:.1f} s")
        merchant = services.create_merchant(actor=None, area=world.community_a, name="喜邻便利店")
        services.add_merchant_staff(merchant, actor=None, user=cashier)
        offer = services.create_offer(merchant, actor=None, title="满 50 减 10", gives="满 50 元减 10 元",
                                      price=price, valid_from=now - datetime.timedelta(hours=1))
        result["busy_cores_before"] = round(machine_busy(2.0), 2)

        # 1. purchases, each thread its own residents
        jobs = [residents[i % args.residents] for i in range(args.purchases)]
        jobs.sort(key=lambda u: u.pk)
        wall, lat, out = parallel(args.threads, jobs, lambda u: services.buy_voucher(offer, actor=u).pk)
        failed = [o[1] for o in out if o[0] == "error"]
        if failed:
            errors.append(f"purchases: {len(failed)} failed, e.g. {failed[0]}")
        result["purchases"] = {"count": len(out), "wall_s": round(wall, 2), "per_s": rate(len(out), wall),
                               "latency": latency_summary(lat)}
        log(f"purchases: {result['purchases']['per_s']}/s")

        # 2. the hot account
        wall, lat, out = parallel(args.threads, list(range(args.hot_attempts)),
                                  lambda _i: services.buy_voucher(offer, actor=hot).pk)
        won = sum(o[0] == "ok" for o in out)
        refused = sum(o[0] == "error" and "积分不足" in o[1] for o in out)
        hot_account = Account.objects.get(kind=Account.Kind.RESIDENT_POINTS, user=hot)
        if won != args.hot_affords or refused != args.hot_attempts - won or hot_account.balance != 0:
            errors.append(f"hot account: {won} bought, {refused} refused, balance {hot_account.balance}")
        result["hot_account"] = {"attempts": len(out), "affords": args.hot_affords, "bought": won, "refused_insufficient": refused,
                                 "balance_after": hot_account.balance, "wall_s": round(wall, 2),
                                 "attempts_per_s": rate(len(out), wall), "latency": latency_summary(lat)}
        log(f"hot account: {won} of {len(out)} bought, {result['hot_account']['attempts_per_s']} attempts/s")

        # 3. redemptions by typed code
        codes = list(Voucher.objects.filter(resident__in=residents).values_list("code", flat=True))
        double_codes, codes = codes[:args.double], codes[args.double:]
        wall, lat, out = parallel(args.threads, codes,
                                  lambda c: services.redeem_voucher(actor=cashier, code=c).pk)
        failed = [o[1] for o in out if o[0] == "error"]
        if failed:
            errors.append(f"redemptions: {len(failed)} failed, e.g. {failed[0]}")
        result["redemptions"] = {"count": len(out), "wall_s": round(wall, 2), "per_s": rate(len(out), wall),
                                 "latency": latency_summary(lat)}
        log(f"redemptions: {result['redemptions']['per_s']}/s")

        # 4. double scans: two threads per voucher, at the same moment
        wins = 0
        lat_all: list[float] = []
        t_double = 0.0
        for code in double_codes:
            wall, lat, out = parallel(2, [code, code], lambda c: services.redeem_voucher(actor=cashier, code=c).pk)
            t_double += wall
            lat_all += lat
            ok = sum(o[0] == "ok" for o in out)
            wins += ok
            if ok != 1 or not any(o[0] == "error" and "已于" in o[1] for o in out):
                errors.append(f"double scan of {code}: {out}")
        result["double_scans"] = {"vouchers": len(double_codes), "scans": 2 * len(double_codes),
                                  "succeeded": wins, "latency": latency_summary(lat_all)}
        log(f"double scans: {wins} of {2 * len(double_codes)} succeeded")

        # checks
        vouchers = Voucher.objects.count()
        redeemed = Voucher.objects.filter(status=Voucher.Status.REDEEMED).count()
        uses = Transaction.objects.filter(kind=Transaction.Kind.USE).count()
        receivable = Account.objects.get(kind=Account.Kind.MERCHANT_RECEIVABLE, merchant=merchant)
        expected = args.purchases + args.hot_affords
        if vouchers != expected or redeemed != args.purchases or uses != redeemed:
            errors.append(f"counts: {vouchers} vouchers (expected {expected}), {redeemed} redeemed, {uses} uses")
        if queries.balance(receivable) != redeemed * price:
            errors.append(f"receivable {queries.balance(receivable)} != {redeemed * price}")
        t0 = time.perf_counter()
        problems = queries.invariant_violations()
        errors += problems[:10]
        result["checks"] = {"vouchers": vouchers, "redeemed": redeemed, "use_transactions": uses,
                            "receivable": queries.balance(receivable),
                            "entries": Entry.objects.count(),
                            "sum_of_all_entries": Entry.objects.aggregate(n=Sum("amount"))["n"],
                            "invariant_violations": len(problems),
                            "invariants_checked_in_s": round(time.perf_counter() - t0, 2)}
        result["busy_cores_after"] = round(machine_busy(2.0), 2)
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        drop_database(admin_url, db, keep=args.keep)
    result = {"benchmark": "points", "ok": not errors, "errors": errors, **result}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.write and not args.quick:
        write_doc(render(result, command.strip()))
        log("wrote the Volunteer points section of docs/benchmarks.md")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
