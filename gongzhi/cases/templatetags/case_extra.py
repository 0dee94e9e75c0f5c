"""``{% case_extra case as extra %}``: what the case page shows of ``Case.extra`` — the category's
declared extra fields with their labels (``extra.declared``) and the source information written by
the channels (``extra.source``); see ``gongzhi.cases.extra_fields.display_rows``."""

from __future__ import annotations

from django import template

from gongzhi.cases.extra_fields import display_rows

register = template.Library()


@register.simple_tag
def case_extra(case) -> dict:
    declared, source = display_rows(case)
    return {"declared": declared, "source": source}
