"""Fixtures for smart dispatch: a small directory with departments in street A, helpers that make
closed and corrected cases, and the router's per-process caches emptied around each test.
"""

from __future__ import annotations

import pytest
from django.utils import timezone


@pytest.fixture(autouse=True)
def _fresh_router():
    from gongzhi.router import services

    services.forget()
    yield
    services.forget()


@pytest.fixture
def routerdir(world):
    """An active directory of five categories, three departments in street A with defaults."""
    from gongzhi.cases.models import Category, DirectoryVersion
    from gongzhi.orgs import services as org_services

    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)
    version = DirectoryVersion.objects.create(name="智能分派测试目录", is_active=True)
    enforcement = org_services.create_department(actor=None, name="东街道综合执法队", code="enf-a", kind="enforcement",
                                                 areas=[world.street_a], home_area=world.street_a)
    office = org_services.create_department(actor=None, name="东街道办事处", code="office-a", kind="street_office",
                                            areas=[world.street_a], home_area=world.street_a)
    specs = [
        ("06010", "暴露垃圾", "市容环境", "垃圾 堆放 垃圾袋 生活垃圾 乱倒", enforcement),
        ("06042", "垃圾站（箱）满溢", "市容环境", "垃圾箱 垃圾桶 满溢 清运", office),
        ("09009", "机动车乱停放", "街面秩序", "违停 停车 占道停车 汽车", world.police_a),
        ("06028", "噪声扰民", "市容环境", "噪音 吵闹 施工噪声 夜间", world.police_a),
        ("06013", "道路破损", "设施管理", "路面 坑洼 井盖 地砖", office),
    ]
    categories = {}
    for code, name, major, keywords, department in specs:
        categories[code] = Category.objects.create(version=version, code=code, name=name, kind=Category.Kind.MATTER,
                                                   major_name=major, keywords=keywords, default_department=department)
    return {"version": version, "categories": categories, "enforcement": enforcement, "office": office,
            "police": world.police_a}


@pytest.fixture
def make_closed(world):
    """``make_closed(title, category, department)``: a closed case in grid A1 whose last dispatch
    went to ``department`` (rows written directly: the history a deployment already has)."""
    from gongzhi.cases.models import Case, CaseEvent

    counter = {"n": 0}

    def make(title, category, department, *, description=""):
        counter["n"] += 1
        now = timezone.now()
        case = Case.objects.create(
            number=f"T-{counter['n']:05d}", title=title, description=description, category=category,
            status="closed", area=world.grid_a1, area_path=world.grid_a1.path, lon=100.05, lat=30.05,
            department=department, filed_at=now, dispatched_at=now, closed_at=now)
        CaseEvent.objects.create(case=case, action="dispatch", department=department, from_status="filed",
                                 to_status="dispatched")
        return case

    return make


def report(world, title, *, category=None, reporter=None, description="", located=True):
    from gongzhi.cases import intake

    return intake.report_case(intake.Report(
        title=title, description=description, category=category, lon=100.05 if located else None,
        lat=30.05 if located else None, address="" if located else "东街道某小区门口"),
        reporter=reporter or world.resident)[0]
