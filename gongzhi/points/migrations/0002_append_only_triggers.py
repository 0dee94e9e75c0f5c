"""The database itself refuses to change ledger rows (docs/points.md#append-only).

PostgreSQL: a trigger refuses UPDATE and DELETE on transactions, entries and batch moves (TRUNCATE,
used by the test suite's flush and by a restore, is not a row event). SQLite: UPDATE only, because
Django's flush there is a DELETE.
"""

from django.db import migrations

TABLES = ("points_transaction", "points_entry", "points_batchmove")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION points_append_only() RETURNS trigger AS $body$
BEGIN
    RAISE EXCEPTION 'points ledger rows are append-only: % on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$body$ LANGUAGE plpgsql
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, None)
        for table in TABLES:
            schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                  f"FOR EACH ROW EXECUTE FUNCTION points_append_only()")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                                  f"BEGIN SELECT RAISE(ABORT, 'points ledger rows are append-only'); END")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only" + (f" ON {table}" if vendor == "postgresql" else ""))
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS points_append_only()")


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
