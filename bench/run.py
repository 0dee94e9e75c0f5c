"""Run every benchmark and rewrite the results section of docs/benchmarks.md (``make bench``).

    .venv/bin/python bench/run.py             # all benchmarks; rewrites docs/benchmarks.md
    .venv/bin/python bench/run.py --quick     # smaller runs, a smoke test; leaves the docs alone
    .venv/bin/python bench/run.py --no-write  # full runs, docs untouched

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


def rewrite_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small runs; implies --no-write")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    command = "bench/run.py" + (" --quick" if args.quick else "") + (" --no-write" if args.no_write else "")

    results = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
        "command": command,
        "machine": machine(),
    }
    if args.quick:
        results["lookup"] = run("lookup.py", "--grids-x", "100", "--grids-y", "100", "--single", "20000",
                                "--many", "100000", "--check", "300", "--repeat", "1", one_core=True)
        results["lookup_dense"] = run("lookup.py", "--grids-x", "100", "--grids-y", "100", "--densify", "13",
                                      "--single", "5000", "--many", "20000", "--check", "100", "--repeat", "1",
                                      one_core=True)
        results["subtree"] = run("subtree.py", "--runs", "5")
    else:
        results["lookup"] = run("lookup.py", one_core=True)
        # Real boundaries carry thousands of vertices; fewer points, the old code is slow on them.
        results["lookup_dense"] = run("lookup.py", "--densify", "13", "--single", "50000", "--many", "200000",
                                      "--check", "500", "--repeat", "2", one_core=True)
        results["subtree"] = run("subtree.py", "--runs", "30")

    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = results["date"][:16].replace(":", "")
    (out_dir / f"{stamp}{'-quick' if args.quick else ''}.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    section = render(results)
    print("\n" + section)

    parts = [results["lookup"], results["lookup_dense"], results["subtree"]]
    could_not_run = any(r.get("skipped") or r.get("exit_code") == 2 for r in parts)
    wrong = any(not r.get("ok") and not r.get("skipped") for r in parts)
    if not (args.quick or args.no_write or could_not_run):
        rewrite_doc(section)
        print(f"\nwrote the results into {DOC.relative_to(REPO)}", file=sys.stderr)
    elif could_not_run:
        print("\na benchmark could not run: docs/benchmarks.md left as it was", file=sys.stderr)
    return 1 if wrong else 2 if could_not_run else 0


if __name__ == "__main__":
    sys.exit(main())
