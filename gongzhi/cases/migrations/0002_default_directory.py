"""Load the bundled GB/T 47678.5-2026 directory as version "GB/T 47678.5-2026", activate it when no
version is active, and seed default handling limits for a few common matters (DOMAIN.md §6).

Self-contained on purpose (historical models, inline CSV reading): later changes to
``gongzhi.cases.directory`` must not change what this migration did. Idempotent, so the test
suite can run it again after a flush.
"""

import csv
from decimal import Decimal
from pathlib import Path

from django.db import migrations
from django.utils import timezone

NAME = "GB/T 47678.5-2026"
SOURCE = "gongzhi/cases/data/gbt47678_5_2026_directory.csv（第三方据 GB/T 47678.5-2026 转录）"
CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "gbt47678_5_2026_directory.csv"
KINDS = {"管理部件": "component", "管理事项": "matter"}
#: Components share their 5-digit codes with the matters about them; they are stored as B + code.
COMPONENT_PREFIX = "B"

#: (matter name, step, amount, unit): local standards vary, these are the examples of DOMAIN.md §6.
LIMITS = [
    ("暴露垃圾", "handle", 4, "working_hours"),
    ("道路不洁", "handle", 5, "working_hours"),
    ("私搭乱建", "handle", 20, "working_days"),  # demolish; stopping the works is a matter of hours
    ("积存垃圾渣土", "handle", 4, "working_days"),
    ("水域不洁", "handle", 15, "working_days"),
    ("绿地脏乱", "handle", 4, "working_hours"),
]


def forwards(apps, schema_editor):
    DirectoryVersion = apps.get_model("cases", "DirectoryVersion")
    Category = apps.get_model("cases", "Category")
    TimeLimit = apps.get_model("cases", "TimeLimit")

    version, _created = DirectoryVersion.objects.get_or_create(
        name=NAME, defaults={"source": SOURCE, "notes": "随系统提供的默认分类目录（153 个管理部件、250 个管理事项）"})
    if not Category.objects.filter(version=version).exists():
        with CSV_PATH.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        Category.objects.bulk_create([
            Category(version=version, kind=KINDS[row["matter_kind"]], name=row["name"].strip(),
                     code=(COMPONENT_PREFIX if KINDS[row["matter_kind"]] == "component" else "") + row["code5"].strip(),
                     major_code=row["major_code"].strip(), major_name=row["major_name"].strip())
            for row in rows
        ], batch_size=500)
    if not DirectoryVersion.objects.filter(is_active=True).exists():
        version.is_active, version.activated_at = True, timezone.now()
        version.save(update_fields=["is_active", "activated_at"])
    for name, step, amount, unit in LIMITS:
        category = Category.objects.filter(version=version, kind="matter", name=name).first()
        if category is not None and not TimeLimit.objects.filter(category=category, step=step).exists():
            TimeLimit.objects.create(category=category, step=step, area_class="", urgent=False,
                                     amount=Decimal(amount), unit=unit)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
