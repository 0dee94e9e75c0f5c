"""Backup and restore: the demo city with photos, backed up and restored into an EMPTY fresh database
(a second SQLite file, or a second PostgreSQL database made here), compared table by table."""

from __future__ import annotations

import copy
import io
import tarfile
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from PIL import Image

from gongzhi.areas import geo
from gongzhi.cases import photos
from gongzhi.cases.demo import build_demo_cases
from gongzhi.cases.models import Case, CasePhoto
from gongzhi.conftest import ensure_reference_data
from gongzhi.core import audit, backup
from gongzhi.core.demo import build_demo_city
from gongzhi.core.models import AuditLog

pytestmark = pytest.mark.django_db

TARGET = "restore_target"


def jpeg(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def media(tmp_path, settings) -> FileSystemStorage:
    location = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}}
    return FileSystemStorage(location=str(location))


@pytest.fixture
def city(media):
    """The demo city and its cases, three of them with photos, and a sealed audit chain."""
    ensure_reference_data()
    geo.forget_index()
    build_demo_city()
    build_demo_cases()
    for n, case in enumerate(Case.objects.order_by("pk")[:3]):
        photos.save_photo(case, SimpleUploadedFile(f"p{n}.jpg", jpeg((40 * n, 90, 200)), content_type="image/jpeg"),
                          stage="report")
    audit.seal()
    assert CasePhoto.objects.count() == 3


