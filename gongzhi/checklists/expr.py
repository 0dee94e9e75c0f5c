"""A small, safe evaluator for the XLSForm expressions we support in ``relevant`` and ``constraint``.

A tokenizer and a precedence-climbing parser turn the text into a tree of JSON lists (no ``eval``);
the same tree is evaluated here on the server and by ``static/checklists/form.js`` on the phone, so
the two cannot disagree about what an expression means. Anything outside the subset — an unknown
function, an XPath path, a stray character — is refused when the workbook is uploaded.

The subset (docs/checklists.md):

- ``${name}`` — the answer to another question ('' when unanswered or not relevant; the chosen
  names separated by spaces for select_multiple); ``.`` — the answer being checked (constraints);
- string literals ``'yes'`` / ``"yes"``, numbers ``3``, ``2.5``;
- ``or``, ``and``, ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``+``, ``-``, ``*``, ``div``, ``mod``,
  unary ``-``, parentheses;
- functions: ``selected(s, 'x')``, ``count-selected(s)``, ``string-length(s)``, ``not(b)``,
  ``true()``, ``false()``, ``number(s)``, ``string(x)``, ``if(c, a, b)``, ``coalesce(a, b)``.

Values follow XPath 1.0: ``=``/``!=`` compare as booleans when a side is boolean, else as numbers
when a side is a number, else as strings; ``<``… always compare numbers; ``number('')`` is NaN, and
every comparison with NaN is false (so ``. >= 0`` fails on text, and ``${n} > 3`` is false while
``n`` is unanswered).

Trees: ``["num", 3.0]``, ``["str", "yes"]``, ``["ref", "q"]``, ``["cur"]``, ``["neg", a]``,
``["op", "and", a, b]``, ``["call", "selected", [a, b]]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

#: name → (min args, max args)
FUNCTIONS = {
    "selected": (2, 2), "count-selected": (1, 1), "string-length": (1, 1), "not": (1, 1), "true": (0, 0),
    "false": (0, 0), "number": (1, 1), "string": (1, 1), "if": (3, 3), "coalesce": (2, 2),
}
#: operator → binding power (higher binds tighter)
BINARY = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6,
          "div": 6, "mod": 6}
MAX_LENGTH = 1000
MAX_DEPTH = 50

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<cur>\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
""", re.VERBOSE)
_NUMBER = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)\s*$")


class ExpressionError(ValueError):
    """The text is not an expression of the subset; the message is for the user."""


def tokenize(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("表达式过长（不能超过 %(n)d 个字符）") % {"n": MAX_LENGTH})
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(_("第 %(pos)d 个字符“%(char)s”无法识别") % {"pos": pos + 1, "char": text[pos]})
        kind = match.lastgroup
        if kind == "refname":
            kind = "ref"
        pos = match.end()
        if kind == "space":
            continue
        if kind == "ref":
            tokens.append(("ref", match.group("refname")))
        elif kind == "name" and match.group() in ("and", "or", "div", "mod"):
            tokens.append(("op", match.group()))
        else:
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError(_("表达式不完整"))
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token != ("op", value):
            raise ExpressionError(_("此处应为“%(want)s”，却是“%(got)s”") % {"want": value, "got": token[1]})

    def expression(self, min_power: int = 1) -> list:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("表达式嵌套过深"))
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token[0] != "op" or token[1] not in BINARY or BINARY[token[1]] < min_power:
                break
            self.pos += 1
            right = self.expression(BINARY[token[1]] + 1)
            left = ["op", token[1], left, right]
        self.depth -= 1
        return left

    def unary(self) -> list:
        token = self.take()
        kind, value = token
        if (kind, value) == ("op", "-"):
            return ["neg", self.unary()]
        if (kind, value) == ("op", "("):
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "num":
            return ["num", float(value)]
        if kind == "str":
            return ["str", value[1:-1]]
        if kind == "ref":
            return ["ref", value]
        if kind == "cur":
            return ["cur"]
        if kind == "name":
            if self.peek() != ("op", "("):
                raise ExpressionError(_("不支持路径或名称“%(name)s”，引用题目请写 ${%(name)s}") % {"name": value})
            if value not in FUNCTIONS:
                raise ExpressionError(_("不支持的函数：%(name)s()") % {"name": value})
            self.pos += 1
            args: list = []
            if self.peek() != ("op", ")"):
                args.append(self.expression())
                while self.peek() == ("op", ","):
                    self.pos += 1
                    args.append(self.expression())
            self.expect(")")
            low, high = FUNCTIONS[value]
            if not low <= len(args) <= high:
                raise ExpressionError(_("函数 %(name)s() 需要 %(n)d 个参数") % {"name": value, "n": low})
            return ["call", value, args]
        raise ExpressionError(_("此处不应出现“%(token)s”") % {"token": value})


