from django.db import migrations

# The kinds of service point a deployment starts with (seed 003's 15-minute life circle); admins edit them.
TYPES = [
    ("service_station", "社区服务站", "Community service station", "#c0392b", 10),
    ("clinic", "卫生服务站", "Community clinic", "#16a085", 20),
    ("legal", "法律服务点", "Legal service point", "#8e44ad", 30),
    ("xilin", "喜邻商户", "Partner merchant (喜邻)", "#d35400", 40),
    ("day_care", "日间照料中心", "Elderly day care", "#2980b9", 50),
    ("charging", "充电桩", "Charging point", "#27ae60", 60),
    ("market", "便民市场", "Market", "#7f8c8d", 70),
    ("school", "学校幼儿园", "School or kindergarten", "#f39c12", 80),
]


def forwards(apps, schema_editor):
    ServicePointType = apps.get_model("portal", "ServicePointType")
    for code, name, name_en, color, sort in TYPES:
        ServicePointType.objects.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "color": color, "sort": sort})


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
