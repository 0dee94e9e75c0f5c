"""Seed the working calendar: default office periods, and 2004–2026 from chinese_calendar."""

import datetime

from django.db import migrations


def seed(apps, schema_editor):
    from gongzhi.core.calendar import seed_from_chinesecalendar

    OfficePeriod = apps.get_model("core", "OfficePeriod")
    CalendarDay = apps.get_model("core", "CalendarDay")
    if not OfficePeriod.objects.exists():
        OfficePeriod.objects.bulk_create([
            OfficePeriod(start=datetime.time(8, 30), end=datetime.time(12, 0)),
            OfficePeriod(start=datetime.time(14, 0), end=datetime.time(18, 0)),
        ])
    seed_from_chinesecalendar(range(2004, 2027), model=CalendarDay)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
