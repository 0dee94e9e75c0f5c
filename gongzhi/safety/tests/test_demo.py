from __future__ import annotations

import pytest
from django.core.management import call_command

from gongzhi.appraisal import scoring
from gongzhi.appraisal.demo import build_demo_appraisal
from gongzhi.appraisal.models import Project, Selection
from gongzhi.core.demo import build_demo_city
from gongzhi.safety import queries
from gongzhi.safety.demo import _month, build_demo_safety
from gongzhi.safety.models import Grade, Measure, PoliceArea

pytestmark = pytest.mark.django_db


def test_the_demo_city_has_two_months_of_grades_with_a_red_area_and_its_measures():
    build_demo_city()
    older = dict((pa.code, level) for pa, level, _f in queries.month_grades(_month(2)))
    assert older["hb-pa"] == "red" and len(older) == 3
    assert len(queries.month_grades(_month(1))) == 3
    red = Grade.objects.get(police_area__code="hb-pa", month=_month(2))
    assert red.measures.count() == 3 and Measure.objects.filter(status="done").count() == 1
    fhl = PoliceArea.objects.get(code="fhl-pa")
    assert set(fhl.covers.values_list("name", flat=True)) == {"凤凰岭街道", "海北街道"}
    assert fhl.department.code == "fhl-police"
    assert build_demo_safety() == 0  # once


def test_the_demo_city_has_a_scored_project_and_a_published_selection():
    build_demo_city()
    result = scoring.project_result(Project.objects.get())
    assert result.weighted is not None and {p.party: p.sheets for p in result.parties} == {
        "leader": 1, "deputy": 1, "party_member": 2, "resident": 3}
    selection = Selection.objects.get()
    assert selection.status == "published" and [w["votes"] for w in selection.result["winners"]] == [4, 3]
    assert build_demo_appraisal() == 0  # once


def test_the_demo_reset_removes_and_rebuilds_them():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert PoliceArea.objects.count() == 3 and Project.objects.count() == 1
    call_command("load_demo", "--reset", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert PoliceArea.objects.count() == 3 and Grade.objects.count() == 6 and Selection.objects.count() == 1
