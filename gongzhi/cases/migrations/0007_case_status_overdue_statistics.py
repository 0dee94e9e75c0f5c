"""Extended statistics on (status, overdue) for PostgreSQL's planner (nothing happens on SQLite).

Overdue cases are almost all open, and most in progress or dispatched: the two columns are far from
independent. Without these statistics PostgreSQL multiplies their selectivities, expects some 100
rows for "in progress + overdue" where a million cases hold 12,000, and reads them all through a
bitmap AND and sorts them (≈ 50 ms) instead of walking ``case_status_created`` backwards and stopping
after one page (≈ 1 ms). ``ANALYZE`` fills them in at once (a second or so per million cases).
"""

from django.db import migrations


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute('CREATE STATISTICS IF NOT EXISTS "case_status_overdue_stats" (mcv, dependencies) '
                       'ON "status", "overdue" FROM "cases_case"')
        cursor.execute('ANALYZE "cases_case"')


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute('DROP STATISTICS IF EXISTS "case_status_overdue_stats"')


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0006_case_search_trigram"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
