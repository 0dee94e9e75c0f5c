"""Template filters for the evaluation pages."""

from __future__ import annotations

from fractions import Fraction

from django import template

register = template.Library()


@register.filter
def rate(figures, code: str):
    """``figures|rate:"close"`` → the Rate of that indicator (or None)."""
    if figures is None:
        return None
    return figures.rates.get(code)


@register.filter
def frac(value) -> str:
    """A numerator: an integer as is, a fraction (基本满意 weighted) with two decimals."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{float(value):.2f}"
    return str(value)
