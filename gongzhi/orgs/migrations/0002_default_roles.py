from django.db import migrations

# Roles named in the seeds and in CJJ/T 106; a deployment adds its own in admin.
ROLES = [
    ("party_secretary", "社区书记", "Community party secretary", False, 10),
    ("grid_head", "网格长", "Grid head", False, 20),
    ("area_head", "片长", "Area head", False, 21),
    ("alley_head", "巷长/胡同长", "Alley head", False, 22),
    ("building_head", "栋长", "Building head", False, 23),
    ("grid_worker", "网格员", "Grid worker", False, 30),
    ("informant", "信息员", "Informant", False, 31),
    ("yard_steward", "小院管家", "Yard steward", False, 32),
    ("grid_member", "网格成员", "Grid member", False, 33),
    ("supervisor", "监督员", "Supervisor", False, 40),
    ("receptionist", "受理员", "Receptionist", True, 41),
    ("dispatcher", "派遣员", "Dispatcher", True, 42),
    ("shift_lead", "值班长", "Shift lead", True, 43),
    ("leader", "领导", "Leader", False, 50),
]


def forwards(apps, schema_editor):
    Role = apps.get_model("orgs", "Role")
    for code, name, name_en, command, sort in ROLES:
        Role.objects.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "is_command_center": command, "sort": sort})


class Migration(migrations.Migration):
    dependencies = [("orgs", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
