"""The thresholds: every boundary of every indicator, each level, both ways of combining."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from gongzhi.safety.grading import DEFAULT_RULES, Figures, grade, parse_rules


def worst_rules() -> dict:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["combine"] = {"method": "worst"}
    return rules


def figures(population: int = 10000, satisfaction: str = "99", **counts) -> Figures:
    values = {"criminal": 0, "public_order": 0, "robbery_theft": 0, "fraud": 0, **counts}
    return Figures(satisfaction=Decimal(satisfaction), population=population, **values)


# criminal: per 10,000 residents, bands 1 / 2 / 3 / 5 ("≤ bound" is the better level)
@pytest.mark.parametrize(("count", "level"), [
    (0, "green"), (1, "green"), (2, "blue"), (3, "yellow"), (4, "red"), (5, "red"), (6, "black")])
def test_each_criminal_boundary(count, level):
    assert grade(figures(criminal=count), worst_rules()).level == level


@pytest.mark.parametrize(("count", "level"), [
    (2, "green"), (3, "blue"), (4, "blue"), (5, "yellow"), (6, "yellow"), (7, "red"), (10, "red"), (11, "black")])
def test_each_public_order_boundary(count, level):
    assert grade(figures(public_order=count), worst_rules()).level == level


@pytest.mark.parametrize(("count", "level"), [(1, "green"), (2, "blue"), (3, "yellow"), (6, "red"), (7, "black")])
def test_a_rate_per_10000_is_the_count_scaled_by_the_population(count, level):
    # 20,000 residents: half the count; robbery/theft bands 0.5 / 1 / 2 / 3
    result = grade(figures(population=20000, robbery_theft=count), worst_rules())
    assert result.level == level
    assert result.detail["robbery_theft"]["count"] == count


@pytest.mark.parametrize(("satisfaction", "level"), [
    ("100", "green"), ("95", "green"), ("94.99", "blue"), ("90", "blue"), ("89.99", "yellow"), ("85", "yellow"),
    ("84.99", "red"), ("80", "red"), ("79.99", "black"), ("0", "black")])
def test_each_satisfaction_boundary(satisfaction, level):
    assert grade(figures(satisfaction=satisfaction), worst_rules()).level == level


def test_an_absolute_basis_counts_cases_whatever_the_population():
    rules = worst_rules()
    rules["counts"]["fraud"] = {"basis": "count", "bands": [2, 5, 10, 20]}
    assert grade(figures(population=1000, fraud=2), rules).level == "green"
    assert grade(figures(population=1000, fraud=21), rules).level == "black"


def test_weighted_combination_rounds_half_up():
    # ranks: criminal blue (1)×3, others green, satisfaction blue (1)×2 → 5/10 = 0.5 → rounds up to blue
    result = grade(figures(criminal=2, satisfaction="92"), DEFAULT_RULES)
    assert result.detail["score"] == "0.5"
    assert result.level == "blue"
    # criminal yellow (2)×3 + public order red (3)×2 + satisfaction yellow (2)×2 = 16/10 = 1.6 → yellow
    result = grade(figures(criminal=3, public_order=7, satisfaction="86"), DEFAULT_RULES)
    assert result.detail["score"] == "1.6"
    assert result.level == "yellow"
    # criminal red (3)×3 + robbery/theft red (3)×2 + satisfaction red (3)×2 = 21/10 = 2.1 → yellow
    assert grade(figures(criminal=4, robbery_theft=3, satisfaction="81"), DEFAULT_RULES).level == "yellow"
    # everything red → red
    assert grade(figures(criminal=4, public_order=8, robbery_theft=3, fraud=3, satisfaction="81"),
                 DEFAULT_RULES).level == "red"


def test_one_black_indicator_makes_the_grade_black_when_the_scheme_says_so():
    rules = copy.deepcopy(DEFAULT_RULES)
    assert grade(figures(fraud=4), rules).level == "black"
    rules["combine"]["black_if_any_black"] = False
    assert grade(figures(fraud=4), rules).level == "green"  # 4×1/10 = 0.4 → green


def test_all_five_levels_are_reachable_with_the_default_scheme():
    seen = {grade(figures(criminal=c, public_order=p, robbery_theft=r, fraud=f, satisfaction=s), DEFAULT_RULES).level
            for c, p, r, f, s in [(0, 0, 0, 0, "99"), (2, 3, 1, 1, "92"), (3, 5, 2, 2, "86"),
                                  (5, 10, 3, 3, "81"), (9, 0, 0, 0, "99")]}
    assert seen == {"green", "blue", "yellow", "red", "black"}


def test_a_rate_needs_the_population():
    with pytest.raises(ValidationError, match="常住人口"):
        grade(figures(population=0), DEFAULT_RULES)


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["counts"].pop("fraud"), "counts"),
    (lambda r: r["counts"]["criminal"].update(basis="per100"), "basis"),
    (lambda r: r["counts"]["criminal"].update(bands=[3, 2, 1, 0]), "递增"),
    (lambda r: r["counts"]["criminal"].update(bands=[1, 2, 3]), "4 个"),
    (lambda r: r["counts"]["criminal"].update(bands=[1, 2, "x", 5]), "数字"),
    (lambda r: r["satisfaction"].update(bands=[80, 85, 90, 95]), "递减"),
    (lambda r: r["combine"].update(method="average"), "method"),
    (lambda r: r["combine"]["weights"].pop("fraud"), "weights"),
])
def test_bad_rules_are_refused_with_a_reason(change, message):
    rules = copy.deepcopy(DEFAULT_RULES)
    change(rules)
    with pytest.raises(ValidationError, match=message):
        parse_rules(rules)


def test_the_migrated_default_scheme_is_the_documented_one(db):
    from gongzhi.safety.models import GradingScheme

    scheme = GradingScheme.objects.get(version=1)
    assert scheme.is_active and scheme.rules == DEFAULT_RULES
