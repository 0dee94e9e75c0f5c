"""The pages: the map and its JSON, the grade page and its forms, entering and importing figures."""

from __future__ import annotations

import pytest

from gongzhi.safety import services
from gongzhi.safety.models import Feedback, Grade, Measure

from .conftest import GREEN, MONTH, RED
from .test_import import GOOD


@pytest.fixture
def graded(world, police):
    red = services.publish_grade(services.record_figures(police[0], MONTH, actor=world.admin, values=RED),
                                 actor=world.admin)
    green = services.record_figures(police[1], MONTH, actor=world.admin, values=GREEN)
    return red, green


def test_the_map_json_is_coloured_by_level_inside_the_jurisdiction(world, graded, login):
    data = login(world.worker).get("/safety/map.json?month=2026-10").json()
    assert [(f["properties"]["code"], f["properties"]["level"], f["properties"]["colour"])
            for f in data["features"]] == [("pa-a", "red", "#c62828")]
    data = login(world.outsider).get("/safety/map.json?month=2026-10").json()
    assert [(f["properties"]["code"], f["properties"]["level"]) for f in data["features"]] == [("pa-b", "")]
    data = login(world.admin).get("/safety/map.json?month=2026-10").json()
    assert [f["properties"]["level"] for f in data["features"]] == ["red", "green"]


def test_the_map_page_has_a_legend_and_the_month(world, graded, login):
    page = login(world.dispatcher).get("/safety/?month=2026-10").content.decode()
    assert 'data-geojson="/safety/map.json?month=2026-10"' in page
    assert "红色·警告" in page and "lvl-black" in page and "<script>" not in page


def test_the_grade_page_and_the_outsiders_404(world, graded, login):
    red, green = graded
    assert login(world.outsider).get(f"/safety/grades/{red.pk}/").status_code == 404
    assert login(world.worker).get(f"/safety/grades/{green.pk}/").status_code == 404  # not theirs
    page = login(world.dispatcher).get(f"/safety/grades/{red.pk}/").content.decode()
    assert "下达整改措施" in page and "v1" in page


def test_measure_and_feedback_through_the_pages(world, graded, login):
    red, _green = graded
    client = login(world.dispatcher)
    response = client.post(f"/safety/grades/{red.pk}/measures/", {"what": "增设夜间巡逻", "owner": "民警甲",
                                                                  "due_on": "2026-11-30"})
    assert response.status_code == 302
    measure = Measure.objects.get()
    client = login(world.handler)
    client.post(f"/safety/measures/{measure.pk}/feedback/", {"result": "done", "note": "已落实"})
    assert Feedback.objects.get().result == "done"
    response = login(world.worker).post(f"/safety/grades/{red.pk}/measures/", {"what": "x", "owner": "y",
                                                                              "due_on": "2026-11-30"})
    assert response.status_code == 403
    assert login(world.outsider).post(f"/safety/measures/{measure.pk}/feedback/",
                                      {"result": "done", "note": "x"}).status_code == 404


def test_entering_figures_on_the_form(world, police, login):
    client = login(world.handler)
    assert client.get("/safety/enter/").status_code == 200
    response = client.post("/safety/enter/", {"police_area": police[0].pk, "month": "2026-10", **RED})
    grade = Grade.objects.get()
    assert response.status_code == 302 and grade.level == "red" and grade.status == "draft"
    response = client.post("/safety/enter/", {"police_area": police[1].pk, "month": "2026-10", **RED})
    assert response.status_code == 200 and Grade.objects.count() == 1  # not a choice for 东派出所
    assert login(world.worker).get("/safety/enter/").status_code == 403


def test_publishing_the_month(world, graded, login):
    response = login(world.admin).post("/safety/publish-month/", {"month": "2026-10"})
    assert response.status_code == 302
    assert set(Grade.objects.values_list("status", flat=True)) == {"published"}


def test_importing_on_the_page_dry_run_then_commit(world, police, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(world.admin)

    def upload(commit):
        data = {"file": SimpleUploadedFile("f.xlsx", GOOD)}
        if commit:
            data["commit"] = "on"
        return client.post("/safety/import/", data).content.decode()

    assert "试运行" in upload(False) and not Grade.objects.exists()
    assert "已导入" in upload(True) and Grade.objects.count() == 2
    page = client.post("/safety/import/", {"file": SimpleUploadedFile("f.xlsx", b"junk")}).content.decode()
    assert "不是有效的 xlsx" in page


def test_the_form_takes_a_survey_instead_of_the_percentage(world, police, login):
    client = login(world.dispatcher)
    figures = {k: v for k, v in GREEN.items() if k != "satisfaction"}
    response = client.post("/safety/enter/", {"police_area": police[0].pk, "month": "2026-10", **figures})
    assert response.status_code == 200 and "受访人数和满意人数" in response.content.decode()
    response = client.post("/safety/enter/", {"police_area": police[0].pk, "month": "2026-10", **figures,
                                              "surveyed": "50", "satisfied": "49"})
    assert response.status_code == 302 and str(Grade.objects.get().satisfaction) == "98.00"
    assert "调查 50 人" in client.get(response["Location"]).content.decode()
