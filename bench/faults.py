"""Fault tests (`make faults`): nothing acknowledged is lost, nothing is done twice, while the web
server and PostgreSQL crash and a worker is killed.

Everything runs against a **private PostgreSQL cluster** that this script makes (``initdb`` in a
temporary directory, a free port, fsync and synchronous_commit on; see bench/faults_pg.py) and may
therefore crash at will — the machine's shared server is never touched. The cluster gets the
migrations, the demo city (``build_demo_city``), the GB/T 47678.5 directory with a routing rule for
06010 暴露垃圾, and grid-worker accounts with write tokens (their reports are auto-dispatched: the
report, filing and dispatch are written in one request), as bench/cases.py does.

1. **Intake under faults.** gunicorn (sync workers, started as ``gongzhi serve`` does) on a free
   port; ``--clients`` clients (bench/faults_load.py) submit reports for ``--duration`` seconds,
   each report with its own idempotency key, retrying failures with the same key (exponential
   back-off with jitter, bounded attempts). Meanwhile the fault injector, in turn:
   - kills the gunicorn **master with SIGKILL**; its orphaned workers keep serving for
     ``--orphan-grace`` seconds, then are SIGKILLed too, mid-request, as a supervisor (systemd's
     ``KillMode=control-group``) does before it starts the service again; gunicorn is started
     again on the same port;
   - **crashes PostgreSQL** (``pg_ctl stop -m immediate``: no checkpoint, every backend killed),
     keeps it down ``--pg-down`` seconds, starts it again (WAL recovery).
   Afterwards every acknowledged report (the client got a 200 or 201) must exist exactly once, under
   the number the client was told; no idempotency key may have two cases, no case number may be
   used twice, and no case may have its report, filing or dispatch event twice.
2. **Sweeper under faults.** ``--sweep-cases`` open cases written past their deadlines at several
   escalation levels (level 0 → "overdue" is due, level 1 → "escalate" to level 2, level 2 →
   level 3), some only past their warning moment, some not due at all; then two ``gongzhi worker``
   processes with a one-second sweep. Once part of the work is done one worker is SIGKILLed (in the
   middle of its pass); later PostgreSQL is crashed once more (``--sweep-pg-crash``). A supervisor
   loop here restarts a worker that exits by itself (as systemd's ``Restart=always`` would) but not
   the one killed on purpose. Afterwards every due case has exactly one event per level reached
   (``overdue`` = level 1, ``escalate`` = levels ≥ 2, ``warn``), none lost, none doubled, the cases
   not due have none, and another pass adds nothing.

Prints one JSON object on stdout, rewrites the results block of docs/reliability.md (unless
``--no-write``), and exits 1 on any loss, duplicate or unexpected answer; 2 when the private
PostgreSQL cluster can't be made here (no server binaries, or root without a ``postgres`` user).

    .venv/bin/python bench/faults.py            # ≈ 2–3 minutes
    … --duration 60 --web-kills 5 --pg-crashes 5 --sweep-cases 3000
"""

from __future__ import annotations

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchcommon import BENCH, INTAKE_CATEGORY, REPO, ROUTED_TO, log, with_database  # noqa: E402
from cases_http import Gunicorn, parse_config  # noqa: E402
from faults_pg import PostgresUnavailable, PrivatePostgres  # noqa: E402

DOC = REPO / "docs" / "reliability.md"
START, END = "<!-- faults:results:start -->", "<!-- faults:results:end -->"
DB_NAME = "gongzhi_faults"


# --------------------------------------------------------------------------- the web server, crashable


class Web(Gunicorn):
    """gunicorn on a fixed port that can be crashed (SIGKILL) and started again."""

    def __init__(self, config: dict, env: dict, work: Path):
        super().__init__(config, env, work)
        self.starts = 0

    def __enter__(self) -> Web:
        # Keep each run's logs: gunicorn's own and Django's (stderr).
        for name in (f"output-{self.port}.log", f"error-{self.port}.log"):
            path = self.log_dir / name
            if path.exists():
                path.rename(self.log_dir / f"{name}.{self.starts}")
        self.starts += 1
        super().__enter__()
        return self

    def crash(self, orphan_grace: float) -> dict:
        """SIGKILL the master; after ``orphan_grace`` s SIGKILL its orphaned workers; start again."""
        t0 = time.monotonic()
        master = self.proc.pid
        os.kill(master, signal.SIGKILL)
        self.proc.wait()
        orphans = group_members(master)
        time.sleep(orphan_grace)  # the orphans still hold the socket and answer what they accepted
        try:
            os.killpg(master, signal.SIGKILL)  # the supervisor's clean-up (a control group)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while group_members(master) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.output.close()
        self.__enter__()
        return {"kind": "gunicorn_master_sigkill", "orphaned_workers_killed": len(orphans),
                "down_s": round(time.monotonic() - t0, 2)}


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


