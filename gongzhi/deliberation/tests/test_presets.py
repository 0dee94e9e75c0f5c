"""The presets say what the statutes say (``presets``; the readings are in its docstring)."""

from __future__ import annotations

import pytest
from django.utils import translation

from gongzhi.deliberation import presets, rules
from gongzhi.deliberation.models import Decision, Stage
from gongzhi.deliberation.presets import cond

EXPECTED = {"civil_code_278_ordinary", "civil_code_278_major", "renovation_two_rounds", "villagers_meeting",
            "representatives_meeting", "elevator_two_electorates"}


def test_the_presets_are_there_and_valid():
    assert set(presets.PRESETS) == EXPECTED
    for code, preset in presets.PRESETS.items():
        assert preset.code == code and str(preset.name) and str(preset.source)
        assert preset.ballot_unit in Decision.BallotUnit.values
        keys = [e.key for e in preset.electorates]
        assert keys[0] == "all" and len(set(keys)) == len(keys)
        for index, question in enumerate(preset.questions):
            normal = rules.validate(question.rule, electorates=keys)
            assert normal == question.rule  # written in normal form already
            assert question.requires is None or 0 <= question.requires < index
            assert "%(title)s" in str(question.text)


def test_stage_presets_cover_every_stage_kind():
    assert set(presets.STAGE_PRESETS) == set(Stage.Kind.values)
    for kind, stage in presets.STAGE_PRESETS.items():
        assert stage.kind == kind and str(stage.name) and str(stage.source)
        assert rules.validate(stage.rule) == stage.rule
        assert {c["measure"] for c in rules.conditions(stage.rule)} == {"persons"}  # stage figures are persons


def test_278_thresholds_are_the_statute_s():
    quorum = [cond("participants", "area", "electorate", ">=", "2/3"),
              cond("participants", "persons", "electorate", ">=", "2/3")]
    ordinary = presets.PRESETS["civil_code_278_ordinary"].questions[0].rule
    major = presets.PRESETS["civil_code_278_major"].questions[0].rule
    assert ordinary == {"all": quorum + [cond("for", "area", "participants", ">", "1/2"),
                                         cond("for", "persons", "participants", ">", "1/2")]}
    assert major == {"all": quorum + [cond("for", "area", "participants", ">=", "3/4"),
                                      cond("for", "persons", "participants", ">=", "3/4")]}


def test_two_rounds_second_requires_first():
    preset = presets.PRESETS["renovation_two_rounds"]
    first, second = preset.questions
    assert first.requires is None and second.requires == 0
    assert first.rule == second.rule == cond("for", "households", "electorate", ">=", "2/3")
    assert preset.ballot_unit == "household"
    assert preset.question_texts("3号院改造") == ["是否同意实施改造：3号院改造", "是否同意改造方案：3号院改造"]


def test_elevator_has_a_building_to_choose():
    preset = presets.PRESETS["elevator_two_electorates"]
    estate, building = preset.electorates
    assert estate.buildings == [] and building.buildings is None
    keys = rules.electorate_keys(preset.questions[0].rule)
    assert keys == {"all", "building"}
    assert "［本栋业主］同意的人数占全体人数的比例 ≥ 9/10" in preset.description()


def test_villagers_and_representatives_meetings():
    villagers = presets.PRESETS["villagers_meeting"].questions[0].rule
    assert villagers["all"][0] == {"any": [cond("attendees", "persons", "electorate", ">", "1/2"),
                                           cond("attendees", "households", "electorate", ">=", "2/3")]}
    assert villagers["all"][1] == cond("for", "persons", "attendees", ">", "1/2")
    reps = presets.PRESETS["representatives_meeting"]
    assert reps.ballot_unit == "representative"
    assert reps.questions[0].rule == {"all": [cond("attendees", "persons", "electorate", ">=", "2/3"),
                                             cond("for", "persons", "attendees", ">", "1/2")]}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_for_form_lists_code_name_description(language):
    with translation.override(language):
        rows = presets.for_form()
        stages = presets.stages_for_form()
    assert [code for code, _name, _text in rows] == list(presets.PRESETS)
    assert all(name and text for _code, name, text in rows)
    assert "\n2. " in dict((c, t) for c, _n, t in rows)["renovation_two_rounds"]
    assert [kind for kind, _n, _t in stages] == list(presets.STAGE_PRESETS)


def test_stage_figures_shape():
    figures = presets.stage_figures(9, 7, 5, 1)
    assert figures == {"all": {"electorate": {"persons": 9}, "participants": {"persons": 7},
                               "attendees": {"persons": 7}, "for": {"persons": 5}, "against": {"persons": 1},
                               "abstain": {"persons": 1}}}
    assert presets.stage_figures(None, None, None)["all"]["for"] == {"persons": 0}
