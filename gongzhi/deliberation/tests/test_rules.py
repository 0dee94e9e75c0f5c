"""The rule engine (``rules``), with cases taken from the statutes' wording (Civil Code art. 278 and
1259, the villagers' committee law art. 22) and property tests (hypothesis): monotonicity, agreement
with an independent integer computation, describe never failing, validate round-tripping."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.deliberation import presets, rules
from gongzhi.deliberation.presets import cond

GROUPS = ("electorate", "participants", "attendees", "for", "against", "abstain")


def fig(**groups) -> dict:
    """Figures of the electorate "all": fig(electorate=(persons, area), participants=(…), …)."""
    out = {}
    for group, (persons, area) in groups.items():
        out[group] = {"persons": persons, "households": persons, "area": area, "representatives": 0}
    return {"all": out}


# ------------------------------------------------------------------------------------ art. 1259


@pytest.mark.parametrize("cmp, passed", [(">=", True), (">", False)])
def test_exactly_two_thirds_passes_under_yishang_and_fails_under_chaoguo(cmp, passed):
    """民法典第一千二百五十九条：“以上”包括本数，“超过”不包括本数."""
    rule = rules.validate(cond("for", "persons", "electorate", cmp, "2/3"))
    outcome = rules.evaluate(rule, fig(electorate=(300, "0"), **{"for": (200, "0")}))
    assert outcome.passed is passed
    (line,) = outcome.lines
    assert line["ratio"] == "2/3" and line["threshold"] == "2/3" and line["percent"] == "66.67"


def test_one_more_than_two_thirds_passes_under_both():
    for cmp in (">=", ">"):
        rule = rules.validate(cond("for", "persons", "electorate", cmp, "2/3"))
        assert rules.evaluate(rule, fig(electorate=(300, "0"), **{"for": (201, "0")})).passed


def test_exactly_half_is_not_a_majority():
    """过半数 = more than half: 50 of 100 is not enough, 51 is."""
    rule = rules.validate(cond("for", "persons", "participants", ">", "1/2"))
    assert not rules.evaluate(rule, fig(participants=(100, "0"), **{"for": (50, "0")})).passed
    assert rules.evaluate(rule, fig(participants=(100, "0"), **{"for": (51, "0")})).passed


def test_area_is_exact_not_floating_point():
    """2/3 of 100.00 ㎡ is 66.666… ㎡: 66.67 reaches it, 66.66 does not (a float would blur this)."""
    rule = rules.validate(cond("participants", "area", "electorate", ">=", "2/3"))
    assert rules.evaluate(rule, fig(electorate=(1, "100.00"), participants=(1, "66.67"))).passed
    assert not rules.evaluate(rule, fig(electorate=(1, "100.00"), participants=(1, "66.66"))).passed
    # 0.1 + 0.2 style sums: 30.30 of 90.90 is exactly 1/3
    third = rules.validate(cond("participants", "area", "electorate", ">=", "1/3"))
    assert rules.evaluate(third, fig(electorate=(1, Decimal("90.90")), participants=(1, "30.30"))).passed


# ------------------------------------------------------------------------------------ art. 278


ORDINARY = presets.PRESETS["civil_code_278_ordinary"].questions[0].rule
MAJOR = presets.PRESETS["civil_code_278_major"].questions[0].rule


def test_278_ordinary_passes_with_quorum_and_double_majority():
    figures = fig(electorate=(90, "9000.00"), participants=(60, "6000.00"), **{"for": (31, "3001.00")})
    outcome = rules.evaluate(rules.validate(ORDINARY), figures)
    assert outcome.passed
    assert len(outcome.lines) == 4 and all(line["met"] for line in outcome.lines)


def test_278_area_passes_headcount_fails():
    """专有部分面积过半数 AND 人数过半数: large flats agree, most owners do not → refused."""
    figures = fig(electorate=(90, "9000.00"), participants=(60, "6000.00"), **{"for": (20, "4000.00")})
    outcome = rules.evaluate(rules.validate(ORDINARY), figures)
    assert not outcome.passed
    met = {(line["count"], line["measure"]): line["met"] for line in outcome.lines}
    assert met[("for", "area")] is True and met[("for", "persons")] is False


def test_278_participation_quorum_missed():
    """Everybody who voted agreed, but only 59 of 90 owners (< 2/3) took part: no decision."""
    figures = fig(electorate=(90, "9000.00"), participants=(59, "6000.00"), **{"for": (59, "6000.00")})
    outcome = rules.evaluate(rules.validate(MAJOR), figures)
    assert not outcome.passed
    failed = [line for line in outcome.lines if not line["met"]]
    assert [(line["count"], line["measure"], line["base"]) for line in failed] == [
        ("participants", "persons", "electorate")]
    assert failed[0]["numerator"] == "59" and failed[0]["denominator"] == "90"


def test_278_major_needs_three_quarters_of_participants_inclusive():
    figures = fig(electorate=(80, "8000.00"), participants=(60, "6000.00"), **{"for": (45, "4500.00")})
    assert rules.evaluate(rules.validate(MAJOR), figures).passed  # 45/60 = 3/4 exactly, 以上
    figures["all"]["for"]["persons"] = 44
    assert not rules.evaluate(rules.validate(MAJOR), figures).passed


# ------------------------------------------------------------------------------------ two electorates, any


def test_two_electorates_estate_passes_building_fails():
    rule = rules.validate(presets.PRESETS["elevator_two_electorates"].questions[0].rule)
    estate = {"electorate": {"persons": 100, "area": "10000.00"}, "participants": {"persons": 90, "area": "9000.00"},
              "for": {"persons": 80, "area": "8000.00"}}
    building = {"electorate": {"persons": 12, "area": "1200.00"}, "participants": {"persons": 12, "area": "1200.00"},
                "for": {"persons": 10, "area": "1000.00"}}  # 10/12 < 9/10
    outcome = rules.evaluate(rule, {"all": estate, "building": building}, {"all": "全小区", "building": "2号楼"})
    assert not outcome.passed
    assert all(line["met"] for line in outcome.lines if line["electorate"] == "all")
    assert not any(line["met"] for line in outcome.lines if line["electorate"] == "building")
    assert outcome.lines[-1]["text"].startswith("［2号楼］")
    building["for"] = {"persons": 11, "area": "1100.00"}  # 11/12 ≥ 9/10
    assert rules.evaluate(rule, {"all": estate, "building": building}).passed


def test_villagers_meeting_quorum_by_households_when_persons_miss():
    """村民会议：过半数的成年村民，或者三分之二以上的户的代表参加."""
    rule = rules.validate(presets.PRESETS["villagers_meeting"].questions[0].rule)
    figures = {"all": {"electorate": {"persons": 1000, "households": 300},
                       "attendees": {"persons": 400, "households": 200},  # 40 % of villagers, 2/3 of households
                       "for": {"persons": 201}}}
    outcome = rules.evaluate(rule, figures)
    assert outcome.passed
    assert [line["met"] for line in outcome.lines] == [False, True, True]
    figures["all"]["attendees"]["households"] = 199
    assert not rules.evaluate(rule, figures).passed
    figures["all"]["for"]["persons"] = 200  # half of those present is not a majority
    figures["all"]["attendees"]["households"] = 200
    assert not rules.evaluate(rule, figures).passed


def test_representatives_and_party_members_stage():
    rule = rules.validate(presets.STAGE_PRESETS["party_members"].rule)
    assert rules.evaluate(rule, presets.stage_figures(30, 20, 11)).passed
    assert not rules.evaluate(rule, presets.stage_figures(30, 19, 19)).passed  # 19/30 < 2/3 present
    assert not rules.evaluate(rule, presets.stage_figures(30, 20, 10)).passed  # 10/20 is not > 1/2


# ------------------------------------------------------------------------------------ zero, missing, types


def test_zero_denominators_fail_without_error():
    rule = rules.validate({"any": [cond("for", "area", "participants", ">=", "1/2"),
                                   cond("for", "persons", "electorate", ">", "1/2", "empty")]})
    outcome = rules.evaluate(rule, fig(participants=(0, "0.00"), **{"for": (0, "0")}))
    assert not outcome.passed
    assert [line["met"] for line in outcome.lines] == [False, False]
    assert outcome.lines[0]["ratio"] is None and outcome.lines[0]["note"]
    assert outcome.lines[1]["note"] == "没有该表决范围的计票数据"
    json.dumps(outcome.lines, ensure_ascii=False)


def test_figures_never_float():
    rule = rules.validate(cond("for", "area", "electorate", ">", "1/2"))
    with pytest.raises(TypeError):
        rules.evaluate(rule, fig(electorate=(1, 100.0), **{"for": (1, "60")}))
    with pytest.raises(ValueError):
        rules.evaluate(rule, fig(electorate=(1, "lots"), **{"for": (1, "60")}))


# ------------------------------------------------------------------------------------ validation


def test_validate_normalises():
    assert rules.validate({"count": "for", "measure": "persons", "base": "electorate", "cmp": ">=",
                           "ratio": "4/6"}) == {"electorate": "all", "count": "for", "measure": "persons",
                                                "base": "electorate", "cmp": ">=", "ratio": "2/3"}
    for given_ratio, normal in (("0.9", "9/10"), ("90%", "9/10"), ("1", "1/1"), (1, "1/1"), (" 1/2 ", "1/2"),
                                ("66.5%", "133/200")):
        assert rules.validate(cond("for", "area", "electorate", ">=", given_ratio))["ratio"] == normal
    text = json.dumps({"all": [cond("for", "area", "electorate", ">=", "2/3")]})
    assert rules.validate(text) == {"all": [cond("for", "area", "electorate", ">=", "2/3")]}


@pytest.mark.parametrize("rule, fragment", [
    (cond("for", "persons", "electorate", ">=", "0"), "比例“0”无效"),
    (cond("for", "persons", "electorate", ">=", "3/2"), "比例“3/2”无效"),
    (cond("for", "persons", "electorate", ">=", "abc"), "比例“abc”无效"),
    (cond("for", "persons", "electorate", ">=", "-1/2"), "比例“-1/2”无效"),
    (cond("for", "persons", "electorate", ">=", "1/0"), "无效"),
    (cond("for", "persons", "electorate", ">=", ""), "无效"),
    (cond("for", "persons", "electorate", ">=", 0.5), "比例“0.5”无效"),  # a float is never accepted
    (cond("for", "persons", "electorate", ">=", True), "无效"),
    ({**cond("for", "persons", "electorate", ">=", "1/2"), "weight": 2}, "无法识别的键：weight"),
    (cond("yes", "persons", "electorate", ">=", "1/2"), "未知的计数对象：yes"),
    (cond("for", "heads", "electorate", ">=", "1/2"), "未知的计量方式：heads"),
    (cond("for", "persons", "everyone", ">=", "1/2"), "未知的比较基数：everyone"),
    (cond("for", "persons", "electorate", "=>", "1/2"), "未知的比较方式：=>"),
    (cond("for", "persons", "electorate", ">=", "1/2", "楼 栋"), "表决范围标识无效"),
    ({"count": "for", "measure": "persons", "base": "electorate"}, "条件缺少：cmp、ratio"),
    ({"all": []}, "至少要包含一个条件"),
    ({"any": "x"}, "至少要包含一个条件"),
    ({"all": [cond("for", "persons", "electorate", ">=", "1/2")], "any": []}, "只能包含 all 或 any"),
    ({}, "每一项都应是"),
    ([], "每一项都应是"),
    ("{not json", "不是有效的 JSON"),
])
def test_validate_refuses_with_a_chinese_message(rule, fragment):
    with pytest.raises(ValidationError) as exc:
        rules.validate(rule, field="rule")
    assert fragment in exc.value.message_dict["rule"][0]


def test_validate_limits_depth_and_size_and_electorates():
    deep = cond("for", "persons", "electorate", ">=", "1/2")
    for _ in range(rules.MAX_DEPTH):
        deep = {"all": [deep]}
    with pytest.raises(ValidationError, match="嵌套过深"):
        rules.validate(deep)
    with pytest.raises(ValidationError, match="条件过多"):
        rules.validate({"any": [cond("for", "persons", "electorate", ">=", "1/2")] * (rules.MAX_CONDITIONS + 1)})
    rule = cond("for", "persons", "electorate", ">=", "1/2", "building")
    assert rules.validate(rule, electorates=["all", "building"])
    with pytest.raises(ValidationError, match="没有名为“building”的表决范围"):
        rules.validate(rule, electorates=["all"])


def test_describe_reads_like_the_statute():
    text = rules.describe(cond("participants", "area", "electorate", ">=", "2/3"))
    assert text == "参与表决的专有部分面积占全体专有部分面积的比例 ≥ 2/3（以上，含本数）"
    assert rules.describe(cond("for", "persons", "participants", ">", "1/2")) == \
        "同意的人数占参与表决人数的比例 > 1/2（超过，不含本数）"
    villagers = rules.describe(presets.PRESETS["villagers_meeting"].questions[0].rule)
    assert villagers.startswith("〔到会的人数占全体人数的比例 > 1/2") and "；或者 " in villagers
    assert "〕；并且 同意的人数占到会人数的比例 > 1/2" in villagers


# ------------------------------------------------------------------------------------ properties

ratios = st.builds(lambda d, n: f"{n}/{d}" if n <= d else f"{d}/{d}", st.integers(1, 12), st.integers(1, 12))
conditions = st.builds(cond, st.sampled_from(rules.COUNTS), st.sampled_from(rules.MEASURES),
                       st.sampled_from(rules.BASES), st.sampled_from(rules.CMPS), ratios,
                       st.sampled_from(["all", "building"]))
rule_trees = st.recursive(conditions, lambda inner: st.builds(
    lambda key, items: {key: items}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=4)),
    max_leaves=12)


@st.composite
def measure_values(draw, upper=None):
    """One group's weights; area as a Decimal string with two decimals (cents drawn as integers)."""
    def draw_int(key, hi=200):
        top = hi if upper is None else upper[key]
        return draw(st.integers(0, top))
    cents = draw(st.integers(0, 2_000_000 if upper is None else upper["_cents"]))
    values = {m: draw_int(m) for m in ("persons", "households", "representatives")}
    values["area"] = f"{cents // 100}.{cents % 100:02d}"
    values["_cents"] = cents
    return values


