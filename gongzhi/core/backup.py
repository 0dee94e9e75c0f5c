"""Backup and restore of the database and the media files in one archive (docs/operations.md).

The archive is a ``.tar.gz``::

    db/<table>.jsonl      one JSON array per row, the table's columns in the manifest's order
    media/<name>          every file of the default storage
    manifest.json         written last: format version, migration state, per-table row counts and
                          checksums, the sha256 of every file in the archive

The dump is portable: values are read through the ORM with the *historical* models of the
migration state the database is at (the models the migrations describe, not today's code), written
in a canonical JSON form, and inserted on restore with plain ``INSERT`` statements — no ``save()``
runs (``core.AuditLog`` refuses updates), no ``auto_now`` touches a date, and a SQLite backup
restores into PostgreSQL and back. A table's checksum is the sum (mod 2²⁵⁶) of the sha256 of its
canonical rows, so it does not depend on the order a database returns rows in; a restore
recomputes it from the restored database and compares.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.translation import gettext as _

FORMAT = "gongzhi-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Not backed up: sessions (a restore logs everyone out, and no session outlives its database).
SKIPPED_TABLES = frozenset({"django_session"})
INSERT_BATCH = 1000
READ_CHUNK = 2000
MOD = 2**256

Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator (translated)."""


def _quiet(_message: str) -> None:
    pass


# ---------------------------------------------------------------------------------------------
# Canonical rows and checksums.
# ---------------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A value as the ORM returns it → its canonical JSON form (dates in UTC, decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list):
        return value  # JSONField content
    return str(value)


