"""The default escalation ladder of seed 001: reminder → joint notice → interview → listed
supervision → transfer to enforcement. Admins may change it (it is data)."""

from django.db import migrations

LADDER = [
    # level, code, name, name_en, working days to fix at this level, transfers, goes to the joint meeting
    (1, "reminder", "提醒", "Reminder", 5, False, False),
    (2, "joint-notice", "联合通告", "Joint notice", 5, False, False),
    (3, "interview", "约谈", "Interview", 5, False, True),
    (4, "listed", "挂牌督办", "Listed supervision", 10, False, True),
    (5, "enforcement", "移交执法", "Transfer to enforcement", 0, True, True),
]


def add_ladder(apps, schema_editor):
    Step = apps.get_model("inspections", "EscalationStep")
    for level, code, name, name_en, days, transfers, meeting in LADDER:
        Step.objects.get_or_create(code=code, defaults={
            "level": level, "name": name, "name_en": name_en, "rectification_days": days,
            "transfers": transfers, "goes_to_meeting": meeting})


class Migration(migrations.Migration):
    dependencies = [("inspections", "0002_followup_plans_meetings")]
    operations = [migrations.RunPython(add_ladder, migrations.RunPython.noop)]
