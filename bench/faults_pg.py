"""bench/faults.py, part 1: a private PostgreSQL cluster that the fault tests may crash at will.

The machine's shared PostgreSQL server (other work and CI use it) is never touched: ``initdb`` into
a temporary directory with the binaries under ``/usr/lib/postgresql/<version>/bin``, a free port on
127.0.0.1, its socket in that directory, ``fsync`` and ``synchronous_commit`` on (the production
settings that make a commit durable before the answer). PostgreSQL refuses to run as root, so when
this script runs as root the cluster belongs to the ``postgres`` user and every ``initdb`` /
``pg_ctl`` runs through ``runuser -u postgres`` (or ``su``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cases_http import free_port


class PostgresUnavailable(RuntimeError):
    """The private cluster can't be made here (no binaries, or no user to run them as)."""


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has initdb, or $PG_BINDIR."""
    if os.environ.get("PG_BINDIR"):
        bindir = Path(os.environ["PG_BINDIR"])
        if (bindir / "initdb").exists():
            return bindir
        raise PostgresUnavailable(f"PG_BINDIR={bindir} has no initdb")
    found = []
    for path in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        try:
            found.append((float(path.parent.parent.name), path.parent))
        except ValueError:
            continue
    if not found:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                                  "(apt-get install postgresql, or set PG_BINDIR)")
    return max(found)[1]


class PrivatePostgres:
    """initdb + start on a free port; ``crash()`` kills it with ``-m immediate`` and starts it again."""

    def __init__(self, *, prefix: str = "gongzhi-faults-pg-", options: list[str] | None = None):
        self.extra_options = list(options or [])
        self.bindir = find_bindir()
        self.run_as = self._user()
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        self.crashes: list[dict] = []
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)

    @staticmethod
    def _user() -> str | None:
        """None when we are not root (run the binaries as ourselves), else the user to run them as."""
        if os.geteuid() != 0:
            return None
        for name in (os.environ.get("PG_RUN_AS", ""), "postgres"):
            if not name:
                continue
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            if shutil.which("runuser") or shutil.which("su"):
                return name
        raise PostgresUnavailable("running as root, and there is no 'postgres' user (or PG_RUN_AS) to run a "
                                  "private PostgreSQL cluster as: PostgreSQL refuses to run as root")

    def _cmd(self, *argv: str) -> list[str]:
        if self.run_as is None:
            return list(argv)
        if shutil.which("runuser"):
            return ["runuser", "-u", self.run_as, "--", *argv]
        import shlex

        return ["su", self.run_as, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, *argv: str, timeout: float = 120) -> str:
        # stdin/stdout to files, not pipes: a server started here must not hold our pipe open.
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.run(self._cmd(*argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  text=True, timeout=timeout, cwd=self.root)
            out.seek(0)
            output = out.read()
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(argv[:2])} failed ({proc.returncode}): "
                                      f"{output[-1500:]}\n{self.log_tail()}")
        return output

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PrivatePostgres:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
        self._start()
        return self

    def _start(self) -> None:
        options = " ".join([
            f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.root}",
            "-c fsync=on", "-c synchronous_commit=on", "-c full_page_writes=on", "-c max_connections=100",
            "-c shared_buffers=64MB", "-c log_min_messages=warning",
            *(f"-c {option}" for option in self.extra_options),
        ])
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", options,
                  "-w", "-t", "60", "start")

    def crash(self, down: float = 0.0) -> dict:
        """A crash: ``pg_ctl stop -m immediate`` (every backend killed, no checkpoint, no clean
        shutdown), ``down`` seconds with no server, then a start through WAL recovery — the same as
        ``pg_ctl restart -m immediate`` with the server kept down a moment, as when a supervisor
        restarts it. Returns how long clients had no server."""
        t0 = time.monotonic()
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")
        if down > 0:
            time.sleep(down)
        self._start()
        self._wait_ready()
        fault = {"kind": "postgres_crash", "down_s": round(time.monotonic() - t0, 2)}
        self.crashes.append(fault)
        return fault

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                                   "postgres", "-d", "postgres", "-q"],
                                  check=False)
            if proc.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"private PostgreSQL not ready {timeout} s after a restart\n{self.log_tail()}")

    def settings(self) -> dict:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
                                "'full_page_writes', 'wal_sync_method', 'server_version')").fetchall()
        return dict(rows)

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            except (PostgresUnavailable, subprocess.TimeoutExpired):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
