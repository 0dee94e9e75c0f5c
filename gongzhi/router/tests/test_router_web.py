"""The router on the case page, the one-click accept, the accuracy page and the API — including who
may see what and bad input (never a 500)."""

from __future__ import annotations

import pytest

from gongzhi.cases.models import Case
from gongzhi.router import services
from gongzhi.router.models import RouterSettings, Suggestion

from .conftest import report

GARBAGE = "巷口垃圾堆了好几天"


@pytest.fixture
def trained(world, routerdir):
    services.train_all(activate=True)
    return routerdir


def test_the_dispatcher_sees_suggestions_with_their_words(world, trained, login):
    case = report(world, GARBAGE)
    page = login(world.dispatcher).get(f"/cases/{case.number}/")
    html = page.content.decode()
    assert page.status_code == 200 and "智能分派建议" in html and "按建议立案并派遣" in html
    assert "06010 暴露垃圾" in html and "<mark>" in html


@pytest.mark.parametrize("who", ["resident", "worker", "handler"])
def test_others_do_not_see_the_card(world, trained, login, who):
    case = report(world, GARBAGE)
    html = login(getattr(world, who)).get(f"/cases/{case.number}/").content.decode()
    assert "智能分派建议" not in html


def test_suggestions_switched_off(world, trained, login):
    row = RouterSettings.load()
    row.suggestions_enabled = False
    row.save()
    case = report(world, GARBAGE)
    assert "智能分派建议" not in login(world.dispatcher).get(f"/cases/{case.number}/").content.decode()
    assert login(world.dispatcher).get(f"/api/v1/router/cases/{case.number}").json()["enabled"] is False


def test_no_model_yet_says_so(world, routerdir, login):
    case = report(world, GARBAGE)
    assert "尚未训练分派模型" in login(world.dispatcher).get(f"/cases/{case.number}/").content.decode()


def test_accept_files_and_dispatches_through_the_transitions(world, trained, login):
    case = report(world, GARBAGE)
    found = services.suggest(case)
    client = login(world.dispatcher)
    response = client.post(f"/router/cases/{case.number}/accept/", {
        "category": found.category[0]["id"], "department": found.department[0]["id"]})
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"
    case = Case.objects.get(pk=case.pk)
    assert case.status == "dispatched" and case.category.code == found.category[0]["label"]
    assert case.department.code == found.department[0]["label"]
    assert list(case.events.values_list("action", flat=True)) == ["report", "file", "dispatch"]
    assert all(e.actor == world.dispatcher for e in case.events.exclude(action="report"))


def test_accept_without_a_department_changes_nothing(world, trained, login):
    case = report(world, GARBAGE)
    found = services.suggest(case)
    response = login(world.dispatcher).post(f"/router/cases/{case.number}/accept/",
                                            {"category": found.category[0]["id"], "department": "x"})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == "reported"  # the filing was rolled back too


def test_accept_is_refused_to_others(world, trained, login):
    case = report(world, GARBAGE)
    assert login(world.worker).post(f"/router/cases/{case.number}/accept/", {}).status_code == 403
    assert login(world.outsider).post(f"/router/cases/{case.number}/accept/", {}).status_code == 404


def test_the_api_gives_suggestions_to_dispatchers_only(world, trained, login):
    case = report(world, GARBAGE)
    body = login(world.dispatcher).get(f"/api/v1/router/cases/{case.number}").json()
    assert body["category"][0]["label"] == "06010" and body["category"][0]["words"]
    assert set(body["models"]) == {"category", "department"}
    assert login(world.handler).get(f"/api/v1/router/cases/{case.number}").status_code == 403
    assert login(world.outsider).get(f"/api/v1/router/cases/{case.number}").status_code == 404
    # the routing rules' suggestions keep working beside it
    assert login(world.dispatcher).get(f"/api/v1/cases/{case.number}/suggestions").status_code == 200


@pytest.mark.parametrize("title,description", [
    ("😀😀😀 垃圾 🗑️", ""),
    ("巷口垃圾堆積了好幾天，無人清運", "繁體字的描述"),
    ("Garbage pile 垃圾 at the corner of 凤凰路", "mixed 中英文 text, with numbers 123"),
    ("垃圾", "很长" * 10000),
    ("!!!", ""),
    ("", "只有描述：楼下晚上很吵"),
])
def test_preview_with_odd_text(world, trained, login, title, description):
    response = login(world.dispatcher).post("/api/v1/router/preview", {"title": title, "description": description},
                                            content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body["category"], list) and all(0 <= row["p"] <= 1 for row in body["category"])


