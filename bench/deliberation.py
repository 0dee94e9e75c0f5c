"""Benchmark: tallying a vote of 100,000 households on PostgreSQL (``tally.figures`` and
``results.close_decision``) — target: **tallying < 1 s**.

Builds everything in a database of its own (``gongzhi_bench_deliberation`` by default, created and
dropped here: the database named in DATABASE_URL is only used to connect and is never written to):
``migrate``, the test suite's small city (``gongzhi.conftest.build_world``), then one open decision
of 东一社区 with ``--households`` electors (one per household, in 100 buildings; 1–5 persons, floor
area 45.00–160.00 ㎡, a representative every 50th), two electorates (the whole estate, and
buildings 1–10) and two questions — the elevator rule (estate-wide art. 278 major AND 9/10 of
buildings 1–10) and an art. 278 ordinary question — with
``--participation`` of the households taking part (a tenth of them also attending) and voting on
both questions (for 85 % / against 10 % / abstain 5 % on the first, 75 / 20 / 5 on the second), all
through ``bulk_create``; ``VACUUM ANALYZE``.

Then ``tally.figures(decision)`` is timed ``--runs`` times, and ``close_decision`` ``--runs`` times
(all but the last rolled back, so each closes the same open decision; the last one stays). Checked:
every figure equals a sum done in Python while generating the rows (integers and Decimals), and the
results (passed or not) equal an independent evaluation of the rules with fractions. The three
aggregate queries are EXPLAIN ANALYZEd.

Prints one JSON object on stdout; exits 1 if a check fails (never because something is slow), 2 if
PostgreSQL can't be reached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/deliberation.py
    … --households 10000 --runs 3     # a quick run
    … --write     # also rewrite the "Co-decision" section of docs/benchmarks.md
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchcommon import (  # noqa: E402
    check_db_name,
    connect_admin,
    create_database,
    drop_database,
    git_commit,
    log,
    machine_busy,
)

START, END = "<!-- bench:deliberation:start -->", "<!-- bench:deliberation:end -->"
HEADING = "### Co-decision: tallying a vote (`bench/deliberation.py`)"
TARGET_S = 1.0
MEASURES = ("persons", "households", "area", "representatives")
BUILDING_KEYS = [str(b) for b in range(1, 11)]


class Rollback(Exception):
    pass


def summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {"runs": len(ms), "min_ms": round(ms[0], 1), "median_ms": round(statistics.median(ms), 1),
            "max_ms": round(ms[-1], 1), "all_ms": [round(s * 1000, 1) for s in seconds]}


def render(r: dict, command: str) -> str:
    """The docs/benchmarks.md section for one run's JSON."""
    pg = r.get("postgres_settings", {})
    lines = [f"Run on **{r.get('date', '?')}** with `{command}` (code: commit `{r.get('commit', '?')}`). "
             f"PostgreSQL {r.get('server_version', '?')} on the same machine (shared_buffers "
             f"{pg.get('shared_buffers', '?')}, work_mem {pg.get('work_mem', '?')}); one Python process calling "
             f"`tally.figures` and `results.close_decision` directly (no HTTP). The machine is shared: other "
             f"processes kept {r.get('busy_cores_before', '?')} of its {r.get('nproc', '?')} cores busy just before.",
             ""]
    if not r.get("ok"):
        lines += ["**Errors:**", ""] + [f"- {e}" for e in r.get("errors", [])] + [""]
    if all(k in r for k in ("data", "tally", "close", "checks")):
        d, t, c = r["data"], r["tally"], r["close"]
        lines += [
            f"One open decision: **{d['electors']:,} household electors** in {d['buildings']} buildings "
            f"({d['persons']:,} persons, {d['area']} ㎡), {d['participations']:,} participations "
            f"({d['participation_percent']} %, {d['attendees']:,} also attending), {d['votes']:,} votes on two "
            f"questions, two electorates (the estate; buildings 1–10: {d['building_electors']:,} electors). "
            f"Rows written with `bulk_create` in {d['load_s']} s, then `VACUUM ANALYZE`.",
            "",
            "| what | min | median | max | target | |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| `tally.figures(decision)` — both questions × both electorates, {t['runs']} runs "
            f"| {t['min_ms']} ms | **{t['median_ms']} ms** | {t['max_ms']} ms | < {TARGET_S * 1000:.0f} ms "
            f"| {'met' if r['target_met'] else '**missed**'} |",
            f"| `close_decision` (lock, paper check, tally, two rules, two `Result` rows, status, audit row), "
            f"{c['runs']} runs, all but the last rolled back | {c['min_ms']} ms | **{c['median_ms']} ms** "
            f"| {c['max_ms']} ms | — | |",
            "",
            f"The first `tally.figures` after loading took {t['first_ms']} ms (cold cache). Checked: every figure "
            f"of both questions and both electorates equals the sums made in Python while generating the rows "
            f"(**{r['checks']['figures_equal']}**), and the results equal an independent evaluation of the rules "
            f"with fractions (**{r['checks']['results_equal']}**: question 1 "
            f"{'passed' if r['checks']['passed'][0] else 'failed'}, question 2 "
            f"{'passed' if r['checks']['passed'][1] else 'failed'}).",
            "",
            "The five statements of one `tally.figures` (EXPLAIN ANALYZE, execution time):",
            "",
            "```",
        ]
        for q in r.get("queries", []):
            lines.append(f"{q['ms']:>9.1f} ms  {q['sql'][:150]}")
        lines += ["```"]
        plans = r.get("plans", {})
        for label, title in (("participations", "the participations joined to their electors"),
                             ("votes", "the vote sums")):
            if plans.get(label):
                lines += ["", f"Plan of {title}:", "", "```", *plans[label], "```"]
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


