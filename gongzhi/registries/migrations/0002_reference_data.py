from django.db import migrations

# Reference data a deployment starts with; administrators edit, add and retire rows in the admin.
KEY_CATEGORIES = [
    # code, name, name_en, visit every N days, health data, criminal record
    ("released_prisoner", "刑满释放人员", "Released prisoner", 30, False, True),
    ("mental_disorder", "严重精神障碍患者", "Person with a severe mental disorder", 30, True, False),
    ("drug_rehab", "社区戒毒社区康复人员", "Person in community drug rehabilitation", 30, True, True),
    ("juvenile", "重点青少年", "Juvenile needing attention", 60, False, False),
]
DIFFICULTY_KINDS = [
    ("dibao", "低保", "Minimum living allowance", False),
    ("tekun", "特困供养", "Extreme poverty support", False),
    ("disabled", "残疾", "Disability", True),
    ("serious_illness", "大病", "Serious illness", True),
    ("unemployed", "失业", "Unemployment", False),
    ("elderly_alone", "独居/空巢老人", "Elderly living alone", False),
    ("left_behind_child", "留守/困境儿童", "Left-behind or vulnerable child", False),
]
# Years a record is kept after it closes, before the worker anonymises it (docs/registries.md#retention).
RETENTION = [("residents", 3), ("key_persons", 5), ("corrections", 5), ("assistance", 5), ("legal", 10),
             ("visits", 3)]


def forwards(apps, schema_editor):
    KeyCategory = apps.get_model("registries", "KeyCategory")
    DifficultyKind = apps.get_model("registries", "DifficultyKind")
    RetentionRule = apps.get_model("registries", "RetentionRule")
    for code, name, name_en, days, health, criminal in KEY_CATEGORIES:
        KeyCategory.objects.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "visit_every_days": days, "is_health": health,
            "is_criminal": criminal})
    for code, name, name_en, health in DIFFICULTY_KINDS:
        DifficultyKind.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en,
                                                                  "is_health": health})
    for registry, years in RETENTION:
        RetentionRule.objects.get_or_create(registry=registry, defaults={"years": years})


class Migration(migrations.Migration):
    dependencies = [("registries", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