def test_preview_refuses_empty_and_oversized_text_clearly(world, trained, login):
    client = login(world.dispatcher)
    empty = client.post("/api/v1/router/preview", {"title": " ", "description": ""}, content_type="application/json")
    assert empty.status_code == 400 and "请填写要分析的标题或描述" in str(empty.json())
    huge = client.post("/api/v1/router/preview", {"title": "垃" * 20001}, content_type="application/json")
    assert huge.status_code == 400 and huge.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("title", ["😀🗑️😀", "巷口垃圾堆積了好幾天", "trash 垃圾 pile near 路口"])
def test_cases_with_odd_text_get_suggestions(world, trained, login, title):
    case = report(world, title, description="🚮" * 2000 + "描述" * 1000)
    assert login(world.dispatcher).get(f"/cases/{case.number}/").status_code == 200
    response = login(world.dispatcher).get(f"/api/v1/router/cases/{case.number}")
    assert response.status_code == 200


def test_accuracy_page_and_api(world, trained, login):
    case = report(world, GARBAGE)
    found = services.suggest(case)
    services.accept(case, actor=world.dispatcher, category=trained["categories"][found.category[0]["label"]],
                    department=trained["enforcement"] if found.department[0]["label"] == "enf-a" else trained["office"])
    client = login(world.dispatcher)
    page = client.get("/router/?days=7&target=category")
    html = page.content.decode()
    assert page.status_code == 200 and "智能分派准确率" in html and "100%" in html and "使用中" in html
    body = client.get("/api/v1/router/accuracy?days=7").json()
    assert body["totals"]["category"]["taken"] == 1 and body["totals"]["category"]["taken_rate"] == 1.0
    assert body["by_category"][0]["code"] == found.category[0]["label"]
    models = client.get("/api/v1/router/models").json()
    assert {m["target"] for m in models if m["is_active"]} == {"category", "department"}
    assert client.get("/router/?days=bogus&target=bogus").status_code == 200
    assert login(world.worker).get("/router/").status_code == 403
    assert login(world.worker).get("/api/v1/router/accuracy").status_code == 403


def test_admin_activates_a_version(world, trained, login):
    old = services.train("category", activate=False)
    assert old.model is None  # same data as the active one: no new version
    from gongzhi.router.models import RouterModel

    first = RouterModel.objects.get(target="category", is_active=True)
    clone = RouterModel.objects.create(target="category", version=first.version + 1, source="directory",
                                       blob=bytes(first.blob), metrics={})
    client = login(world.admin)
    assert client.get("/admin/router/routermodel/").status_code == 200
    assert client.get("/admin/router/routersettings/").status_code == 200
    response = client.post("/admin/router/routermodel/", {"action": "activate", "_selected_action": [clone.pk]})
    assert response.status_code == 302
    assert RouterModel.objects.get(is_active=True, target="category") == clone
    assert not Suggestion.objects.exists()


def _confidences(html: str) -> list[str]:
    import re

    return re.findall(r'<span class="p"[^>]*>([^<]*)</span>', html)


def test_a_cold_start_ranks_without_a_confidence_and_history_gives_one(world, routerdir, make_closed, login):
    """The directory's model is not calibrated: a percentage would read as the model's certainty (a
    few per cent for the right category), so the card ranks and says why; a model trained on the
    history shows its calibrated confidence."""
    services.train_all(activate=True)
    case = report(world, GARBAGE)
    html = login(world.dispatcher).get(f"/cases/{case.number}/").content.decode()
    assert "06010 暴露垃圾" in html and _confidences(html) == [] and "仅供参考" in html
    api = login(world.dispatcher).get(f"/api/v1/router/cases/{case.number}").json()
    assert api["uncalibrated"] == {"category": True, "department": True}

    row = RouterSettings.load()
    row.min_examples = 10
    row.save()
    c = routerdir["categories"]
    for i in range(4):
        make_closed(f"小区门口垃圾乱倒{i}", c["06010"], routerdir["enforcement"])
        make_closed(f"夜间施工噪音太吵{i}", c["06028"], routerdir["police"])
        make_closed(f"垃圾箱满了没人清运{i}", c["06042"], routerdir["office"])
    services.train_all(activate=True)
    services.forget()
    case = report(world, "巷口垃圾乱倒没人管")
    html = login(world.dispatcher).get(f"/cases/{case.number}/").content.decode()
    assert _confidences(html) and all(p.endswith("%") for p in _confidences(html)) and "仅供参考" not in html
