"""Trigram indexes for the case search (PostgreSQL only; nothing happens on SQLite).

The queue, "my cases" and ``GET /api/v1/cases?q=`` search ``title``, ``description`` and ``address``
with ``icontains``, which Django writes on PostgreSQL as ``UPPER("col"::text) LIKE UPPER('%…%')``.
A GIN index with ``gin_trgm_ops`` on that same expression lets the planner answer it from the index
(a bitmap OR with the case-number index) instead of reading the whole table; it needs the
``pg_trgm`` extension and at least three characters of search text (e.g. 垃圾堆, not 垃圾).

``CREATE EXTENSION pg_trgm`` needs a superuser, or — pg_trgm being a trusted extension since
PostgreSQL 13 — a user with CREATE on the database (its owner). docs/deploy.md tells how.

The indexes are built ``CONCURRENTLY`` (the migration is not atomic), so reports keep coming in
while a large table is indexed; an invalid index left by an interrupted build is built again.
"""

from django.db import migrations

#: index name → the indexed expression, exactly as Django's ``icontains`` writes the column
INDEXES = {
    "case_title_trgm": 'UPPER("title"::text)',
    "case_description_trgm": 'UPPER("description"::text)',
    "case_address_trgm": 'UPPER("address"::text)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception as exc:
                raise RuntimeError(
                    "The case search needs the PostgreSQL extension pg_trgm, and this database user may "
                    "not create it. Run once as a superuser: CREATE EXTENSION pg_trgm; (in this database), "
                    "then migrate again. See docs/deploy.md.") from exc
        for name, expression in INDEXES.items():
            cursor.execute("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", [name])
            row = cursor.fetchone()
            if row is not None and row[0]:
                continue
            if row is not None:  # left invalid by an interrupted CONCURRENTLY build
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
            cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "cases_case" USING gin ({expression} gin_trgm_ops)')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("cases", "0005_status_index"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