@st.composite
def figures_for(draw):
    out = {}
    for key in ("all", "building"):
        groups = {}
        for group in GROUPS:
            groups[group] = draw(measure_values())
        out[key] = groups
    return out


def strip(figures: dict) -> dict:
    return {k: {g: {m: v for m, v in vals.items() if m != "_cents"} for g, vals in groups.items()}
            for k, groups in figures.items()}


def brute_force(rule: dict, figures: dict) -> bool:
    """An independent evaluation in integers only: num × q  vs  p × den (area in cents)."""
    if "all" in rule:
        return all([brute_force(r, figures) for r in rule["all"]])
    if "any" in rule:
        return any([brute_force(r, figures) for r in rule["any"]])
    groups = figures[rule["electorate"]]
    measure = "_cents" if rule["measure"] == "area" else rule["measure"]
    num, den = groups[rule["count"]][measure], groups[rule["base"]][measure]
    p, q = (int(x) for x in rule["ratio"].split("/"))
    if den == 0:
        return False
    return num * q >= p * den if rule["cmp"] == ">=" else num * q > p * den


@settings(max_examples=300, deadline=None)
@given(rule=rule_trees, figures=figures_for())
def test_evaluate_agrees_with_integer_brute_force(rule, figures):
    rule = rules.validate(rule)
    outcome = rules.evaluate(rule, strip(figures))
    assert outcome.passed == brute_force(rule, figures)
    assert len(outcome.lines) == len(list(rules.conditions(rule)))
    json.loads(json.dumps(outcome.lines, ensure_ascii=False))
    for line in outcome.lines:
        if line["ratio"] is not None:
            assert Fraction(line["ratio"]) == Fraction(Decimal(line["numerator"])) / Fraction(Decimal(line["denominator"]))


