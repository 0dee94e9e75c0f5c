"""``{% load screen_tags %}{% if user|may_view_screen %}…``: the navigation's link to the wall screen."""

from __future__ import annotations

from django import template

from gongzhi.screen import rules

register = template.Library()


@register.filter
def may_view_screen(user) -> bool:
    return rules.may_view(user)