# --------------------------------------------------------------------------- part 1: intake


def part_intake(args, env: dict, work: Path, pg: PrivatePostgres, db_url: str, tokens: list[str],
                points: list) -> tuple[dict, list[str]]:
    prefix = f"fault-{int(time.time())}"
    cfg = {"host": "127.0.0.1", "tokens": tokens, "points": points, "category": INTAKE_CATEGORY,
           "clients": args.clients, "duration": args.duration, "prefix": prefix, "timeout": args.timeout,
           "max_attempts": args.max_attempts, "base": args.backoff_base, "cap": args.backoff_cap, "seed": 11,
           "drop_answer": args.drop_answer}
    kinds = ["web", "db"] * max(args.web_kills, args.pg_crashes)
    kinds = [k for i, k in enumerate(kinds)
             if (k == "web" and i // 2 < args.web_kills) or (k == "db" and i // 2 < args.pg_crashes)]
    lead, tail = 3.0, 6.0
    gap = (args.duration - lead - tail) / max(1, len(kinds) - 1)
    faults: list[dict] = []
    log(f"intake: {args.clients} clients for {args.duration} s against gunicorn {args.gunicorn}; "
        f"faults: {args.web_kills} gunicorn SIGKILLs, {args.pg_crashes} PostgreSQL crashes")
    config = {**parse_config(args.gunicorn), "worker": False}  # no worker beside it (bench/cases.py starts one)
    with Web(config, env, work) as web:
        cfg["port"] = web.port
        t0 = time.monotonic()
        cfg_path = work / "loadgen.json"
        cfg_path.write_text(json.dumps(cfg))
        with open(cfg_path) as stdin:
            proc = subprocess.Popen([sys.executable, str(BENCH / "faults.py"), "_loadgen"], stdin=stdin,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        for i, kind in enumerate(kinds):
            wait = t0 + lead + i * gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            at = round(time.monotonic() - t0, 2)
            fault = web.crash(args.orphan_grace) if kind == "web" else pg.crash(args.pg_down)
            fault["at_s"] = at
            faults.append(fault)
            log(f"  {at:5.1f} s  {fault['kind']}: down {fault['down_s']} s")
        out, err = proc.communicate(timeout=args.duration + args.max_attempts * (args.timeout + args.backoff_cap) + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed ({proc.returncode}): {err[-2000:]}")
        load = json.loads(out)
        server_log = web.error_log_tail()
    result, errors = check_intake(db_url, prefix, load)
    timeline = load.pop("timeline")
    result.update({
        "clients": args.clients, "duration_s": args.duration, "wall_s": load["wall_s"], "gunicorn": args.gunicorn,
        "retry_policy": {"timeout_s": args.timeout, "max_attempts": args.max_attempts,
                         "backoff": f"full jitter, {args.backoff_base} s × 2^n, at most {args.backoff_cap} s"},
        "faults": faults, "faults_injected": len(faults), "answers_dropped_by_client": load["answers_dropped"],
        "reports": load["reports"], "attempts": load["attempts"], "retries": load["retries"],
        "acknowledged": len(load["acked"]), "acknowledged_on_a_retry": load["acked_on_retry"],
        "acknowledged_200_existing": load["acked_200_after_retry"],
        "gave_up": len(load["unacked"]), "rejected": len(load["rejected"]),
        "failed_attempts": load["errors"], "answers": load["statuses"],
        "failures_by_second": failures_by_second(timeline),
    })
    if load["rejected"]:
        errors.append(f"intake: {len(load['rejected'])} reports refused by the server: {load['rejected'][:3]}")
    if load["unacked"]:
        errors.append(f"intake: {len(load['unacked'])} reports never acknowledged after {args.max_attempts} "
                      f"attempts: {load['unacked'][:3]}")
    if errors and server_log:
        result["server_log_tail"] = server_log[-2000:]
    log(f"  {result['reports']} reports, {result['attempts']} attempts ({result['retries']} retries), "
        f"{result['acknowledged']} acknowledged, lost {result['lost']}, duplicated {result['duplicated']}")
    return result, errors


def failures_by_second(timeline: list) -> list[list]:
    """[second, failed attempts] for each second with a failure (where the faults hit)."""
    per: dict[int, int] = {}
    for at, outcome in timeline:
        if outcome not in ("200", "201"):
            per[int(at)] = per.get(int(at), 0) + 1
    return [[s, n] for s, n in sorted(per.items())]


def check_intake(db_url: str, prefix: str, load: dict) -> tuple[dict, list[str]]:
    """Compare what the clients were told with what the database holds (plain SQL, fresh connection)."""
    import psycopg

    errors: list[str] = []
    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute("SELECT idempotency_key, id, number FROM cases_case WHERE idempotency_key LIKE %s",
                            [prefix + "-%"]).fetchall()
        numbers_doubled = conn.execute(
            "SELECT number, count(*) FROM cases_case GROUP BY number HAVING count(*) > 1").fetchall()
        events_doubled = conn.execute(
            "SELECT c.number, e.action, count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
            "WHERE c.idempotency_key LIKE %s AND e.action IN ('report', 'file', 'dispatch', 'auto_dispatch') "
            "GROUP BY c.number, e.action HAVING count(*) > 1", [prefix + "-%"]).fetchall()
        no_report_event = conn.execute(
            "SELECT count(*) FROM cases_case c WHERE c.idempotency_key LIKE %s AND NOT EXISTS "
            "(SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id AND e.action = 'report')",
            [prefix + "-%"]).fetchone()[0]
        statuses = dict(conn.execute("SELECT status, count(*) FROM cases_case WHERE idempotency_key LIKE %s "
                                     "GROUP BY status", [prefix + "-%"]).fetchall())
    by_key: dict[str, list] = {}
    for key, pk, number in rows:
        by_key.setdefault(key, []).append((pk, number))
    sent = {a[0] for a in load["acked"]} | {u[0] for u in load["unacked"]} | {r[0] for r in load["rejected"]}
    lost = [a[0] for a in load["acked"] if a[0] not in by_key]
    duplicated = {k: v for k, v in by_key.items() if len(v) > 1}
    wrong_number = [a for a in load["acked"] if a[0] in by_key and a[2] not in {n for _pk, n in by_key[a[0]]}]
    stored_unacked = [u[0] for u in load["unacked"] if u[0] in by_key]
    unknown = [k for k in by_key if k not in sent]
    if lost:
        errors.append(f"intake: {len(lost)} acknowledged reports are not in the database: {lost[:5]}")
    if duplicated:
        errors.append(f"intake: {len(duplicated)} idempotency keys have more than one case: "
                      f"{list(duplicated.items())[:3]}")
    if wrong_number:
        errors.append(f"intake: {len(wrong_number)} acknowledgements named another case than the one stored: "
                      f"{wrong_number[:3]}")
    if numbers_doubled:
        errors.append(f"intake: case numbers used twice: {numbers_doubled[:5]}")
    if events_doubled:
        errors.append(f"intake: timeline events written twice: {events_doubled[:5]}")
    if no_report_event:
        errors.append(f"intake: {no_report_event} cases without their report event (a half-written report)")
    if unknown:
        errors.append(f"intake: {len(unknown)} cases under keys no client sent: {unknown[:5]}")
    return {"cases_stored": len(rows), "lost": len(lost), "duplicated": len(duplicated),
            "acknowledged_with_wrong_number": len(wrong_number), "case_numbers_doubled": len(numbers_doubled),
            "events_doubled": len(events_doubled), "cases_without_report_event": no_report_event,
            "stored_but_never_acknowledged": len(stored_unacked), "case_statuses": statuses}, errors


# --------------------------------------------------------------------------- part 2: the sweeper

#: group → (escalation level before, expected events after as (action, level))
SWEEP_GROUPS = {
    "overdue_due": (0, [("overdue", 1)]),
    "level_2_due": (1, [("escalate", 2)]),
    "level_3_due": (2, [("escalate", 3)]),
    "warning_due": (0, [("warn", None)]),
    "not_due": (0, []),
}
SWEEP_SHARES = {"overdue_due": 0.4, "level_2_due": 0.2, "level_3_due": 0.15, "warning_due": 0.15, "not_due": 0.1}


def make_sweep_cases(n: int) -> dict:
    """Open, dispatched cases in a 凤凰小巷 grid whose clocks say what the sweeper owes them. Cases
    already at level 1 or 2 carry the timeline events of the levels they reached, as the sweeper
    would have written them."""
    from django.db import transaction
    from django.utils import timezone

    from gongzhi.areas.models import Area
    from gongzhi.cases.choices import Source, Status
    from gongzhi.cases.models import Case, CaseEvent, Category, DirectoryVersion
    from gongzhi.core.demo import FENGHUANG_GRID_NAMES
    from gongzhi.orgs.models import Department


    now = timezone.now()
    grids = list(Area.objects.filter(name__in=FENGHUANG_GRID_NAMES))
    department = Department.objects.get(code=ROUTED_TO)
    category = Category.objects.get(version=DirectoryVersion.objects.get(is_active=True), code=INTAKE_CATEGORY)
    groups: dict[str, list[int]] = {}
    cases, prior = [], []
    i = 0
    for group, share in SWEEP_SHARES.items():
        level, _expected = SWEEP_GROUPS[group]
        for _ in range(max(1, round(n * share))):
            i += 1
            grid = grids[i % len(grids)]
            started = now - datetime.timedelta(days=10, minutes=i % 600)
            if group == "not_due":
                due, warn_at, next_at, warned = now + datetime.timedelta(days=30), now + datetime.timedelta(days=20), \
                    now + datetime.timedelta(days=30), False
            elif group == "warning_due":
                due, warn_at, next_at, warned = now + datetime.timedelta(days=3), now - datetime.timedelta(hours=1), \
                    now + datetime.timedelta(days=3), False
            else:
                due = now - datetime.timedelta(days=3, minutes=i % 600)
                warn_at, warned = due - datetime.timedelta(hours=8), True
                next_at = due if level == 0 else now - datetime.timedelta(minutes=1 + i % 300)
            cases.append(Case(
                number=f"SWEEP-{i:06d}", title="积存垃圾未清运（故障测试）", category=category, source=Source.PATROL,
                status=Status.DISPATCHED, area=grid, area_path=grid.path, department=department,
                created_at=started, filed_at=started, dispatched_at=started, step_started_at=started,
                due_at=due, warn_at=warn_at, warned=warned, overdue=level > 0, escalation_level=level,
                next_escalation_at=next_at))
            groups.setdefault(group, []).append(i)
    with transaction.atomic():
        Case.objects.bulk_create(cases, batch_size=500)
        by_number = dict(Case.objects.filter(number__startswith="SWEEP-").values_list("number", "id"))
        for group in ("level_2_due", "level_3_due"):
            for j in groups[group]:
                pk = by_number[f"SWEEP-{j:06d}"]
                prior.append(CaseEvent(case_id=pk, action="overdue", from_status=Status.DISPATCHED,
                                       to_status=Status.DISPATCHED, data={"level": 1}, at=now))
                if group == "level_3_due":
                    prior.append(CaseEvent(case_id=pk, action="escalate", from_status=Status.DISPATCHED,
                                           to_status=Status.DISPATCHED, data={"level": 2}, at=now))
        CaseEvent.objects.bulk_create(prior, batch_size=1000)
    ids = {group: [by_number[f"SWEEP-{j:06d}"] for j in numbers] for group, numbers in groups.items()}
    return {"ids": ids, "counts": {g: len(v) for g, v in ids.items()},
            "expected_new_events": sum(len(ids[g]) * len(SWEEP_GROUPS[g][1]) for g in ids),
            "prior_events": len(prior)}


def sweep_event_count(db_url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(db_url, autocommit=True, connect_timeout=3) as conn:
            return conn.execute(
                "SELECT count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
                "WHERE c.number LIKE 'SWEEP-%' AND e.action IN ('overdue', 'escalate', 'warn') "
                "AND e.actor_id IS NULL AND e.note <> ''").fetchone()[0]
    except psycopg.OperationalError:
        return None  # PostgreSQL is restarting


def wait_for_open_write(db_url: str, application_name: str, timeout: float) -> str | None:
    """Wait (at most ``timeout`` s) until a backend of ``application_name`` is inside a transaction
    that has written something and not committed (a claim in hand); return its last statement."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True, connect_timeout=5) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT query FROM pg_stat_activity WHERE application_name = %s AND backend_xid IS NOT NULL "
                "AND state IN ('active', 'idle in transaction') AND query ILIKE %s LIMIT 1",
                [application_name, "%cases_case%"]).fetchone()
            if row:
                return row[0]
            time.sleep(0.001)
    return None


class Worker:
    """One ``gongzhi worker`` process (task worker + sweeper thread), its log in a file."""

    def __init__(self, name: str, env: dict, work: Path, sweep_seconds: float):
        self.name, self.work, self.sweep_seconds = name, work, sweep_seconds
        # Its own application_name, so that its backends can be told apart in pg_stat_activity.
        self.application_name = f"gongzhi-faults-worker-{name}"
        self.env = {**env, "DATABASE_URL": f"{env['DATABASE_URL']}?application_name={self.application_name}"}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.exits: list[int] = []
        self.logs: list[Path] = []

    def start(self) -> None:
        self.starts += 1
        path = self.work / f"worker-{self.name}-{self.starts}.log"
        self.logs.append(path)
        self._out = open(path, "wb")
        gongzhi = Path(sys.executable).with_name("gongzhi")
        cmd = ([str(gongzhi)] if gongzhi.exists() else [sys.executable, "-m", "gongzhi.cli"]) + [
            "worker", "--sweep-seconds", str(self.sweep_seconds), "--no-reload", "--worker-id", f"faults-{self.name}"]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def claims(self) -> int:
        """Committed claims this worker logged (the sweeper logs each one after its commit)."""
        return sum(p.read_text(errors="replace").count("sweeper: case ") for p in self.logs if p.exists())

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._out.close()

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self._out.close()


def part_sweeper(args, env: dict, work: Path, pg: PrivatePostgres, db_url: str) -> tuple[dict, list[str]]:
    from django.db import connections

    errors: list[str] = []
    plan = make_sweep_cases(args.sweep_cases)
    connections.close_all()
    expected = plan["expected_new_events"]
    log(f"sweeper: {sum(plan['counts'].values())} cases {plan['counts']}; {expected} events due; "
        f"two workers, a pass every {args.sweep_seconds} s")
    worker_env = {**env, "LOG_LEVEL": "INFO"}
    workers = [Worker("a", worker_env, work, args.sweep_seconds), Worker("b", worker_env, work, args.sweep_seconds)]
    faults: list[dict] = []
    restarts = 0
    victim, survivor = workers
    t0 = time.monotonic()
    try:
        for w in workers:
            w.start()
        done = 0
        deadline = t0 + args.sweep_timeout
        killed = crashed = False
        stable_since = None
        while time.monotonic() < deadline:
            time.sleep(0.1)
            count = sweep_event_count(db_url)
            if count is not None:
                done = count
            # A worker that exits by itself is restarted, as a supervisor would (not the one killed).
            for w in workers:
                if w.proc.poll() is not None and not (w is victim and killed):
                    w.exits.append(w.proc.returncode)
                    w._out.close()
                    restarts += 1
                    log(f"  {time.monotonic() - t0:5.1f} s  worker {w.name} exited ({w.proc.returncode}): restarted")
                    w.start()
            # Kill worker a in the middle of its work: once it has claimed something (or, should
            # worker b have taken everything so far, at half way anyway).
            if not killed and done >= expected * args.kill_at and (victim.claims() > 0 or done >= expected / 2):
                caught = wait_for_open_write(db_url, victim.application_name, timeout=5)
                victim.kill()
                killed = True
                claims_before = victim.claims()
                faults.append({"kind": "worker_sigkill", "at_s": round(time.monotonic() - t0, 2),
                               "events_done": done, "claims_by_killed_worker": claims_before,
                               "inside_a_write_transaction": caught is not None, "last_statement": caught})
                log(f"  {time.monotonic() - t0:5.1f} s  worker a SIGKILLed after {claims_before} claims "
                    f"({done}/{expected} events written), "
                    + (f"inside a transaction that had written (last statement: {caught[:60]}…)" if caught
                       else "not caught inside a write transaction"))
            if (killed and args.sweep_pg_crash and not crashed and done >= expected * args.pg_crash_at):
                crashed = True
                at = round(time.monotonic() - t0, 2)
                fault = pg.crash(args.pg_down)
                fault["at_s"] = at
                fault["events_done"] = done
                faults.append(fault)
                log(f"  {at:5.1f} s  {fault['kind']}: down {fault['down_s']} s ({done}/{expected} events written)")
            if done >= expected and killed and (crashed or not args.sweep_pg_crash):
                stable_since = stable_since or time.monotonic()
                # Two more passes: they must add nothing.
                if time.monotonic() - stable_since > 2.5 * args.sweep_seconds + 1:
                    break
            elif done > expected:
                break
        else:
            errors.append(f"sweeper: not finished after {args.sweep_timeout} s ({done}/{expected} events written)")
        finished_s = round(time.monotonic() - t0, 2)
    finally:
        for w in workers:
            w.stop()
    result, errs = check_sweep(db_url, plan)
    errors += errs
    if not killed:
        errors.append("sweeper: the worker was never killed (the sweep finished before any claim of worker a)")
    result.update({
        "cases": sum(plan["counts"].values()), "groups": plan["counts"], "expected_events": expected,
        "workers": 2, "sweep_seconds": args.sweep_seconds, "wall_s": finished_s, "faults": faults,
        "faults_injected": len(faults), "worker_restarts_by_supervisor": restarts,
        "claims_by_worker": {w.name: w.claims() for w in workers},
        "worker_exits": {w.name: w.exits for w in workers},
    })
    if errors:
        result["worker_log_tail"] = {w.name: w.log_text()[-2000:] for w in workers}
    log(f"  {result['events_written']} events written ({result['claims_by_worker']}), lost {result['lost']}, "
        f"duplicated {result['duplicated']}, unexpected {result['unexpected']}")
    return result, errors


def check_sweep(db_url: str, plan: dict) -> tuple[dict, list[str]]:
    import psycopg

    errors: list[str] = []
    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT e.case_id, e.action, e.data->>'level', (e.note <> '') FROM cases_caseevent e "
            "JOIN cases_case c ON c.id = e.case_id WHERE c.number LIKE 'SWEEP-%' "
            "AND e.action IN ('overdue', 'escalate', 'warn')").fetchall()
        levels = dict(conn.execute("SELECT id, escalation_level FROM cases_case WHERE number LIKE 'SWEEP-%'")
                      .fetchall())
    events: dict[int, list] = {}
    new = 0
    for case_id, action, level, by_sweeper in rows:
        events.setdefault(case_id, []).append((action, int(level) if level is not None else None))
        new += by_sweeper
    lost = duplicated = unexpected = wrong_level = 0
    examples: list[str] = []
    for group, ids in plan["ids"].items():
        before, owed = SWEEP_GROUPS[group]
        for case_id in ids:
            have = events.get(case_id, [])
            want = [("overdue", 1)] if before >= 1 else []
            want += [("escalate", lv) for lv in range(2, before + 1)]
            want += owed
            for item in set(want) | set(have):
                n_have, n_want = have.count(item), want.count(item)
                if n_have < n_want:
                    lost += n_want - n_have
                elif n_have > n_want:
                    if n_want:
                        duplicated += n_have - n_want
                    else:
                        unexpected += n_have
                if n_have != n_want and len(examples) < 5:
                    examples.append(f"{group} case {case_id}: {item} ×{n_have}, expected ×{n_want}")
            level_after = max([lv for _a, lv in want if lv] or [0])
            if levels.get(case_id) != level_after:
                wrong_level += 1
    if lost:
        errors.append(f"sweeper: {lost} escalation events lost: {examples}")
    if duplicated:
        errors.append(f"sweeper: {duplicated} escalation events doubled: {examples}")
    if unexpected or wrong_level:
        errors.append(f"sweeper: {unexpected} unexpected events, {wrong_level} cases at a wrong level: {examples}")
    return {"events_written": new, "lost": lost, "duplicated": duplicated, "unexpected": unexpected,
            "cases_at_wrong_level": wrong_level, **outbox_state(db_url)}, errors


def outbox_state(db_url: str) -> dict:
    """For information: the sweepers' events still waiting for their notifications (the outbox, when
    the code has one), and inbox rows per event and person (a unique constraint keeps them single)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        has_outbox = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'cases_caseevent' "
                                  "AND column_name = 'notified_at'").fetchone()
        if not has_outbox:
            return {}
        pending = conn.execute(
            "SELECT count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id WHERE c.number LIKE "
            "'SWEEP-%' AND e.action IN ('overdue', 'escalate', 'warn') AND e.note <> '' "
            "AND e.notified_at IS NULL").fetchone()[0]
        inbox = conn.execute(
            "SELECT count(*), count(DISTINCT n.user_id) FROM notifications_notification n JOIN cases_caseevent e "
            "ON e.id = n.event_id JOIN cases_case c ON c.id = e.case_id WHERE c.number LIKE 'SWEEP-%' "
            "AND e.note <> ''").fetchone()
        marked_empty = conn.execute(
            "SELECT count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id WHERE c.number LIKE "
            "'SWEEP-%' AND e.action IN ('overdue', 'escalate', 'warn') AND e.note <> '' AND e.notified_at IS NOT NULL "
            "AND jsonb_array_length(coalesce(e.data->'to', '[]'::jsonb)) > 0 AND NOT EXISTS "
            "(SELECT 1 FROM notifications_notification n WHERE n.event_id = e.id)").fetchone()[0]
    return {"notifications_pending_at_end": pending, "inbox_rows": inbox[0], "inbox_people": inbox[1],
            "notified_events_without_inbox_rows": marked_empty}


# --------------------------------------------------------------------------- set-up, report, main


def setup(args, pg: PrivatePostgres, work: Path) -> tuple[str, dict, dict]:
    import psycopg

    with psycopg.connect(pg.url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    db_url = with_database(pg.url, DB_NAME)
    os.environ.update({"DATABASE_URL": db_url, "SECRET_KEY": "faults-" + "k" * 50,
                       "DATABASE_CONN_MAX_AGE": "60", "STATIC_ROOT": str(work / "static")})
    os.environ.pop("DEBUG", None)
    env = dict(os.environ)
    env.update({"GONGZHI_INSECURE_DEV": "1", "ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_SETTINGS_MODULE": "gongzhi.settings", "PYTHONDONTWRITEBYTECODE": "1"})
    import django

    django.setup()
    from cases_data import grid_points, load_directory, make_people
    from django.core.management import call_command
    from django.db import connections

    from gongzhi.core.demo import build_demo_city

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    build_demo_city()
    load_directory()
    people = make_people(args.worker_accounts)
    points, _landed = grid_points(200)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    connections.close_all()
    log(f"set-up: migrated, demo city, directory, {args.worker_accounts} grid workers in "
        f"{time.perf_counter() - t0:.1f} s")
    return db_url, env, {"tokens": people["write_tokens"], "points": points,
                         "setup_s": round(time.perf_counter() - t0, 1)}


def render(result: dict) -> str:
    """The markdown block of docs/reliability.md."""
    i, s = result.get("intake", {}), result.get("sweeper", {})
    pg = result.get("postgres", {})
    lines = [f"Run on **{result['date']}** with `{result['command']}`: "
             f"**{'passed' if result['ok'] else 'FAILED'}** ({result['wall_s']} s in all, "
             f"{result['machine_cores']} cores shared with other work). PostgreSQL {pg.get('server_version', '?')}, "
             f"fsync={pg.get('fsync', '?')}, synchronous_commit={pg.get('synchronous_commit', '?')}.", ""]
    if i:
        web = [f for f in i["faults"] if f["kind"].startswith("gunicorn")]
        db = [f for f in i["faults"] if f["kind"] == "postgres_crash"]
        lines += [
            "#### 1. Intake under faults", "",
            f"{i['clients']} clients, {i['duration_s']} s of new reports through gunicorn `{i['gunicorn']}`; "
            f"retry: {i['retry_policy']['backoff']}, {i['retry_policy']['max_attempts']} attempts, "
            f"{i['retry_policy']['timeout_s']} s per attempt.", "",
            "| | |", "| --- | --- |",
            f"| faults injected | **{i['faults_injected']}**: {len(web)} gunicorn master SIGKILLs"
            + (f" (orphaned workers killed after {result['args']['orphan_grace']} s; down "
               f"{', '.join(str(f['down_s']) for f in web)} s)" if web else "")
            + f", {len(db)} PostgreSQL crashes"
            + (f" (down {', '.join(str(f['down_s']) for f in db)} s)" if db else "") + " |",
            f"| answers dropped by the client (it hangs up after sending, then retries) | "
            f"{i['answers_dropped_by_client']} |",
            f"| reports submitted (distinct keys) | {i['reports']} |",
            f"| attempts | {i['attempts']} |",
            f"| retries | {i['retries']} |",
            f"| failed attempts | {i['attempts'] - i['acknowledged'] - i['rejected']}: "
            + ", ".join(f"{k} {v}" for k, v in sorted({**i['failed_attempts'], **{
                f'HTTP {k}': v for k, v in i['answers'].items() if k not in ('200', '201')}}.items())) + " |",
            f"| acknowledged (200/201) | **{i['acknowledged']}**, {i['acknowledged_on_a_retry']} of them on a retry, "
            f"of which {i['acknowledged_200_existing']} answered `200` with the case an earlier attempt had stored "
            f"(its answer lost) |",
            f"| gave up / refused | {i['gave_up']} / {i['rejected']} |",
            f"| cases stored | {i['cases_stored']} ({', '.join(f'{k} {v}' for k, v in i['case_statuses'].items())}) |",
            f"| **lost** (acknowledged, not stored) | **{i['lost']}** |",
            f"| **duplicated** (a key with two cases) | **{i['duplicated']}** |",
            f"| acknowledged with another number than stored / numbers used twice / events written twice | "
            f"{i['acknowledged_with_wrong_number']} / {i['case_numbers_doubled']} / {i['events_doubled']} |",
            "",
        ]
    if s:
        kill = next((f for f in s["faults"] if f["kind"] == "worker_sigkill"), {})
        crash = next((f for f in s["faults"] if f["kind"] == "postgres_crash"), None)
        lines += [
            "#### 2. Sweeper under faults", "",
            "| | |", "| --- | --- |",
            f"| cases | {s['cases']}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["groups"].items()) + " |",
            f"| events owed | {s['expected_events']} |",
            f"| faults injected | **{s['faults_injected']}**: worker a SIGKILLed at {kill.get('at_s')} s after "
            f"{kill.get('claims_by_killed_worker')} claims ({kill.get('events_done')} events written), "
            + ("inside a claim's transaction that had written and not committed"
               if kill.get("inside_a_write_transaction") else "between transactions")
            + (f"; PostgreSQL crashed at {crash['at_s']} s (down {crash['down_s']} s)" if crash else "") + " |",
            "| claims committed per worker | " + ", ".join(f"{k} {v}" for k, v in s["claims_by_worker"].items())
            + f" (worker restarts by the supervisor: {s['worker_restarts_by_supervisor']}) |",
            f"| events written by the sweepers | {s['events_written']} in {s['wall_s']} s |",
            f"| **lost** / **duplicated** / unexpected | **{s['lost']}** / **{s['duplicated']}** / {s['unexpected']} |",
        ]
        if "notifications_pending_at_end" in s:
            lines.append(f"| notifications (outbox, for information): inbox rows written / events still waiting "
                         f"when the workers stopped / events marked done without any inbox row | {s['inbox_rows']} / "
                         f"{s['notifications_pending_at_end']} / {s['notified_events_without_inbox_rows']} |")
        lines += [
            "",
        ]
    if result["errors"]:
        lines += ["Errors:", ""] + [f"- {e}" for e in result["errors"]] + [""]
    return "\n".join(lines)


def rewrite_doc(section: str) -> None:
    import re

    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Reliability\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="clients submitting reports at once")
    parser.add_argument("--duration", type=float, default=45, help="seconds during which new reports are sent")
    parser.add_argument("--gunicorn", default="sync:2", help="gunicorn worker class:workers[xthreads] (gongzhi serve: sync, WEB_CONCURRENCY=2)")
    parser.add_argument("--web-kills", type=int, default=3, help="gunicorn master SIGKILLs during intake")
    parser.add_argument("--pg-crashes", type=int, default=3, help="PostgreSQL crashes during intake")
    parser.add_argument("--pg-down", type=float, default=1.0, help="seconds PostgreSQL stays down per crash")
    parser.add_argument("--orphan-grace", type=float, default=0.5,
                        help="seconds the orphaned gunicorn workers live on after their master is killed")
    parser.add_argument("--drop-answer", type=float, default=0.05,
                        help="share of reports whose first answer the client never reads (it hangs up after sending)")
    parser.add_argument("--timeout", type=float, default=10, help="client timeout per attempt (s)")
    parser.add_argument("--max-attempts", type=int, default=30)
    parser.add_argument("--backoff-base", type=float, default=0.1)
    parser.add_argument("--backoff-cap", type=float, default=2.0)
    parser.add_argument("--worker-accounts", type=int, default=8)
    parser.add_argument("--sweep-cases", type=int, default=800)
    parser.add_argument("--sweep-seconds", type=float, default=1.0, help="seconds between a worker's sweeps")
    parser.add_argument("--kill-at", type=float, default=0.25, help="kill worker a once this share is done")
    parser.add_argument("--sweep-pg-crash", action=argparse.BooleanOptionalAction, default=True,
                        help="crash PostgreSQL once while the surviving worker sweeps")
    parser.add_argument("--pg-crash-at", type=float, default=0.6)
    parser.add_argument("--sweep-timeout", type=float, default=150, help="seconds the sweep may take in all")
    parser.add_argument("--pg-option", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra PostgreSQL setting, e.g. synchronous_commit=off to see the test catch "
                             "a loss (repeatable)")
    parser.add_argument("--skip", default="", help="parts to leave out: intake,sweeper")
    parser.add_argument("--no-write", action="store_true", help="leave docs/reliability.md alone")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs directory (its path is printed)")
    args = parser.parse_args(argv)
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    started = time.monotonic()
    # CI stops jobs with SIGTERM: unwind, so that the cluster, gunicorn and the workers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        pg = PrivatePostgres(options=args.pg_option)
        pg.start()
    except PostgresUnavailable as exc:
        log(f"faults: cannot make a private PostgreSQL cluster here: {exc}")
        print(json.dumps({"benchmark": "faults", "ok": False, "skipped": True, "errors": [str(exc)]}))
        return 2
    work = Path(tempfile.mkdtemp(prefix="gongzhi-faults-"))
    errors: list[str] = []
    result: dict = {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
                    "command": " ".join(["bench/faults.py", *(sys.argv[1:] if argv is None else argv)]),
                    "machine_cores": os.cpu_count(), "args": vars(args)}
    try:
        result["postgres"] = pg.settings()
        log(f"private PostgreSQL {result['postgres']['server_version']} on port {pg.port} in {pg.root}")
        db_url, env, people = setup(args, pg, work)
        result["setup_s"] = people["setup_s"]
        if "intake" not in skip:
            result["intake"], errs = part_intake(args, env, work, pg, db_url, people["tokens"], people["points"])
            errors += errs
        if "sweeper" not in skip:
            result["sweeper"], errs = part_sweeper(args, env, work, pg, db_url)
            errors += errs
    except Exception as exc:  # report, then clean up
        import traceback

        traceback.print_exc()
        errors.append(f"{type(exc).__name__}: {exc}")
        result["postgres_log_tail"] = pg.log_tail()
    finally:
        from django.db import connections

        connections.close_all()
        pg.stop()
        if args.keep_logs:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result.update({"ok": not errors, "errors": errors, "wall_s": round(time.monotonic() - started, 1)})
    section = render(result)
    print(json.dumps({"benchmark": "faults", **result}, indent=2, ensure_ascii=False, default=str))
    print("\n" + section, file=sys.stderr)
    if not args.no_write:
        rewrite_doc(section)
        log(f"wrote the results into {DOC.relative_to(REPO)}")
    return 0 if not errors else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_loadgen":
        from faults_load import main as loadgen_main

        sys.exit(loadgen_main())
    sys.exit(main())
