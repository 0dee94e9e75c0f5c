"""``gongzhi router train|status`` and the demo's model."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from gongzhi.router.models import RouterModel


def run(*args) -> str:
    out = io.StringIO()
    call_command("router", *args, stdout=out)
    return out.getvalue()


def test_train_and_status(world, routerdir):
    assert "no active model" in run("status")
    text = run("train", "--target", "category")
    assert "[directory]" in text and "not activated" in text
    assert not RouterModel.objects.filter(is_active=True).exists()
    text = run("train", "--activate")
    assert "案件分类 v2 [directory]" in text and "处置部门 v1 [directory]" in text and "; activated" in text
    status = run("status")
    assert "category: 案件分类 v2" in status and "department: 处置部门 v1" in status
    assert "auto-dispatch: off" in status


def test_a_bad_target_is_refused(world):
    with pytest.raises(CommandError):
        run("train", "--target", "weather")


def test_the_demo_leaves_a_model_active(db):
    from gongzhi.cases.demo import build_demo_cases
    from gongzhi.core.demo import build_demo_city

    build_demo_city()
    build_demo_cases()
    assert set(RouterModel.objects.filter(is_active=True).values_list("target", flat=True)) == {
        "category", "department"}
