from django.db import migrations

# The default six levels (a deployment edits them in admin). Code lengths follow the 15-digit
# unit-grid code: 6 district (GB/T 2260) + 3 street + 3 community + 3 sequence.
LEVELS = [
    (0, "city", "市", "City", 6),
    (1, "district", "区县", "District", 6),
    (2, "street", "街道/镇", "Street / town", 9),
    (3, "community", "社区/村", "Community / village", 12),
    (4, "grid", "网格", "Grid", 15),
    (5, "building", "楼栋/巷", "Building / alley", None),
]


def forwards(apps, schema_editor):
    AreaLevel = apps.get_model("areas", "AreaLevel")
    for rank, slug, name, name_en, code_length in LEVELS:
        AreaLevel.objects.get_or_create(slug=slug, defaults={
            "rank": rank, "name": name, "name_en": name_en, "code_length": code_length})
    apps.get_model("areas", "AreaIndexStamp").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("areas", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