def _create_pg_database(cfg: dict) -> None:
    import psycopg

    with psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                         password=cfg["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def _drop_pg_database(cfg: dict) -> None:
    import psycopg

    with psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                         password=cfg["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')


@pytest.fixture
def target(db, tmp_path) -> str:
    """A second, empty database (no tables at all) under the alias ``restore_target``."""
    cfg = copy.deepcopy(connections.settings["default"])
    if connection.vendor == "sqlite":
        cfg["NAME"] = str(tmp_path / "restored.sqlite3")
    else:
        cfg["NAME"] = f"{connection.settings_dict['NAME']}_restore"[:63]
        _create_pg_database(cfg)
    yield from _attach(cfg)


@pytest.fixture
def sqlite_target(db, tmp_path) -> str:
    """An empty SQLite file, whatever the suite runs on."""
    cfg = copy.deepcopy(connections.settings["default"])
    cfg.update(ENGINE="django.db.backends.sqlite3", NAME=str(tmp_path / "restored.sqlite3"), HOST="", PORT="",
               USER="", PASSWORD="", OPTIONS={"transaction_mode": "IMMEDIATE", "timeout": 20})
    yield from _attach(cfg)


def _attach(cfg: dict):
    # A dynamically created connection (not in settings), which Django's test case allows.
    connections.settings[TARGET] = cfg
    try:
        wrapper = connections.create_connection(TARGET)
    finally:
        del connections.settings[TARGET]
    connections[TARGET] = wrapper
    try:
        yield TARGET
    finally:
        wrapper.close()
        del connections[TARGET]
        if cfg["ENGINE"].endswith("postgresql"):
            _drop_pg_database(cfg)


def test_backup_restores_into_an_empty_database_with_the_same_data(city, media, target, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    made = backup.backup(archive, storage=media)
    manifest = made.manifest
    assert (archive.stat().st_mode & 0o777) == 0o600
    tables = {t["table"]: t for t in manifest["tables"]}
    assert tables["core_auditlog"]["rows"] == AuditLog.objects.count() > 0
    assert tables["cases_case"]["rows"] == Case.objects.count() >= 7
    assert tables["orgs_user_groups"]["rows"] == 0  # auto-created many-to-many tables are included
    assert "django_session" not in tables and "django_migrations" not in tables
    assert manifest["migrations"]["core"][-1] == backup.applied_state()["core"][-1]
    assert len(manifest["media"]) == 9  # three photos, three copies each
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1] == "manifest.json" and "db/cases_case.jsonl" in names

    # The source, measured now, is what the manifest says.
    models = backup.historical_models(manifest["migrations"], backup._loader("default"))
    source = backup.measure(models, "default")
    assert {t: {"rows": e["rows"], "checksum": e["checksum"]} for t, e in tables.items()} == source

    restored_media = FileSystemStorage(location=str(tmp_path / "restored-media"))
    assert connections[TARGET].introspection.table_names() == []

    # A dry run checks everything and writes nothing.
    dry = backup.restore(archive, alias=target, storage=restored_media)
    assert not dry.committed and dry.plan.migrate_plan and not dry.plan.target_holds_data
    assert connections[TARGET].introspection.table_names() == []
    assert not list(backup.media_names(restored_media))

    result = backup.restore(archive, alias=target, storage=restored_media, commit=True)
    assert result.committed and result.ok, [t for t in result.tables if not t.ok]
    assert {t.table for t in result.tables} == set(tables)

    # Compare the restored database with the source, table by table (counts and checksums).
    assert backup.measure(models, target) == source
    for entry in manifest["media"]:
        with media.open(entry["name"], "rb") as a, restored_media.open(entry["name"], "rb") as b:
            assert a.read() == b.read()

    # Sequences continue after the restored ids (PostgreSQL): a new row takes a fresh id.
    top = Case.objects.using(target).order_by("-pk").values_list("pk", flat=True).first()
    new = AuditLog.objects.using(target).create(actor_name="system", action="test.after_restore")
    assert new.pk > AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert top == Case.objects.order_by("-pk").values_list("pk", flat=True).first()

    # The target now holds data: a second restore is refused without --force, allowed with it.
    with pytest.raises(backup.BackupError):
        backup.restore(archive, alias=target, storage=restored_media, commit=True)
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(archive), "--database", target, stdout=io.StringIO())
    out = io.StringIO()
    call_command("restore", str(archive), "--database", target, "--force", stdout=out)  # a dry run
    assert "--commit" in out.getvalue()
    assert AuditLog.objects.using(target).filter(action="test.after_restore").exists()

    # The commands: backup, then restore --commit --force, which prints the comparison table.
    second = tmp_path / "second.tar.gz"
    out = io.StringIO()
    call_command("backup", str(second), stdout=out)
    assert "cases_case" in out.getvalue() and second.exists()
    out = io.StringIO()
    call_command("restore", str(second), "--database", target, "--commit", "--force", stdout=out)
    text = out.getvalue()
    assert "core_auditlog" in text and "恢复完成" in text
    assert not AuditLog.objects.using(target).filter(action="test.after_restore").exists()
    assert backup.measure(models, target) == backup.measure(models, "default")


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the cross-engine case starts from PostgreSQL")
def test_a_postgresql_backup_restores_into_sqlite(city, media, sqlite_target, tmp_path):
    archive = tmp_path / "pg.tar.gz"
    manifest = backup.backup(archive, media=False).manifest
    assert manifest["database_vendor"] == "postgresql"
    result = backup.restore(archive, alias=sqlite_target, commit=True)
    assert result.ok, [t for t in result.tables if not t.ok]
    assert connections[TARGET].vendor == "sqlite"
    models = backup.historical_models(manifest["migrations"], backup._loader("default"))
    assert backup.measure(models, sqlite_target) == {
        t["table"]: {"rows": t["rows"], "checksum": t["checksum"]} for t in manifest["tables"]}


def test_restore_into_a_database_in_use_is_refused_without_force(city, media, tmp_path):
    archive = tmp_path / "b.tar.gz"
    call_command("backup", str(archive), "--no-media", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(archive), stdout=io.StringIO())
    with pytest.raises(backup.BackupError):
        backup.restore(archive, commit=True)


def test_a_damaged_or_foreign_archive_is_refused(city, media, target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    backup.backup(archive, storage=media)
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as tar:
        for member, data in members:
            if member.name == "db/cases_case.jsonl":
                data = data.replace(b"\"", b"'", 1)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with pytest.raises(backup.BackupError, match="cases_case"):
        backup.restore(damaged, alias=target, commit=True)
    assert connections[TARGET].introspection.table_names() == []

    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        tar.add(__file__, arcname="hello.py")
    with pytest.raises(CommandError, match="manifest"):
        call_command("restore", str(foreign), "--database", target, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("restore", str(tmp_path / "missing.tar.gz"), stdout=io.StringIO())
    (tmp_path / "not-an-archive.tar.gz").write_bytes(b"plain text")
    with pytest.raises(CommandError):
        call_command("restore", str(tmp_path / "not-an-archive.tar.gz"), stdout=io.StringIO())
    assert Path(archive).exists()
