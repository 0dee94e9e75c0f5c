"""The premises types every deployment starts with (admin → 场所类型 to rename, add or retire)."""

from django.db import migrations

# A copy (migrations must not import the app's code, which may change).
TYPES = [
    ("shop", "商铺", "Shop"),
    ("restaurant", "餐饮店", "Restaurant / food shop"),
    ("rental", "出租房", "Rental housing"),
    ("group_rental", "群租房", "Group rental"),
    ("single_apartment", "单身公寓", "Single-person apartment"),
    ("entertainment", "娱乐场所", "Entertainment venue"),
    ("chess_room", "棋牌室", "Mahjong and chess room"),
    ("massage", "足疗按摩店", "Foot massage parlour"),
    ("market", "农贸市场", "Market"),
    ("construction_site", "建筑工地", "Construction site"),
    ("pharmacy", "药店", "Pharmacy"),
    ("supermarket", "超市", "Supermarket"),
    ("other", "其他", "Other"),
]


def forwards(apps, schema_editor):
    PremisesType = apps.get_model("premises", "PremisesType")
    for sort, (code, name, name_en) in enumerate(TYPES, start=1):
        PremisesType.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "sort": sort * 10})


class Migration(migrations.Migration):
    dependencies = [("premises", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
