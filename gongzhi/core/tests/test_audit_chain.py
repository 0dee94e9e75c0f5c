"""The audit hash chain: sealing, tamper detection, purge with checkpoints, retention, export."""

from __future__ import annotations

import csv
import datetime
import io
import json
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from gongzhi.core import audit, checks
from gongzhi.core.models import AuditChain, AuditCheckpoint, AuditLog
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db


def rows(n: int, *, days_ago: float = 0, action: str = "test.act") -> list[AuditLog]:
    at = timezone.now() - datetime.timedelta(days=days_ago)
    return [AuditLog.objects.create(at=at, actor_name="system", action=action, object_type="core.test",
                                    object_id=str(i), before={"n": i}, after={"n": i + 1, "名": "值"})
            for i in range(n)]


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_output() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_record_leaves_rows_unsealed_and_seal_chains_them_in_id_order():
    made = rows(5)
    assert all(r.seq is None for r in AuditLog.objects.all())
    assert audit.seal() == 5
    sealed = list(AuditLog.objects.order_by("seq"))
    assert [r.pk for r in sealed] == sorted(r.pk for r in made)
    assert [r.seq for r in sealed] == [1, 2, 3, 4, 5]
    assert sealed[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(sealed, sealed[1:], strict=False))
    head = AuditChain.objects.get(pk=1)
    assert (head.seq, head.hash) == (5, sealed[-1].hash)
    assert audit.seal() == 0
    assert audit.verify().ok
    assert "审计链完整" in verify_output() or "intact" in verify_output()


def test_a_late_commit_with_a_lower_id_takes_the_next_place():
    first = rows(2)
    top = max(r.pk for r in first)
    AuditLog.objects.create(pk=top + 100, actor_name="system", action="test.fast")
    audit.seal()
    # A slow transaction that took its id earlier commits only now.
    late = AuditLog.objects.create(pk=top + 50, actor_name="system", action="test.slow")
    assert audit.seal() == 1
    late.refresh_from_db()
    assert late.seq == 4
    assert audit.verify().ok


def test_editing_a_row_with_raw_sql_is_detected_at_that_row():
    rows(6)
    audit.seal()
    victim = AuditLog.objects.get(seq=3)
    raw(f"UPDATE {AuditLog._meta.db_table} SET note = %s WHERE id = %s", ["rewritten", victim.pk])
    result = audit.verify()
    assert not result.ok
    assert (result.broken_seq, result.broken_id) == (3, victim.pk)
    with pytest.raises(CommandError, match="3"):
        verify_output()


def test_rewriting_the_hash_too_breaks_the_next_link():
    rows(4)
    audit.seal()
    victim = AuditLog.objects.get(seq=2)
    victim.note = "forged"
    right = audit.row_hash(victim, victim.prev_hash)
    forged = ("0" if right[0] != "0" else "1") + right[1:]  # without the key: any other value (never the right one)
    raw(f"UPDATE {AuditLog._meta.db_table} SET note = %s, hash = %s WHERE id = %s", ["forged", forged, victim.pk])
    assert audit.verify().broken_seq == 2


def test_deleting_a_row_in_the_middle_or_at_the_end_is_detected():
    rows(6)
    audit.seal()
    raw(f"DELETE FROM {AuditLog._meta.db_table} WHERE seq = %s", [4])
    result = audit.verify()
    assert not result.ok and result.broken_seq == 4
    assert "4" in result.reason

    raw(f"DELETE FROM {AuditLog._meta.db_table} WHERE seq >= %s", [4])  # now only the tail is gone
    result = audit.verify()
    assert not result.ok and "6" in result.reason  # the head still says 6


def test_a_deleted_head_stops_sealing_until_repaired():
    rows(3)
    audit.seal()
    raw(f"DELETE FROM {AuditChain._meta.db_table}", [])
    rows(1)
    with pytest.raises(audit.ChainHeadMissing):
        audit.seal()
    assert not audit.verify().ok
    with pytest.raises(CommandError):
        verify_output()
    call_command("audit_verify", "--repair-head", stdout=io.StringIO())
    assert audit.verify().ok
    assert AuditLog.objects.filter(action="audit.repair_head").exists()


