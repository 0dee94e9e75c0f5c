from decimal import Decimal

from django.db import migrations

#: (code, name, is_default, notes, [(indicator, weight, sources)])
SCHEMES = [
    ("hotline-three-rates", "接诉即办三率", True,
     "12345 接诉即办：响应率 30%、解决率 35%、满意率 35%（权重因地而异，可修改）。",
     [("response", "30", []), ("resolve", "35", []), ("satisfy", "35", [])]),
    ("city-management", "数字城管综合评价", False,
     "数字化城市管理综合评价：有效上报、按时核查、准确派遣、按期处置、结案、按期结案、返工。",
     [("valid_report", "10", []), ("timely_verify", "10", []), ("right_dispatch", "15", []),
      ("timely_handle", "20", []), ("close", "15", []), ("timely_close", "20", []), ("rework", "10", [])]),
]


def forwards(apps, schema_editor):
    Scheme = apps.get_model("evaluation", "Scheme")
    SchemeItem = apps.get_model("evaluation", "SchemeItem")
    for code, name, default, notes, items in SCHEMES:
        scheme, created = Scheme.objects.get_or_create(code=code, defaults={
            "name": name, "is_default": default and not Scheme.objects.filter(is_default=True).exists(),
            "notes": notes})
        if created:
            for sort, (indicator, weight, sources) in enumerate(items):
                SchemeItem.objects.create(scheme=scheme, indicator=indicator, weight=Decimal(weight), sources=sources,
                                          sort=sort)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
