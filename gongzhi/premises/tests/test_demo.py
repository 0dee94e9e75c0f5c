"""The demo: 33 premises in 凤凰岭街道's grids and the sample checklist, active; nothing twice."""

from __future__ import annotations

import pytest

from gongzhi.checklists.services import active_version
from gongzhi.premises.demo import build_demo_inspections
from gongzhi.premises.models import Premises


@pytest.mark.django_db
def test_demo_premises_and_checklist(types):
    from gongzhi.conftest import ensure_reference_data
    from gongzhi.core.demo import build_demo_city

    ensure_reference_data()
    build_demo_city()
    assert build_demo_inspections() == 33
    premises = Premises.objects.select_related("area")
    assert {p.area.name for p in premises} == {"凤凰小巷一网格", "凤凰小巷二网格", "凤凰小巷三网格"}
    assert all(p.area_path.startswith(p.area.path) for p in premises)
    assert Premises.objects.with_licence_expiring(30).count() >= 5
    assert active_version("joint") is not None
    assert build_demo_inspections() == 0
