"""The expression subset on the server: a table of expressions × answers, and what is refused."""

from __future__ import annotations

import pytest

from gongzhi.checklists import expr

VALUES = {"q": "yes", "n": "5", "empty": "", "m": "a c", "t": "hello"}

CASES = [
    ("${q} = 'yes'", {}, "", True),
    ("${q} = 'no'", {}, "", False),
    ("${q} != 'no'", {}, "", True),
    ("${empty} = ''", {}, "", True),
    ("${n} > 3", {}, "", True),
    ("${n} >= 5 and ${n} < 6", {}, "", True),
    ("${n} = 5", {}, "", True),
    ("${n} = '5.0'", {}, "", False),  # both strings: compared as text
    ("${empty} > 3", {}, "", False),  # NaN compares false
    ("${empty} < 3", {}, "", False),
    ("${q} = 'yes' or ${n} > 100", {}, "", True),
    ("${q} = 'no' or ${n} > 100", {}, "", False),
    ("not(${q} = 'no')", {}, "", True),
    ("not(${q} = 'yes') and true()", {}, "", False),
    ("selected(${m}, 'a')", {}, "", True),
    ("selected(${m}, 'b')", {}, "", False),
    ("count-selected(${m}) = 2", {}, "", True),
    ("count-selected(${empty}) = 0", {}, "", True),
    ("string-length(${t}) = 5", {}, "", True),
    (". >= 0", {}, "3", True),
    (". >= 0", {}, "-1", False),
    (". >= 0", {}, "abc", False),
    (". >= 0 and . <= 500", {}, "600", False),
    ("string-length(.) <= 3", {}, "abcd", False),
    ("not(selected(., 'ok') and count-selected(.) > 1)", {}, "ok x", False),
    ("not(selected(., 'ok') and count-selected(.) > 1)", {}, "x y", True),
    ("(${n} + 1) * 2 = 12", {}, "", True),
    ("-${n} < 0", {}, "", True),
    ("${n} mod 2 = 1", {}, "", True),
    ("${n} div 2 = 2.5", {}, "", True),
    ("if(${q} = 'yes', 1, 2) = 1", {}, "", True),
    ("coalesce(${empty}, 'x') = 'x'", {}, "", True),
    ("number(${n}) + number('2') = 7", {}, "", True),
    ("${missing} = ''", {}, "", True),
    ('${q} = "yes"', {}, "", True),
]


@pytest.mark.parametrize(("text", "extra", "current", "expected"), CASES)
def test_expressions_evaluate_like_xpath(text, extra, current, expected):
    assert expr.holds(expr.parse(text), {**VALUES, **extra}, current) is expected


@pytest.mark.parametrize("text", ["foo(1)", "now()", "/data/q = 'x'", "${q} = ", "${q} == 'x'", "q = 'x'",
                                  "selected(${q})", "(${q} = 'x'", "${q} = 'x')", "'unterminated", "${q} ; 1",
                                  "", "${q} = 'x' 'y'", "eval('1')", "__import__('os')"])
def test_anything_outside_the_subset_is_refused(text):
    with pytest.raises(expr.ExpressionError):
        expr.parse(text)


def test_references_are_collected():
    assert expr.references(expr.parse("${a} = 'x' and selected(${b}, 'y') or not(${c} > 1)")) == {"a", "b", "c"}


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(expr.ExpressionError):
        expr.parse("(" * 200 + "1" + ")" * 200)
