"""Build ``joint_inspection.xlsx``: the sample joint-inspection checklist (星火工作站, seed 001) for the
four departments — street office, police station, market supervision, law enforcement.

    .venv/bin/python gongzhi/checklists/data/build_sample.py     # rewrites the .xlsx beside this file

Legal bases name the national law or regulation an item rests on; a city adds its local rules.
"""

from __future__ import annotations

import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "joint_inspection.xlsx"

SURVEY_COLUMNS = ["type", "name", "label", "label::English (en)", "hint", "required", "relevant", "constraint",
                  "constraint_message", "appearance", "department", "severity", "rectification_days",
                  "legal_basis"]
FIRE_LAW = "《中华人民共和国消防法》"
FOOD_LAW = "《中华人民共和国食品安全法》"
CITY_RULES = "《城市市容和环境卫生管理条例》"

# (type, name, label, English, hint, required, relevant, constraint, constraint message, appearance,
#  department, severity, rectification days, legal basis)
SURVEY = [
    ("begin_group", "basic", "基本情况", "Basics", "", "", "", "", "", "", "", "", "", ""),
    ("select_one yn", "open_now", "是否正常营业", "Open for business?", "", "yes", "", "", "", "", "", "", "", ""),
    ("integer", "staff_count", "从业人员数（人）", "Number of staff", "", "", "${open_now} = 'yes'",
     ". >= 0 and . <= 500", "人数应在 0 到 500 之间", "", "", "", "", ""),
    ("geopoint", "location", "检查位置", "Where the inspection took place", "", "", "", "", "", "", "", "", "", ""),
    ("image", "storefront", "门头照片", "Photo of the shop front", "", "", "", "", "", "", "", "", "", ""),
    ("end_group", "", "", "", "", "", "", "", "", "", "", "", "", ""),

    ("begin_group", "licences", "证照（市场监管）", "Licences (market supervision)", "", "", "", "", "", "", "", "",
     "", ""),
    ("select_one yn", "business_licence", "营业执照是否悬挂且在有效期内", "Business licence displayed and valid?",
     "", "yes", "", "", "", "", "market", "major", 7, "《市场主体登记管理条例》"),
    ("select_one yn", "sells_food", "是否经营食品", "Does it sell or serve food?", "", "yes", "", "", "", "", "", "",
     "", ""),
    ("select_one yn", "food_licence", "食品经营许可证是否有效", "Food business licence valid?", "", "yes",
     "${sells_food} = 'yes'", "", "", "", "market", "major", 15, FOOD_LAW + "第三十五条"),
    ("select_multiple hygiene", "food_hygiene", "食品卫生情况", "Food hygiene", "可多选", "yes",
     "${sells_food} = 'yes'", "not(selected(., 'ok') and count-selected(.) > 1)",
     "选择“未发现问题”时不能再选其他项", "", "market", "major", 3, FOOD_LAW + "第三十四条、第四十五条"),
    ("end_group", "", "", "", "", "", "", "", "", "", "", "", "", ""),

    ("begin_group", "fire", "消防安全（派出所）", "Fire safety (police station)", "", "", "", "", "", "", "", "", "", ""),
    ("select_one yn", "fire_exit", "安全出口、疏散通道是否畅通", "Fire exits and escape routes clear?", "", "yes", "",
     "", "", "", "police", "critical", 1, FIRE_LAW + "第二十八条"),
    ("integer", "extinguishers", "灭火器数量（具）", "Number of fire extinguishers", "", "yes", "", ". >= 0",
     "数量不能为负数", "", "", "", "", ""),
    ("select_one yn", "extinguishers_valid", "灭火器是否在有效期内", "Extinguishers within their service date?", "",
     "yes", "${extinguishers} > 0", "", "", "", "police", "major", 3, FIRE_LAW + "第十六条"),
    ("select_one yn", "no_three_in_one", "是否无“三合一”（经营、仓储、住人同一空间）", "Free of living in the shop (三合一)?",
     "", "yes", "", "", "", "", "police", "critical", 1, FIRE_LAW + "第十九条"),
    ("select_one yn", "residents_registered", "从业、租住人员信息是否已登记", "Staff and tenants registered?", "",
     "yes", "", "", "", "", "police", "minor", 7, "《租赁房屋治安管理规定》第七条"),
    ("end_group", "", "", "", "", "", "", "", "", "", "", "", "", ""),

    ("begin_group", "order", "市容秩序（综合执法）", "Street order (law enforcement)", "", "", "", "", "", "", "", "", "",
     ""),
    ("select_one yn", "no_outside_business", "是否无店外经营（占道经营）", "No business spilling onto the pavement?", "",
     "yes", "", "", "", "", "enforcement", "minor", 1, CITY_RULES + "第十四条"),
    ("select_one yn", "signboard_ok", "户外招牌、广告是否规范设置", "Signs and advertisements as permitted?", "", "yes",
     "", "", "", "", "enforcement", "minor", 7, CITY_RULES + "第十一条"),
    ("end_group", "", "", "", "", "", "", "", "", "", "", "", "", ""),

    ("begin_group", "street", "门前与安全宣传（街道办）", "Frontage and outreach (street office)", "", "", "", "", "",
     "", "", "", "", ""),
    ("select_one yn", "frontage_clean", "门前是否无乱堆杂物、乱倒垃圾", "Frontage free of clutter and rubbish?", "",
     "yes", "", "", "", "", "street_office", "minor", 1, "门前三包责任书"),
    ("select_one yn", "no_flying_wire", "是否无飞线充电", "No charging cables strung from windows?", "", "yes", "",
     "", "", "", "street_office", "major", 1, FIRE_LAW + "第二十八条"),
    ("text", "remarks", "其他情况", "Other findings", "", "", "", "string-length(.) <= 500", "不超过 500 字",
     "multiline", "", "", "", ""),
    ("end_group", "", "", "", "", "", "", "", "", "", "", "", "", ""),
    ("note", "sign_note", "检查结束后请经营者在手机上签字确认。", "The operator signs on the phone at the end.", "", "",
     "", "", "", "", "", "", "", ""),
]

CHOICES = [
    ("list_name", "name", "label", "label::English (en)", "fails"),
    ("yn", "yes", "是", "Yes", ""),
    ("yn", "no", "否", "No", "yes"),
    ("hygiene", "ok", "未发现问题", "No problem found", ""),
    ("hygiene", "expired_food", "有过期食品", "Expired food", "yes"),
    ("hygiene", "no_health_certificate", "从业人员无健康证", "Staff without health certificate", "yes"),
    ("hygiene", "dirty_kitchen", "加工场所不洁", "Dirty kitchen", "yes"),
]

SETTINGS = [("form_title", "form_id", "version", "default_language"),
            ("星火工作站联合检查表", "xinghuo_joint", "2026120301", "default")]


def build() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    survey = workbook.active
    survey.title = "survey"
    survey.append(SURVEY_COLUMNS)
    for row in SURVEY:
        survey.append([value if value != "" else None for value in row])
    choices = workbook.create_sheet("choices")
    for row in CHOICES:
        choices.append([value if value != "" else None for value in row])
    settings = workbook.create_sheet("settings")
    for row in SETTINGS:
        settings.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


if __name__ == "__main__":
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")