def test_purge_removes_only_expired_rows_and_the_rest_still_verifies(settings):
    settings.AUDIT_RETENTION_DAYS = 200
    old = rows(4, days_ago=300)
    recent = rows(3, days_ago=10)
    out = io.StringIO()
    call_command("audit_purge", stdout=out)  # a dry run
    assert "--commit" in out.getvalue()
    assert AuditLog.objects.count() == 7 and not AuditCheckpoint.objects.exists()

    call_command("audit_purge", "--commit", stdout=out)
    assert not AuditLog.objects.filter(pk__in=[r.pk for r in old]).exists()
    assert AuditLog.objects.filter(pk__in=[r.pk for r in recent]).count() == 3
    cp = AuditCheckpoint.objects.get()
    assert (cp.seq, cp.purged_rows) == (4, 4)
    purge_row = AuditLog.objects.get(action="audit.purge")
    assert purge_row.after["rows"] == 4
    result = audit.verify()
    assert result.ok, result.reason
    assert result.checkpoint == cp
    audit.seal()
    assert audit.verify().ok
    assert "检查点" in verify_output() or "checkpoint" in verify_output().lower()

    # Nothing more to purge; a second purge leaves no second checkpoint.
    assert audit.purge_expired(commit=True).rows == 0
    assert AuditCheckpoint.objects.count() == 1

    # A forged checkpoint (hiding more deleted rows) is detected.
    raw(f"UPDATE {AuditCheckpoint._meta.db_table} SET purged_rows = %s", [1])
    assert not audit.verify().ok


def test_purge_keeps_an_old_row_sealed_after_a_recent_one():
    """Only a prefix of the chain goes: an expired row after a recent one waits for the next purge."""
    rows(2, days_ago=400)
    rows(1, days_ago=1)
    rows(1, days_ago=400)  # e.g. back-dated import; its place is after the recent row
    result = audit.purge_expired(commit=True)
    assert result.rows == 2 and result.through_seq == 2
    assert AuditLog.objects.filter(action="test.act").count() == 2
    assert audit.verify().ok


def test_retention_shorter_than_six_months_is_refused(settings):
    settings.AUDIT_RETENTION_DAYS = 90
    errors = checks.check_audit_retention()
    assert [e.id for e in errors] == ["gongzhi.E010"]
    with pytest.raises(ImproperlyConfigured):
        audit.purge_expired(commit=False)
    with pytest.raises(CommandError):
        call_command("audit_purge", stdout=io.StringIO())
    settings.AUDIT_RETENTION_DAYS = audit.MIN_RETENTION_DAYS
    assert checks.check_audit_retention() == []
    settings.AUDIT_RETENTION_DAYS = "365"
    assert checks.check_audit_retention()  # not a number: refused too


def test_default_retention_is_at_least_six_months():
    from gongzhi import settings as project_settings

    assert project_settings.AUDIT_RETENTION_DAYS >= audit.MIN_RETENTION_DAYS >= 183


def test_export_command_filters_by_time_in_both_formats(tmp_path):
    rows(2, days_ago=40, action="test.old")
    rows(3, days_ago=1, action="test.new")
    audit.seal()
    since = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    target = tmp_path / "audit.jsonl"
    call_command("audit_export", "--since", since, "--output", str(target), stderr=io.StringIO())
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["action"] for line in lines] == ["test.new"] * 3
    assert lines[0]["after"]["名"] == "值" and lines[0]["hash"] and lines[0]["seq"]
    assert AuditLog.objects.filter(action="audit.export").get().after["rows"] == 3

    out = io.StringIO()
    until = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    call_command("audit_export", "--until", until, "--format", "csv", stdout=out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["action"] for r in table] == ["test.old", "test.old"]
    assert json.loads(table[0]["after"])["名"] == "值"

    with pytest.raises(CommandError, match="2025-13-45"):
        call_command("audit_export", "--since", "2025-13-45", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("audit_export", "--since", "2025-02-01", "--until", "2025-01-01", stdout=io.StringIO())


def test_csv_export_neutralises_formulas():
    AuditLog.objects.create(actor_name="system", action="test.x", note="=HYPERLINK(\"http://evil\")")
    out = io.StringIO()
    audit.export(AuditLog.objects.all(), out, "csv")
    note = next(csv.DictReader(io.StringIO(out.getvalue())))["note"]
    assert note.startswith("'=")


def test_admin_export_action_downloads_the_selection_and_is_audited(client):
    made = rows(3)
    root = org_services.create_user(actor=None, username="root", password=None, is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post("/admin/core/auditlog/", {
        "action": "export_csv", "_selected_action": [made[0].pk, made[2].pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content.decode("utf-8-sig")
    assert sorted(r["id"] for r in csv.DictReader(io.StringIO(body))) == sorted([str(made[0].pk), str(made[2].pk)])
    exported = AuditLog.objects.get(action="audit.export")
    assert exported.actor_id == root.pk and exported.after == {"format": "csv", "rows": 2}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_writers_and_sealers_never_fork_the_chain():
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                AuditLog.objects.create(actor_name=f"w{worker}", action="test.race", object_id=str(i))
                if i % 3 == 0:
                    audit.seal(batch=4)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    audit.seal()
    seqs = list(AuditLog.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 61))
    assert audit.verify().ok
