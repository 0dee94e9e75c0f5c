from __future__ import annotations

import pytest

from gongzhi.cases.demo import build_demo_cases
from gongzhi.cases.models import Case
from gongzhi.core.demo import build_demo_city

pytestmark = pytest.mark.django_db


def test_demo_cases_cover_the_loop_and_load_once():
    build_demo_city()
    assert build_demo_cases() == 7
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"reported", "filed", "dispatched", "in_progress", "handled", "closed", "returned"} <= statuses
    closed = Case.objects.get(status="closed")
    assert list(closed.events.values_list("action", flat=True))[-3:] == ["handle", "verify", "rate"]
    assert build_demo_cases() == 0
