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


def test_demo_grades_two_months_with_a_red_area_and_its_measures():
    build_demo_city()
    assert build_demo_safety() == 6
    older = dict((pa.code, level) for pa, level, _f in queries.month_grades(_month(2)))
    assert older["hb-pa"] == "red"
    assert len(queries.month_grades(_month(1))) == 3
    red = Grade.objects.get(police_area__code="hb-pa", month=_month(2))
    assert red.measures.count() == 3 and Measure.objects.filter(status="done").count() == 1
    fhl = PoliceArea.objects.get(code="fhl-pa")
    assert set(fhl.covers.values_list("name", flat=True)) == {"凤凰岭街道", "海北街道"}
    assert build_demo_safety() == 0


def test_demo_appraisal_has_a_scored_project_and_a_published_selection():
    build_demo_city()
    assert build_demo_appraisal() == 7
    result = scoring.project_result(Project.objects.get())
    assert result.weighted is not None and {p.party: p.sheets for p in result.parties}["resident"] == 3
    selection = Selection.objects.get()
    assert selection.status == "published" and len(selection.result["winners"]) == 2
    assert build_demo_appraisal() == 0


def test_the_demo_command_loads_and_resets_them():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert PoliceArea.objects.count() == 3 and Project.objects.count() == 1
    call_command("load_demo", "--reset", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert PoliceArea.objects.count() == 3 and Grade.objects.count() == 6 and Selection.objects.count() == 1