def line_of(values: Iterable[Any]) -> str:
    return json.dumps([encode(v) for v in values], ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class TableSum:
    """Row count and order-independent checksum of a table's canonical lines."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, line: str) -> None:
        self.rows += 1
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")) % MOD

    @property
    def checksum(self) -> str:
        return f"{self._sum:064x}"


# ---------------------------------------------------------------------------------------------
# Migration state and the historical models.
# ---------------------------------------------------------------------------------------------


def applied_state(alias: str = "default") -> dict[str, list[str]]:
    """{app label: [applied migration names, sorted]} of a database."""
    state: dict[str, list[str]] = {}
    for app, name in MigrationRecorder(connections[alias]).applied_migrations():
        state.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(state.items())}


def _loader(alias: str) -> MigrationLoader:
    return MigrationLoader(connections[alias], ignore_no_migrations=True)


def unknown_migrations(state: dict[str, list[str]], loader: MigrationLoader) -> list[str]:
    return [f"{app}.{name}" for app, names in state.items() for name in names
            if (app, name) not in loader.graph.nodes]


def targets_for(state: dict[str, list[str]], loader: MigrationLoader) -> list[tuple[str, str | None]]:
    """Migration targets that bring a database to exactly ``state`` (apps absent from it: none)."""
    targets: list[tuple[str, str | None]] = []
    apps_in_graph = {app for app, _name in loader.graph.nodes}
    for app in sorted(apps_in_graph | set(state)):
        names = set(state.get(app, ()))
        if not names:
            targets.append((app, None))
            continue
        leaves = set(names)
        for name in names:
            leaves -= {parent[1] for parent in loader.graph.node_map[(app, name)].parents if parent[0] == app}
        targets.extend((app, leaf) for leaf in sorted(leaves))
    return targets


def historical_models(state: dict[str, list[str]], loader: MigrationLoader) -> list:
    """The concrete tables of the migration state, one model per table, in a stable order."""
    nodes = [(app, name) for app, names in state.items() for name in names]
    apps = loader.project_state(nodes, at_end=True).apps
    seen: dict[str, Any] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in SKIPPED_TABLES or meta.db_table in seen:
            continue
        seen[meta.db_table] = model
    return [seen[table] for table in sorted(seen)]


def table_rows(model, alias: str) -> Iterator[str]:
    """The canonical lines of a table, read through the (historical) model."""
    attnames = [f.attname for f in model._meta.concrete_fields]
    queryset = model._base_manager.using(alias).order_by("pk").values_list(*attnames)
    for values in queryset.iterator(chunk_size=READ_CHUNK):
        yield line_of(values)


def measure(models: list, alias: str) -> dict[str, dict[str, Any]]:
    """{table: {"rows": n, "checksum": hex}} of a database, recomputed from its rows."""
    result = {}
    for model in models:
        total = TableSum()
        for line in table_rows(model, alias):
            total.add(line)
        result[model._meta.db_table] = {"rows": total.rows, "checksum": total.checksum}
    return result


# ---------------------------------------------------------------------------------------------
# Media.
# ---------------------------------------------------------------------------------------------


def media_names(storage: Storage, path: str = "") -> Iterator[str]:
    """Every file name in a storage (recursive; works for the file system and S3-like storages)."""
    try:
        dirs, files = storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files):
        yield f"{path}/{name}" if path else name
    for name in sorted(dirs):
        yield from media_names(storage, f"{path}/{name}" if path else name)


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def _sha256_of(fh: IO[bytes]) -> str:
    sha = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        sha.update(chunk)
    return sha.hexdigest()


# ---------------------------------------------------------------------------------------------
# Backup.
# ---------------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"])


def _snapshot(alias: str):
    """Read everything in one consistent snapshot while the site keeps running."""
    connection = connections[alias]

    class Snapshot:
        def __enter__(self):
            self.own = not connection.in_atomic_block
            if not self.own:
                return self  # already inside a transaction (tests): that is the snapshot
            if connection.vendor == "postgresql":
                self.atomic = transaction.atomic(using=alias)
                self.atomic.__enter__()
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            elif connection.vendor == "sqlite":
                # A deferred read transaction: WAL gives a snapshot and writers are not blocked.
                connection.ensure_connection()
                connection.connection.execute("BEGIN DEFERRED")
            return self

        def __exit__(self, *exc):
            if not self.own:
                return False
            if connection.vendor == "postgresql":
                return self.atomic.__exit__(*exc)
            if connection.vendor == "sqlite":
                connection.connection.execute("ROLLBACK")
            return False

    return Snapshot()


def backup(path: str | os.PathLike, *, alias: str = "default", storage: Storage | None = None,
           media: bool = True, say: Say = _quiet) -> BackupResult:
    """Write the database ``alias`` and the media files of ``storage`` into one archive at ``path``."""
    started = time.monotonic()
    target = Path(path)
    if target.exists() and target.is_dir():
        raise BackupError(_("%(path)s 是一个目录，请给出备份文件名（如 gongzhi-backup.tar.gz）。") % {"path": target})
    storage = storage if storage is not None else storages["default"]
    connection = connections[alias]
    partial = target.with_name(target.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_at": timezone.now().astimezone(datetime.UTC).isoformat(timespec="seconds"),
        "gongzhi_version": _version(), "database_vendor": connection.vendor,
        "skipped_tables": sorted(SKIPPED_TABLES), "tables": [], "media": [], "media_included": media,
    }
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar, \
                tempfile.TemporaryDirectory(prefix="gongzhi-backup-") as tmp:
            with _snapshot(alias):
                state = applied_state(alias)
                if not state:
                    raise BackupError(_("数据库尚未初始化（没有已执行的迁移），无可备份。"))
                loader = _loader(alias)
                unknown = unknown_migrations(state, loader)
                if unknown:
                    raise BackupError(_("数据库含有本版本不认识的迁移：%(names)s。请用对应版本的 gongzhi 备份。")
                                      % {"names": ", ".join(unknown)})
                manifest["migrations"] = state
                say(_("数据库（%(vendor)s）…") % {"vendor": connection.vendor})
                for model in historical_models(state, loader):
                    entry = _dump_table(model, alias, tar, Path(tmp))
                    manifest["tables"].append(entry)
                    say(f"  {entry['table']:<40} {entry['rows']:>10}")
            if media:
                say(_("媒体文件…"))
                for name in media_names(storage):
                    manifest["media"].append(_add_media(tar, storage, name))
                say(_("  %(n)s 个文件，共 %(size)s 字节") % {
                    "n": len(manifest["media"]), "size": sum(m["size"] for m in manifest["media"])})
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(path=target, manifest=manifest, seconds=time.monotonic() - started)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gongzhi")
    except PackageNotFoundError:
        return "unknown"


def _dump_table(model, alias: str, tar: tarfile.TarFile, tmp: Path) -> dict[str, Any]:
    table = model._meta.db_table
    total = TableSum()
    sha = hashlib.sha256()
    scratch = tmp / f"{table}.jsonl"
    with scratch.open("wb") as fh:
        for line in table_rows(model, alias):
            total.add(line)
            data = line.encode() + b"\n"
            sha.update(data)
            fh.write(data)
    member = f"db/{table}.jsonl"
    info = tar.gettarinfo(str(scratch), arcname=member)
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    with scratch.open("rb") as fh:
        tar.addfile(info, fh)
    scratch.unlink()
    return {"table": table, "model": model._meta.label_lower,
            "columns": [f.column for f in model._meta.concrete_fields],
            "rows": total.rows, "checksum": total.checksum, "file": member, "sha256": sha.hexdigest()}


def _add_media(tar: tarfile.TarFile, storage: Storage, name: str) -> dict[str, Any]:
    size = storage.size(name)
    info = tarfile.TarInfo(f"media/{name}")
    info.size, info.mode = size, 0o600
    try:
        info.mtime = int(storage.get_modified_time(name).timestamp())
    except (NotImplementedError, OSError):
        info.mtime = int(time.time())
    with storage.open(name, "rb") as fh:
        reader = _HashingReader(fh)
        tar.addfile(info, reader)
    return {"name": name, "size": size, "sha256": reader.sha.hexdigest()}


# ---------------------------------------------------------------------------------------------
# Restore.
# ---------------------------------------------------------------------------------------------


@dataclass
class TableCheck:
    table: str
    expected_rows: int
    rows: int | None
    expected_checksum: str
    checksum: str | None

    @property
    def ok(self) -> bool:
        return self.rows == self.expected_rows and self.checksum == self.expected_checksum


@dataclass
class RestorePlan:
    manifest: dict
    target_state: dict[str, list[str]]
    target_holds_data: bool
    migrate_plan: list[str]
    forward_plan: list[str]
    media_conflicts: list[str]


@dataclass
class RestoreResult:
    plan: RestorePlan
    committed: bool
    tables: list[TableCheck] = field(default_factory=list)
    media_missing: list[str] = field(default_factory=list)
    migrated_forward: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables) and not self.media_missing


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(_("这不是 gongzhi 备份文件：缺少 manifest.json。")) from None
    fh = tar.extractfile(member)
    if fh is None:
        raise BackupError(_("这不是 gongzhi 备份文件：缺少 manifest.json。"))
    try:
        manifest = json.loads(fh.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError(_("备份文件的 manifest.json 已损坏。")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("这不是 gongzhi 备份文件。"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(_("备份格式版本 %(found)s 不受支持（本版本支持 %(supported)s）。") % {
            "found": manifest.get("format_version"), "supported": FORMAT_VERSION})
    return manifest


def open_archive(path: str | os.PathLike) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:*")
    except FileNotFoundError:
        raise BackupError(_("找不到备份文件 %(path)s。") % {"path": path}) from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(_("无法读取备份文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from None


def holds_data(alias: str) -> bool:
    """Whether a database is in use: it has user accounts or audit rows (every change writes one).

    Reference rows that ``migrate`` itself creates (area levels, roles, the calendar seed…) don't count.
    """
    from django.apps import apps

    connection = connections[alias]
    tables = set(connection.introspection.table_names())
    for label in ("orgs.User", "core.AuditLog"):
        model = apps.get_model(label)
        if model._meta.db_table in tables and model._base_manager.using(alias).exists():
            return True
    return False


def plan_restore(tar: tarfile.TarFile, *, alias: str = "default", storage: Storage | None = None) -> RestorePlan:
    """Check the archive (manifest, every file's sha256) and the target; say what a restore would do."""
    manifest = read_manifest(tar)
    storage = storage if storage is not None else storages["default"]
    loader = _loader(alias)
    unknown = unknown_migrations(manifest.get("migrations", {}), loader)
    if unknown:
        raise BackupError(_("备份来自更新的版本，含有本版本不认识的迁移：%(names)s。请先升级 gongzhi。")
                          % {"names": ", ".join(unknown)})
    _check_files(tar, manifest)
    executor = MigrationExecutor(connections[alias])
    to_backup = executor.migration_plan(targets_for(manifest["migrations"], loader), clean_start=False)
    in_backup = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    forward = sorted(f"{app}.{name}" for app, name in set(loader.graph.nodes) - in_backup)
    conflicts = []
    for entry in manifest.get("media", []):
        name = entry["name"]
        if storage.exists(name):
            with storage.open(name, "rb") as fh:
                if _sha256_of(fh) != entry["sha256"]:
                    conflicts.append(name)
    return RestorePlan(
        manifest=manifest, target_state=applied_state(alias),
        target_holds_data=holds_data(alias),
        migrate_plan=[f"{m.app_label}.{m.name}" + (" (unapply)" if backwards else "") for m, backwards in to_backup],
        forward_plan=forward, media_conflicts=conflicts,
    )


def _check_files(tar: tarfile.TarFile, manifest: dict) -> None:
    """Every table file and media file is in the archive and matches its sha256 (a corrupt archive stops here)."""
    expected = {t["file"]: t["sha256"] for t in manifest.get("tables", [])}
    expected.update({f"media/{m['name']}": m["sha256"] for m in manifest.get("media", [])})
    for member in tar:
        want = expected.pop(member.name, None)
        if want is None:
            continue
        fh = tar.extractfile(member)
        if fh is None or _sha256_of(fh) != want:
            raise BackupError(_("备份文件已损坏：%(name)s 的校验值不符。") % {"name": member.name})
    if expected:
        raise BackupError(_("备份文件不完整，缺少：%(names)s") % {"names": ", ".join(sorted(expected)[:10])})


def restore(path: str | os.PathLike, *, alias: str = "default", storage: Storage | None = None,
            commit: bool = False, force: bool = False, migrate_forward: bool = True,
            say: Say = _quiet, plan: RestorePlan | None = None) -> RestoreResult:
    """Restore an archive into database ``alias`` and ``storage``; a dry run (checks only) unless ``commit``.

    ``plan``: the result of ``plan_restore`` on the same archive and target, to skip checking again.
    """
    started = time.monotonic()
    storage = storage if storage is not None else storages["default"]
    with open_archive(path) as tar:
        plan = plan or plan_restore(tar, alias=alias, storage=storage)
        if (plan.target_holds_data or plan.media_conflicts) and not force:
            raise BackupError(_("目标数据库或媒体目录已有数据（账号、审计记录或不同的同名文件）。"
                                "恢复会覆盖它们；确认后加 --force。"))
        result = RestoreResult(plan=plan, committed=False)
        if not commit:
            return result
        connection = connections[alias]
        manifest = plan.manifest
        if plan.migrate_plan:
            say(_("迁移数据库结构到备份时的版本…"))
            loader = _loader(alias)
            executor = MigrationExecutor(connection)
            executor.migrate(targets_for(manifest["migrations"], loader))
        loader = _loader(alias)
        models = {m._meta.db_table: m for m in historical_models(manifest["migrations"], loader)}
        tables = manifest["tables"]
        missing = [t["table"] for t in tables if t["table"] not in models]
        if missing:
            raise BackupError(_("备份中的表在该迁移状态下不存在：%(names)s") % {"names": ", ".join(missing)})
        say(_("载入数据…"))
        with transaction.atomic(using=alias):
            flush = connection.ops.sql_flush(no_style(), list(models), reset_sequences=False, allow_cascade=True)
            connection.ops.execute_sql_flush(flush)
            members = {t["file"]: t for t in tables}
            for member in tar:
                entry = members.get(member.name)
                if entry is None:
                    continue
                fh = tar.extractfile(member)
                assert fh is not None
                count = _load_table(models[entry["table"]], entry, fh, alias)
                say(f"  {entry['table']:<40} {count:>10}")
            reset = connection.ops.sequence_reset_sql(no_style(), list(models.values()))
            if reset:
                with connection.cursor() as cursor:
                    for sql in reset:
                        cursor.execute(sql)
        if manifest.get("media"):
            say(_("媒体文件…"))
            _restore_media(tar, manifest, storage)
        say(_("校验…"))
        measured = measure(list(models.values()), alias)
        for entry in tables:
            got = measured.get(entry["table"], {})
            result.tables.append(TableCheck(entry["table"], entry["rows"], got.get("rows"), entry["checksum"],
                                            got.get("checksum")))
        for entry in manifest.get("media", []):
            if not storage.exists(entry["name"]):
                result.media_missing.append(entry["name"])
                continue
            with storage.open(entry["name"], "rb") as fh:
                if _sha256_of(fh) != entry["sha256"]:
                    result.media_missing.append(entry["name"])
        result.committed = True
        if result.ok and migrate_forward and plan.forward_plan:
            from django.core.management import call_command

            say(_("升级数据库到当前版本…"))
            call_command("migrate", database=alias, interactive=False, verbosity=0)
            result.migrated_forward = plan.forward_plan
    result.seconds = time.monotonic() - started
    return result


def _load_table(model, entry: dict, fh: IO[bytes], alias: str) -> int:
    connection = connections[alias]
    fields = list(model._meta.concrete_fields)
    if [f.column for f in fields] != entry["columns"]:
        raise BackupError(_("表 %(table)s 的列与备份不一致。") % {"table": entry["table"]})
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        qn(entry["table"]), ", ".join(qn(c) for c in entry["columns"]), ", ".join(["%s"] * len(fields)))
    count = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for raw_line in fh:
            values = json.loads(raw_line)
            batch.append([None if v is None else f.get_db_prep_save(f.to_python(v), connection)
                          for f, v in zip(fields, values, strict=True)])
            if len(batch) >= INSERT_BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _restore_media(tar: tarfile.TarFile, manifest: dict, storage: Storage) -> None:
    wanted = {f"media/{m['name']}": m for m in manifest["media"]}
    for member in tar:
        entry = wanted.get(member.name)
        if entry is None:
            continue
        name = entry["name"]
        if storage.exists(name):
            with storage.open(name, "rb") as fh:
                if _sha256_of(fh) == entry["sha256"]:
                    continue
            storage.delete(name)
        fh = tar.extractfile(member)
        assert fh is not None
        saved = storage.save(name, File(fh, name=os.path.basename(name)))
        if saved != name:
            raise BackupError(_("媒体文件 %(name)s 被存储改名为 %(saved)s。") % {"name": name, "saved": saved})