def build(args, world, rng) -> tuple:
    """The decision and its rows; returns (decision, expected figures per question position, data)."""
    from gongzhi.deliberation import presets, rules
    from gongzhi.deliberation.models import (
        Decision,
        Elector,
        Electorate,
        Participation,
        Question,
        Vote,
        VoterRoll,
    )

    roll = VoterRoll.objects.create(area=world.community_a, name="东一小区业主名册（基准测试）")
    decision = Decision.objects.create(area=world.community_a, roll=roll, title="3号院加装电梯与外立面修缮",
                                       ballot_unit=Decision.BallotUnit.HOUSEHOLD, status=Decision.Status.OPEN,
                                       opened_at=datetime.datetime(2026, 5, 4, 1, 0, tzinfo=datetime.UTC))
    Electorate.objects.create(decision=decision, key="all", name="全小区", buildings=[])
    Electorate.objects.create(decision=decision, key="building", name="1–10号楼", buildings=BUILDING_KEYS)
    q1 = Question.objects.create(decision=decision, position=1, text="是否同意加装电梯",
                                 rule=rules.validate(presets.ELEVATOR))
    q2 = Question.objects.create(decision=decision, position=2, text="是否同意外立面修缮方案",
                                 rule=rules.validate(presets.ORDINARY_278))

    groups = ("electorate", "participants", "attendees", "for", "against", "abstain")
    expected = {pos: {key: {g: dict.fromkeys(MEASURES, 0) for g in groups} for key in ("all", "building")}
                for pos in (1, 2)}

    def add(pos, key, group, w):
        target = expected[pos][key][group]
        for m in MEASURES:
            target[m] += w[m]

    t0 = time.perf_counter()
    batch = 5000
    data = {"electors": 0, "participations": 0, "attendees": 0, "votes": 0, "building_electors": 0,
            "buildings": 100}
    for start in range(0, args.households, batch):
        rows = []
        for i in range(start, min(start + batch, args.households)):
            building = str(1 + i % 100)
            rows.append(Elector(decision=decision, key=f"h{i:06d}", label=f"{building}-{i // 100 % 6 + 1}-{i:06d}",
                                building=building, persons=rng.randint(1, 5), households=1,
                                floor_area=Decimal(rng.randint(4500, 16000)) / 100,
                                representatives=1 if i % 50 == 0 else 0))
        electors = Elector.objects.bulk_create(rows, batch_size=batch)
        participations, votes = [], []
        for e in electors:
            w = {"persons": e.persons, "households": e.households, "area": e.floor_area,
                 "representatives": e.representatives}
            keys = ["all"] + (["building"] if e.building in BUILDING_KEYS else [])
            data["building_electors"] += "building" in keys
            for pos in (1, 2):
                for key in keys:
                    add(pos, key, "electorate", w)
            if rng.random() >= args.participation:
                continue
            attended = rng.random() < 0.1
            participations.append(Participation(decision=decision, elector=e, channel="online", voted=True,
                                                attended=attended))
            for pos, question, weights in ((1, q1, (0.85, 0.10)), (2, q2, (0.75, 0.20))):
                x = rng.random()
                choice = "for" if x < weights[0] else "against" if x < weights[0] + weights[1] else "abstain"
                votes.append(Vote(question=question, elector=e, choice=choice, building=e.building,
                                  persons=e.persons, households=e.households, floor_area=e.floor_area,
                                  representatives=e.representatives))
                for key in keys:
                    add(pos, key, "participants", w)
                    add(pos, key, choice, w)
                    if attended:
                        add(pos, key, "attendees", w)
        Participation.objects.bulk_create(participations, batch_size=batch)
        Vote.objects.bulk_create(votes, batch_size=batch)
        data["electors"] += len(electors)
        data["participations"] += len(participations)
        data["attendees"] += sum(p.attended for p in participations)
        data["votes"] += len(votes)
    data["load_s"] = round(time.perf_counter() - t0, 1)
    for per_q in expected.values():
        for per_key in per_q.values():
            for group in per_key.values():
                group["area"] = format(Decimal(group["area"]).quantize(Decimal("0.01")), "f")
    data["persons"] = expected[1]["all"]["electorate"]["persons"]
    data["area"] = f"{Decimal(expected[1]['all']['electorate']['area']):,.2f}"
    data["participation_percent"] = round(100 * data["participations"] / max(1, data["electors"]), 1)
    return decision, {q1.pk: expected[1], q2.pk: expected[2]}, (q1, q2), data