monotone_conditions = st.builds(cond, st.sampled_from(["for", "participants"]), st.sampled_from(rules.MEASURES),
                                st.sampled_from(["electorate", "participants"]), st.sampled_from(rules.CMPS), ratios,
                                st.just("all"))
monotone_rules = st.recursive(monotone_conditions, lambda inner: st.builds(
    lambda key, items: {key: items}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=4)),
    max_leaves=10)


@st.composite
def consistent_figures(draw):
    """for ≤ participants ≤ electorate in every measure, and one more non-voter's weights to add."""
    def weights():
        return {"persons": draw(st.integers(0, 50)), "households": draw(st.integers(0, 50)),
                "representatives": draw(st.integers(0, 5)), "area": draw(st.integers(0, 100_000))}
    fors, others, absent, newcomer, switch = weights(), weights(), weights(), weights(), weights()
    return fors, others, absent, newcomer, switch


def build(fors, others, absent) -> dict:
    def area(cents):
        return f"{cents // 100}.{cents % 100:02d}"

    def group(*parts):
        return {m: (area(sum(p[m] for p in parts)) if m == "area" else sum(p[m] for p in parts))
                for m in ("persons", "households", "representatives", "area")}
    return {"all": {"electorate": group(fors, others, absent), "participants": group(fors, others),
                    "attendees": group(), "for": group(fors), "against": group(others)}}


