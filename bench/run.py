"""Run every benchmark and rewrite the results sections of docs/benchmarks.md (``make bench``).

    .venv/bin/python bench/run.py             # all benchmarks; rewrites docs/benchmarks.md
    .venv/bin/python bench/run.py --quick     # smaller runs, a smoke test; leaves the docs alone
    .venv/bin/python bench/run.py --no-write  # full runs, docs untouched
    .venv/bin/python bench/run.py --only cases  # some of them (lookup, subtree, cases); only their sections

Each benchmark runs in its own process and prints one JSON object; the raw results are also kept in
``bench/results/<date>.json`` (ignored by git). Exit status: 1 if any benchmark gave a wrong answer,
2 if one could not run (PostgreSQL unreachable); slowness never fails the run — a missed target is
written in the results, plainly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOC = REPO / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
CASES_START, CASES_END = "<!-- bench:cases:start -->", "<!-- bench:cases:end -->"
BENCHMARKS = ("lookup", "subtree", "cases", "inspections", "points", "deliberation")
INSPECTIONS_START, INSPECTIONS_END = "<!-- bench:inspections:start -->", "<!-- bench:inspections:end -->"
ONE_CORE = {var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")}


def command_output(*cmd: str) -> str:
    if not shutil.which(cmd[0]):
        return ""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict:
    lscpu = command_output("lscpu")
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    free = command_output("free", "-h").splitlines()
    mem = next((line.split()[1] for line in free if line.startswith("Mem:")), "")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {
        "nproc": command_output("nproc") or str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "psql": command_output("psql", "--version"),
        "gunicorn": command_output(str(Path(sys.executable).parent / "gunicorn"), "--version"),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def run(script: str, *args: str, one_core: bool = False) -> dict:
    env = dict(os.environ)
    env.setdefault("GONGZHI_INSECURE_DEV", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    if one_core:
        env.update(ONE_CORE)
    cmd = [sys.executable, str(BENCH / script), *args]
    print(f"\n== {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        result = {"ok": False, "errors": [f"{script} printed no JSON (exit {proc.returncode})"],
                  "stdout": proc.stdout[-2000:]}
    result["exit_code"] = proc.returncode
    result["command"] = " ".join(["bench/" + script, *args])
    return result


def n(value: float) -> str:
    return f"{value:,.0f}"


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def render(results: dict) -> str:
    m, lk, dense, st = results["machine"], results["lookup"], results["lookup_dense"], results["subtree"]
    load = " / ".join(f"{x:.2f}" for x in m["load_average_at_start"])
    lines = [
        f"Run on **{results['date']}** with `{results['command']}`.",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| cores (`nproc`) | {m['nproc']} |",
        f"| CPU (`lscpu` model name) | {m['cpu']} |",
        f"| memory (`free -h`) | {m['memory']} |",
        f"| kernel | Linux {m['kernel']} |",
        f"| Python | {m['python']} |",
        f"| PostgreSQL server | {st.get('server_version', '(not run)')} |",
        f"| shapely / GEOS / NumPy | {lk.get('shapely')} / {lk.get('geos')} / {lk.get('numpy')} |",
        f"| load average at start (1 / 5 / 15 min) | {load} — the machine is shared, expect some noise |",
        "",
    ]
    if not all(r.get("ok") for r in (lk, dense, st)):
        lines += ["**Some benchmarks failed or could not run:**", ""]
        for name, r in (("lookup", lk), ("lookup, dense parents", dense), ("subtree", st)):
            for error in r.get("errors", []):
                lines.append(f"- {name}: {error}")
        lines.append("")

    lines += ["| what | result | target | |", "| --- | --- | --- | --- |"]
    if lk.get("single"):
        s, many = lk["single"], lk["many"]
        lines += [
            f"| point → area, `lookup(lon, lat)`, one core, {n(s['points'])} points, {n(lk['polygons'])} polygons "
            f"| **{n(s['per_s'])} /s** ({s['us_per_lookup']} µs each) | ≥ {n(s['target_per_s'])} /s "
            f"| {verdict(s['target_met'])} |",
            f"| point → area, `lookup_many`, one core, {n(many['points'])} points | **{n(many['per_s'])} /s** "
            f"({many['us_per_lookup']} µs each) | — | |",
            f"| index build, {n(lk['polygons'])} polygons | {lk['build_s']} s, RSS +{lk['build_rss_mib']} MiB "
            f"(Python objects: {lk['build_tracemalloc_peak_mib']} MiB peak) | — | |",
        ]
    if dense.get("single"):
        s, many, v = dense["single"], dense["many"], dense["max_vertices"]
        lines += [
            f"| the same with surveyed-looking parents (a vertex every {dense['densify_m']:g} m: community ≤ "
            f"{n(v['community'])}, street ≤ {n(v['street'])}, district ≤ {n(v['district'])} vertices) "
            f"| `lookup` **{n(s['per_s'])} /s**, `lookup_many` **{n(many['per_s'])} /s** "
            f"| ≥ {n(s['target_per_s'])} /s | {verdict(s['target_met'])} |",
        ]
    if st.get("under"):
        u = st["under"]
        lines += [
            f"| street subtree, {n(st['subtree_rows'])} rows of {n(st['areas'])}: "
            f"`list(Area.objects.under(street).values(…))` | median **{u['median_ms']} ms**, p95 "
            f"**{u['p95_ms']} ms** | < {u['target_ms']:g} ms | {verdict(u['target_met'])} |",
            f"| the same SQL through a bare cursor (no ORM) | median {st['under_raw_sql']['median_ms']} ms, p95 "
            f"{st['under_raw_sql']['p95_ms']} ms | — | |",
            f"| `Area.objects.visible_to(user)`, one role (派遣员) in the street, jurisdiction worked out each run "
            f"| median **{st['visible_to']['median_ms']} ms**, p95 {st['visible_to']['p95_ms']} ms "
            f"| < {u['target_ms']:g} ms | {verdict(st['visible_to']['p95_ms'] < u['target_ms'])} |",
            f"| `visible_to(user)`, roles in the street and in a community of another street "
            f"| median {st['visible_to_two_roles']['median_ms']} ms, p95 {st['visible_to_two_roles']['p95_ms']} ms "
            f"| — | |",
            f"| first page, `under(street)…[:50]` (ordered by path) | median "
            f"{st['under_first_page_50']['median_ms']} ms | — | |",
            f"| first page of the street whose path sorts last | median "
            f"{st['under_first_page_50_last_street']['median_ms']} ms | — | |",
        ]
    lines.append("")
    if lk.get("single"):
        a = lk["answers"]
        lines += [
            f"Lookup answers: {a['grid']:.1%} of the points fell in a grid, {a['city_margin']:.1%} in the city "
            f"margin (answer: the city), {a['none']:.1%} outside (None). Checked: `lookup` and `lookup_many` "
            f"agreed on all {n(lk['checked_lookup_vs_lookup_many'])} single-lookup points, and "
            f"{n(lk['checked_by_brute_force'])} points matched a brute-force search "
            f"({'all correct' if lk['ok'] else 'ERRORS, see above'}).",
            "",
        ]
    if st.get("under"):
        lines += [
            f"PostgreSQL: database `{st['database']}` (collation {st['collation']}), {n(st['areas'])} areas "
            f"written in {st['populate_s']} s. Indexes on `areas_area.path`:",
            "",
        ]
        for index in st["path_indexes"]:
            lines.append(f"- `{index['name']}` — `{index['definition'].split(' USING ')[1]}`, "
                         f"{index['size_mib']} MiB")
        lines += [
            "",
            f"Index used by the subtree query: {', '.join(f'`{i}`' for i in st['index_used']) or 'none'}.",
            "",
            "```",
            "EXPLAIN (ANALYZE, BUFFERS) " + st["sql"],
            "",
            st["explain"],
            "```",
            "",
            "The first page of the street whose path sorts last:",
            "",
            "```",
            st["explain_first_page_last_street"],
            "```",
            "",
        ]
    return "\n".join(lines)


def ms(value) -> str:
    return "—" if value is None else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def cpu_cell(cpu: dict, own: str = "loadgen_cores", own_label: str = "load gen.") -> str:
    worker = f" (+{cpu['worker_cores']:.2f} worker)" if cpu.get("worker_cores") else ""
    return (f"{cpu.get('gunicorn_cores', 0):.2f}{worker} / {cpu.get('postgres_cores', 0):.2f} / "
            f"{cpu.get(own, 0):.2f} / {cpu.get('other_cores', 0):.2f}")


def render_cases(results: dict) -> str:
    """The closed-loop section: intake vs pgbench, auto-dispatch latency, the queue over 1,000,000 cases."""
    m, c = results["machine"], results["cases"]
    load = " / ".join(f"{x:.2f}" for x in m["load_average_at_start"])
    pg = c.get("postgres_settings", {})
    git = c.get("git", {})
    tree = (f"`{git.get('commit', '?')}`" + (f" with {git['uncommitted_files_under_gongzhi']} uncommitted files under "
            "`gongzhi/` (other work in progress, measured as it stood)" if git.get("uncommitted_files_under_gongzhi")
            else ""))
    lines = [
        f"Run on **{results['date']}** with `{results['command']}` (`bench/cases.py`).",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| cores (`nproc`) | {m['nproc']} — gunicorn, PostgreSQL and the load generator share them |",
        f"| CPU (`lscpu` model name) | {m['cpu']} |",
        f"| memory (`free -h`) | {m['memory']} |",
        f"| kernel | Linux {m['kernel']} |",
        f"| Python / gunicorn | {m['python']} / {m.get('gunicorn', '?').replace('gunicorn (version ', '').rstrip(')')} |",
        f"| PostgreSQL server | {c.get('server_version', '(not run)')}, same machine, over 127.0.0.1; shared_buffers "
        f"{pg.get('shared_buffers', '?')}, synchronous_commit {pg.get('synchronous_commit', '?')}, fsync "
        f"{pg.get('fsync', '?')} |",
        f"| code measured | {tree} |",
        f"| load average at start (1 / 5 / 15 min) | {load} — the machine is shared with other sessions; each run "
        "below says how many cores *other* processes used meanwhile |",
        "",
    ]
    if not c.get("ok"):
        lines += ["**Errors (wrong answers, or a part that could not run):**", ""]
        lines += [f"- {e}" for e in c.get("errors", [])] + [""]

    intake, pgb = c.get("intake"), c.get("pgbench") or {}
    if intake:
        lines += [
            "#### 1. Report intake against pgbench",
            "",
            "`POST /api/v1/cases` by grid workers (JSON, no photo, auto-dispatched: grid lookup, number, routing, "
            f"`due_at`), {intake['runs'][0]['connections']} closed-loop keep-alive connections, "
            f"{intake['runs'][0]['duration_s']:g} s per configuration after a warm-up. CPU columns: cores used by "
            "gunicorn / PostgreSQL / the load generator / everything else on the machine.",
            "",
            "| gunicorn | reports/s | p50 | p95 | p99 | CPU: gunicorn / PG / load gen. / others | "
            "DB backends waiting on a lock |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in intake["runs"]:
            lat = r["latency"]
            lines.append(
                f"| `{r['config']['name']}` | **{n(r['per_s'])}** | {ms(lat.get('p50_ms'))} ms | "
                f"{ms(lat.get('p95_ms'))} ms | {ms(lat.get('p99_ms'))} ms | {cpu_cell(r['cpu'])} | "
                f"{r['db_waits']['lock_wait_share_of_active']:.0%} of active "
                f"({', '.join(f'{k} {v}' for k, v in list(r['db_waits']['top_wait_events'].items())[:2])}) |")
        h = intake.get("healthz_ceiling")
        if h:
            lines.append(f"| `GET /healthz` (Django + `SELECT 1`), `{intake['best']}` | {n(h['per_s'])} req/s | "
                         f"{ms(h['latency'].get('p50_ms'))} ms | {ms(h['latency'].get('p95_ms'))} ms | "
                         f"{ms(h['latency'].get('p99_ms'))} ms | {cpu_cell(h['cpu'])} | — |")
        if pgb.get("tps"):
            lines.append(f"| `{pgb['command']}` (single-row INSERT, {pgb['columns']} columns) | **{n(pgb['tps'])}** "
                         f"rows/s | avg {pgb['latency_avg_ms']} ms | | | — / {pgb['cpu']['postgres_cores']:.2f} / "
                         f"{pgb['cpu']['pgbench_cores']:.2f} / {pgb['cpu']['other_cores']:.2f} | — |")
        elif pgb:
            lines.append(f"| pgbench | not run: {pgb.get('error', '?')} | | | | | |")
        best = next(r for r in intake["runs"] if r["config"]["name"] == intake["best"])
        lines += [
            "",
            "| what | result | target | |",
            "| --- | --- | --- | --- |",
            f"| report intake, best configuration (`{intake['best']}`) | **{n(intake['per_s'])} reports/s** "
            f"| ≥ {n(intake['target_per_s'])} /s | {verdict(intake['target_met'])} |",
        ]
        if "ratio_to_pgbench" in intake:
            lines.append(f"| intake ÷ pgbench single-row INSERTs | **{intake['ratio_to_pgbench']:.1%}** "
                         f"({n(intake['per_s'])} ÷ {n(pgb['tps'])}) | ≥ {intake['target_ratio']:.0%} "
                         f"| {verdict(intake['ratio_met'])} |")
        lines += [
            "",
            f"Checked after each run: every `201` is one case row — best run: {n(best['created_201_total'])} answers "
            f"201 (warm-up included), {n(best['rows'])} rows with those keys, {n(best['distinct_numbers_rows'])} "
            f"distinct case numbers ({'all match' if best['rows_match_201'] else '**MISMATCH**'}); "
            f"{best['retry']['sent']} of the keys sent again: "
            f"{', '.join(f'{v} × {k}' for k, v in best['retry']['statuses'].items())}, the same case each time "
            f"({best['retry']['same_case']}), rows afterwards {n(best['rows_after_retry'])}.",
            "",
        ]

    d = c.get("dispatch")
    if d:
        lat = d["latency_from_schedule"]
        lines += [
            "#### 2. Auto-dispatch latency at a fixed rate",
            "",
            f"Reports from grid workers (网格员) whose category routes to exactly one department "
            f"(`{d['routed_to']}`), sent open-loop at **{d['rate_per_s']:g}/s** for {d['duration_s']} s "
            f"(`{d['config']}`); latency from each report's *scheduled* send time to the answer, so a queue in "
            "front of a slow server counts.",
            "",
            "| sent | answers | case status in the answer | p50 | p95 | p99 | max | CPU: gunicorn / PG / "
            "load gen. / others | target | |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {n(d['sent'])} of {n(d['planned'])} | {', '.join(f'{v} × {k}' for k, v in d['http_statuses'].items())} "
            f"| {', '.join(f'{v} × {k}' for k, v in d['case_statuses'].items())} | {ms(lat.get('p50_ms'))} ms "
            f"| {ms(lat.get('p95_ms'))} ms | **{ms(lat.get('p99_ms'))} ms** | {ms(lat.get('max_ms'))} ms "
            f"| {cpu_cell(d['cpu'])} | p99 < {d['target_p99_ms']:g} ms | {verdict(d['target_met'])} |",
            "",
        ]
        if d.get("wall_s"):
            lines += [f"The {n(d['sent'])} answers took {d['wall_s']:g} s in all (≈ {d['sent'] / d['wall_s']:.0f} "
                      f"reports/s answered).", ""]
        ref = d.get("reference")
        if ref:
            rl = ref["latency_from_schedule"]
            lines += [f"For comparison, the same reports at **{ref['rate_per_s']:g}/s** for {ref['duration_s']} s "
                      f"(far below capacity, no queue): p50 {ms(rl.get('p50_ms'))} ms, p95 {ms(rl.get('p95_ms'))} ms, "
                      f"p99 **{ms(rl.get('p99_ms'))} ms**, max {ms(rl.get('max_ms'))} ms; "
                      f"{', '.join(f'{v} × {k}' for k, v in ref['case_statuses'].items())}; CPU "
                      f"{cpu_cell(ref['cpu'])}.", ""]
        if d.get("not_sent_server_saturated"):
            lines += [f"The server could not keep up: the run was stopped after {d['wall_s']} s with "
                      f"{n(d['not_sent_server_saturated'])} reports not sent.", ""]

    q = c.get("queue")
    if q:
        data = q["data"]
        statuses = ", ".join(f"{k} {v / data['cases']:.1%}" for k, v in data["statuses"].items())
        lines += [
            "#### 3. The command-center queue over 1,000,000 cases",
            "",
            f"{n(data['cases'])} cases written with COPY in {data['load_s']} s (VACUUM ANALYZE {data['vacuum_analyze_s']}"
            f" s; table {n(data['table_mib'])} MiB, {n(data['table_with_indexes_mib'])} MiB with indexes): created "
            f"{data['first_created'][:10]} … {data['last_created'][:10]} over {data['grids']} grids and "
            f"{data['categories']} matters; {statuses}; open {n(data['open'])}, overdue {n(data['overdue'])}, to be "
            f"located {n(data['to_locate'])}; {n(data['in_fenghuangling'])} in 凤凰岭街道 (the street dispatcher's "
            "jurisdiction).",
            "",
            f"One client, keep-alive, {q['runs']} requests after 3 warm-ups, gunicorn `{q['config']}`. API: "
            "`GET /api/v1/cases?…` (100 per page, with the total count); page: `GET /cases/?…` (50 per page, no "
            "count)" + ("" if q["html_measured"] else " — **the page did not answer 200, so only the API was "
                        "timed**") + ". p50 / p95 in ms.",
            "",
            "| filter | rows (API count) | `center` API | `center` page | `fhl-dispatcher` API | `fhl-dispatcher` page |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        by = {(r["user"], r["filter"], r["kind"]): r for r in q["results"]}
        for name in dict.fromkeys(r["filter"] for r in q["results"]):
            def cell(user, kind, name=name):
                r = by.get((user, name, kind))
                if not r or "p95_ms" not in r:
                    return "—"
                text = f"{ms(r['p50_ms'])} / {ms(r['p95_ms'])}"
                return f"**{text}**" if r["p95_ms"] >= q["target_p95_ms"] else text
            counts = " / ".join(str(n(by[(u, name, 'api')]['count'])) if (u, name, "api") in by and
                                by[(u, name, "api")].get("count") is not None else "—"
                                for u in ("center", "fhl-dispatcher"))
            lines.append(f"| {name} | {counts} | {cell('center', 'api')} | {cell('center', 'html')} "
                         f"| {cell('fhl-dispatcher', 'api')} | {cell('fhl-dispatcher', 'html')} |")
        worst = q.get("worst_api") or {}
        lines += [
            "",
            "Bold: p95 at or above the target.",
            "",
            "| what | result | target | |",
            "| --- | --- | --- | --- |",
            f"| queue API, p95 of the slowest filter ({worst.get('user')}: {worst.get('filter')}) | "
            f"**{ms(worst.get('p95_ms'))} ms** ({q['api_met']} of {q['api_measured']} under the target) "
            f"| < {q['target_p95_ms']:g} ms | {verdict(q['target_met_api'])} |",
        ]
        if q.get("html_measured"):
            wh = q["worst_html"]
            lines.append(f"| queue page, p95 of the slowest filter ({wh['user']}: {wh['filter']}) | "
                         f"**{ms(wh['p95_ms'])} ms** ({q['html_met']} of {q['html_measured_count']} under the target) "
                         f"| < {q['target_p95_ms']:g} ms | {verdict(q['target_met_html'])} |")
        full = q.get("full_scans", q.get("seq_scans", []))
        lines += ["", "Queries that read all or most of `cases_case` — a sequential scan, or an index walk whose "
                  "filter throws away ≥ 10 % of the table (EXPLAIN ANALYZE of every captured query): "
                  + ("; ".join(full) if full else "none") + ".", ""]
        sq = q.get("slowest_query")
        if sq:
            lines += [f"The slowest query ({sq['exec_ms']:.1f} ms executing; {sq['user']}, {sq['filter']}, "
                      f"{'API' if sq['kind'] == 'api' else 'page'}):", "", "```", sq["sql"], "", sq["plan"], "```", ""]
        lines += ["Indexes on `cases_case`:", ""]
        lines += [f"- `{i['name']}` — `{i['definition']}`, {i['size_mib']} MiB" for i in data.get("indexes", [])]
        lines.append("")
    return "\n".join(lines)


def rewrite_doc(section: str, start: str = START, end: str = END, heading: str = "## Results") -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small runs; implies --no-write")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help="comma-separated benchmarks to run (lookup, subtree, cases, inspections, points); default: all")
    args = parser.parse_args(argv)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    if unknown := set(only) - set(BENCHMARKS):
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {', '.join(BENCHMARKS)}")
    command = ("bench/run.py" + (" --quick" if args.quick else "") + (" --no-write" if args.no_write else "")
               + (f" --only {','.join(only)}" if set(only) != set(BENCHMARKS) else ""))

    results = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
        "command": command,
        "machine": machine(),
    }
    if args.quick:
        if "lookup" in only:
            results["lookup"] = run("lookup.py", "--grids-x", "100", "--grids-y", "100", "--single", "20000",
                                    "--many", "100000", "--check", "300", "--repeat", "1", one_core=True)
            results["lookup_dense"] = run("lookup.py", "--grids-x", "100", "--grids-y", "100", "--densify", "13",
                                          "--single", "5000", "--many", "20000", "--check", "100", "--repeat", "1",
                                          one_core=True)
        if "subtree" in only:
            results["subtree"] = run("subtree.py", "--runs", "5")
        if "cases" in only:
            results["cases"] = run("cases.py", "--quick")
        if "inspections" in only:
            results["inspections"] = run("inspections.py", "--premises", "5000", "--communities", "5", "--runs", "2")
        if "points" in only:
            results["points"] = run("points.py", "--quick")
        if "deliberation" in only:
            results["deliberation"] = run("deliberation.py", "--households", "10000", "--runs", "3")
    else:
        if "lookup" in only:
            results["lookup"] = run("lookup.py", one_core=True)
            # Real boundaries carry thousands of vertices; fewer points, the old code is slow on them.
            results["lookup_dense"] = run("lookup.py", "--densify", "13", "--single", "50000", "--many", "200000",
                                          "--check", "500", "--repeat", "2", one_core=True)
        if "subtree" in only:
            results["subtree"] = run("subtree.py", "--runs", "30")
        if "cases" in only:
            # Reports through gunicorn, pgbench, 100 reports/s, the queue over 1,000,000 cases (≈ 8 minutes).
            results["cases"] = run("cases.py")
        if "inspections" in only:
            results["inspections"] = run("inspections.py")  # 2 × 50,000 premises, build_week 5 runs (≈ 5 minutes)
        if "points" in only:
            results["points"] = run("points.py")  # voucher purchases and redemptions, 4 threads (≈ 1 minute)
        if "deliberation" in only:
            results["deliberation"] = run("deliberation.py")  # tally of 100,000 households (≈ 4 minutes)

    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = results["date"][:16].replace(":", "")
    (out_dir / f"{stamp}{'-quick' if args.quick else ''}.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    sections = []
    if all(k in results for k in ("lookup", "lookup_dense", "subtree")):
        sections.append((render(results), START, END, "## Results"))
    if "cases" in results:
        sections.append((render_cases(results), CASES_START, CASES_END, "### The closed loop (`bench/cases.py`)"))
    if "inspections" in results:
        from inspections import render as render_inspections

        sections.append((render_inspections(results["inspections"], results["inspections"]["command"]),
                         INSPECTIONS_START, INSPECTIONS_END, "### Inspection plans (`bench/inspections.py`)"))
    if "points" in results:
        import points

        sections.append((points.render(results["points"], results["points"]["command"]), points.START, points.END,
                         points.HEADING))
    if "deliberation" in results:
        import deliberation

        sections.append((deliberation.render(results["deliberation"], results["deliberation"]["command"]),
                         deliberation.START, deliberation.END, deliberation.HEADING))
    for section, *_markers in sections:
        print("\n" + section)

    parts = [results[k] for k in ("lookup", "lookup_dense", "subtree", "cases", "inspections", "points", "deliberation")
             if k in results]
    could_not_run = any(r.get("skipped") or r.get("exit_code") == 2 for r in parts)
    wrong = any(not r.get("ok") and not r.get("skipped") for r in parts)
    if not (args.quick or args.no_write or could_not_run):
        for section, start, end, heading in sections:
            rewrite_doc(section, start, end, heading)
        print(f"\nwrote the results into {DOC.relative_to(REPO)}", file=sys.stderr)
    elif could_not_run:
        print("\na benchmark could not run: docs/benchmarks.md left as it was", file=sys.stderr)
    return 1 if wrong else 2 if could_not_run else 0


if __name__ == "__main__":
    sys.exit(main())