def parse(text: str) -> list:
    """The tree of an expression, or raise ExpressionError."""
    tokens = tokenize(text or "")
    if not tokens:
        raise ExpressionError(_("表达式为空"))
    parser = _Parser(tokens)
    tree = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(_("多余的内容：“%(token)s”") % {"token": parser.peek()[1]})
    return tree


def references(tree: list) -> set[str]:
    """The question names an expression refers to with ``${…}``."""
    kind = tree[0]
    if kind == "ref":
        return {tree[1]}
    if kind == "neg":
        return references(tree[1])
    if kind == "op":
        return references(tree[2]) | references(tree[3])
    if kind == "call":
        return set().union(*(references(a) for a in tree[2])) if tree[2] else set()
    return set()


# ---------------------------------------------------------------------------------------------
# Evaluation (mirrored in static/checklists/form.js: keep the two in step)
# ---------------------------------------------------------------------------------------------


def to_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return float(value) if _NUMBER.match(value) else math.nan


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not (value == 0 or math.isnan(value))
    return value != ""


def to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            equal = to_boolean(a) == to_boolean(b)
        elif isinstance(a, float) or isinstance(b, float):
            equal = to_number(a) == to_number(b)
        else:
            equal = to_string(a) == to_string(b)
        return equal if op == "=" else not equal
    x, y = to_number(a), to_number(b)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def evaluate(tree: list, values: Mapping[str, str], current: str = "") -> Any:
    """Evaluate a tree; ``values`` maps question names to their XPath string values."""
    kind = tree[0]
    if kind == "num":
        return float(tree[1])
    if kind == "str":
        return tree[1]
    if kind == "ref":
        return values.get(tree[1], "")
    if kind == "cur":
        return current
    if kind == "neg":
        return -to_number(evaluate(tree[1], values, current))
    if kind == "op":
        op = tree[1]
        if op == "or":
            return to_boolean(evaluate(tree[2], values, current)) or to_boolean(evaluate(tree[3], values, current))
        if op == "and":
            return to_boolean(evaluate(tree[2], values, current)) and to_boolean(evaluate(tree[3], values, current))
        a, b = evaluate(tree[2], values, current), evaluate(tree[3], values, current)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        x, y = to_number(a), to_number(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            return x / y if y else (math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * (
                math.copysign(1, y)))
        if op == "mod":
            return math.fmod(x, y) if y else math.nan
    if kind == "call":
        name, args = tree[1], [evaluate(a, values, current) for a in tree[2]]
        if name == "selected":
            return to_string(args[1]).strip() in to_string(args[0]).split()
        if name == "count-selected":
            return float(len(to_string(args[0]).split()))
        if name == "string-length":
            return float(len(to_string(args[0])))
        if name == "not":
            return not to_boolean(args[0])
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "number":
            return to_number(args[0])
        if name == "string":
            return to_string(args[0])
        if name == "if":
            return args[1] if to_boolean(args[0]) else args[2]
        if name == "coalesce":
            return args[0] if to_string(args[0]) != "" else args[1]
    raise ExpressionError(f"unknown node {kind!r}")  # a tree not made by ``parse``


def holds(tree: list | None, values: Mapping[str, str], current: str = "") -> bool:
    """Is the expression true? No expression holds."""
    return True if tree is None else to_boolean(evaluate(tree, values, current))