@settings(max_examples=300, deadline=None)
@given(rule=monotone_rules, parts=consistent_figures())
def test_adding_a_for_never_turns_pass_into_fail(rule, parts):
    fors, others, absent, newcomer, switch = parts
    rule = rules.validate(rule)
    before = rules.evaluate(rule, build(fors, others, {m: absent[m] + newcomer[m] for m in absent})).passed
    # a non-voter comes and votes for
    more = {m: fors[m] + newcomer[m] for m in fors}
    after_newcomer = rules.evaluate(rule, build(more, others, absent)).passed
    assert after_newcomer or not before
    # a voter who was against changes to for (same participants)
    against = {m: others[m] + switch[m] for m in others}
    was = rules.evaluate(rule, build(fors, against, absent)).passed
    now = rules.evaluate(rule, build({m: fors[m] + switch[m] for m in fors}, others, absent)).passed
    assert now or not was


@settings(max_examples=300, deadline=None)
@given(rule=rule_trees)
def test_describe_never_fails_and_validate_round_trips(rule):
    normal = rules.validate(rule)
    assert rules.validate(normal) == normal
    assert rules.validate(json.dumps(normal)) == normal
    assert json.loads(json.dumps(normal)) == normal
    text = rules.describe(normal, {"all": "全小区", "building": "5号楼"})
    assert text and text == rules.describe(rule, {"all": "全小区", "building": "5号楼"})
    assert text.count("比例") == len(list(rules.conditions(normal)))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10_000), d=st.integers(1, 10_000))
def test_parse_ratio_is_exact(n, d):
    if n > d:
        with pytest.raises(ValueError):
            rules.parse_ratio(f"{n}/{d}")
    else:
        assert rules.parse_ratio(f"{n}/{d}") == Fraction(n, d)
        assert rules.validate(cond("for", "area", "electorate", ">", f"{n}/{d}"))["ratio"] == \
            rules.format_fraction(Fraction(n, d))