def independent(rule: dict, figures: dict) -> bool:
    """The rules evaluated again, without the rule engine: Fraction(Decimal) and cross-multiplication."""
    if "all" in rule:
        return all([independent(r, figures) for r in rule["all"]])
    if "any" in rule:
        return any([independent(r, figures) for r in rule["any"]])
    f = figures[rule["electorate"]]
    num = Fraction(Decimal(str(f[rule["count"]][rule["measure"]])))
    den = Fraction(Decimal(str(f[rule["base"]][rule["measure"]])))
    p, q = (int(x) for x in rule["ratio"].split("/"))
    if den == 0:
        return False
    return num * q >= p * den if rule["cmp"] == ">=" else num * q > p * den


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="gongzhi_bench_deliberation", help="database created and dropped here")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--participation", type=float, default=0.7)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="don't drop the bench database at the end")
    parser.add_argument("--write", action="store_true", help="rewrite the section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    command = "bench/deliberation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    check_db_name(parser, args.db_name)

    admin, admin_url = connect_admin("deliberation")
    if admin is None:
        return 2
    db = args.db_name
    pg = {name: admin.execute(f"SHOW {name}").fetchone()[0] for name in ("shared_buffers", "work_mem")}
    server_version = create_database(admin, admin_url, db)

    errors: list[str] = []
    result: dict = {"server_version": server_version, "postgres_settings": pg, "nproc": os.cpu_count(),
                    "commit": git_commit(), "households": args.households,
                    "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        from gongzhi.conftest import build_world
        from gongzhi.deliberation import results, tally
        from gongzhi.deliberation.models import Decision, Result

        t0 = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        log(f"migrated in {time.perf_counter() - t0:.1f} s")
        world = build_world()
        decision, expected, questions, data = build(args, world, random.Random(args.seed))
        result["data"] = data
        log(f"wrote {data['electors']:,} electors, {data['participations']:,} participations, "
            f"{data['votes']:,} votes in {data['load_s']} s")
        with connection.cursor() as cursor:
            for table in ("deliberation_elector", "deliberation_participation", "deliberation_vote"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        result["busy_cores_before"] = round(machine_busy(2.0), 2)

        times = []
        t0 = time.perf_counter()
        figures = tally.figures(decision)
        first = time.perf_counter() - t0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            figures = tally.figures(decision)
            times.append(time.perf_counter() - t0)
        result["tally"] = {**summary(times), "first_ms": round(first * 1000, 1)}
        result["target_met"] = statistics.median(times) < TARGET_S
        log(f"tally.figures: median {result['tally']['median_ms']} ms")
        equal = figures == expected
        if not equal:
            errors.append(f"figures differ: got {json.dumps(figures)[:600]} expected {json.dumps(expected)[:600]}")

        with CaptureQueriesContext(connection) as ctx:
            tally.figures(decision)
        result["queries"], result["plans"] = [], {}
        with connection.cursor() as cursor:
            for captured in ctx.captured_queries:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + captured["sql"])
                plan = [row[0] for row in cursor.fetchall()]
                ms = next((float(m.group(1)) for line in plan
                           if (m := re.search(r"Execution Time: ([\d.]+) ms", line))), 0.0)
                result["queries"].append({"ms": ms, "sql": captured["sql"]})
                for label, table in (("votes", "deliberation_vote"), ("participations", "deliberation_participation"),
                                     ("electors", "deliberation_elector")):
                    if f'FROM "{table}"' in captured["sql"] and "GROUP BY" in captured["sql"]:
                        result["plans"][label] = plan
                        break

        close_times = []
        for run in range(args.runs):
            t0 = time.perf_counter()
            try:
                with transaction.atomic():
                    made = results.close_decision(Decision.objects.get(pk=decision.pk), actor=world.dispatcher)
                    close_times.append(time.perf_counter() - t0)
                    if run < args.runs - 1:
                        raise Rollback
            except Rollback:
                pass
        result["close"] = summary(close_times)
        log(f"close_decision: median {result['close']['median_ms']} ms")

        q1, q2 = questions
        passed1 = independent(q1.rule, expected[q1.pk])
        passed2 = independent(q2.rule, expected[q2.pk])
        stored = {r.question_id: r.passed for r in Result.objects.filter(question__decision=decision)}
        results_equal = stored == {q1.pk: passed1, q2.pk: passed2} and [r.passed for r in made] == [passed1, passed2]
        if not results_equal:
            errors.append(f"results {stored} != independent {passed1}, {passed2}")
        if Decision.objects.get(pk=decision.pk).status != Decision.Status.CLOSED:
            errors.append("the decision is not closed")
        result["checks"] = {"figures_equal": equal, "results_equal": results_equal, "passed": [passed1, passed2]}
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        drop_database(admin_url, db, keep=args.keep)
    result = {"benchmark": "deliberation", "ok": not errors, "errors": errors, **result}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.write:
        write_doc(render(result, command.strip()))
        log("wrote the Co-decision section of docs/benchmarks.md")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
