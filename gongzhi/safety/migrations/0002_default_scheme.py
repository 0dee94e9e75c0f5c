"""The default grading scheme, v1 (docs/safety.md): each city replaces it with its own."""

from django.db import migrations

# A copy (migrations must not import the app's code, which may change).
RULES = {
    "counts": {
        "criminal": {"basis": "per10k", "bands": ["1", "2", "3", "5"]},
        "public_order": {"basis": "per10k", "bands": ["2", "4", "6", "10"]},
        "robbery_theft": {"basis": "per10k", "bands": ["0.5", "1", "2", "3"]},
        "fraud": {"basis": "per10k", "bands": ["0.5", "1", "2", "3"]},
    },
    "satisfaction": {"bands": ["95", "90", "85", "80"]},
    "combine": {"method": "weighted", "black_if_any_black": True,
                "weights": {"criminal": 3, "public_order": 2, "robbery_theft": 2, "fraud": 1, "satisfaction": 2}},
}


def forwards(apps, schema_editor):
    Scheme = apps.get_model("safety", "GradingScheme")
    if not Scheme.objects.exists():
        Scheme.objects.create(version=1, name="默认方案", rules=RULES, is_active=True,
                              note="每万人月发案率与满意率分档，加权合成；任一指标为黑色则为黑色。各地应按本地实际调整。")


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
