"""People in need: one open case per household, who may write and record help, the pages' masking
and 404s, and the need map's suppressed aggregates (never a household, address or name)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.registries import assistance
from gongzhi.registries.models import DifficultyKind, Household, NeedCase, Person

DETAILS = "患尿毒症，每周透析三次"
ADDRESS = "凤凰小巷 3 号楼 2 单元 501"


def household(area, number):
    h = Household.objects.create(area=area, number=number, address=f"{ADDRESS}-{number}")
    Person.objects.create(name=f"户主{number}", area=area, household=h, address=ADDRESS)
    return h


def open_case(world, area, number, level=NeedCase.Level.GENERAL, **kw):
    return assistance.open_need_case(world.admin, household(area, number), kinds=["dibao"], level=level,
                                     details=DETAILS, **kw)


@pytest.fixture
def case(world):
    return assistance.open_need_case(world.worker, household(world.grid_a1, "A1-001"), kinds=["dibao"],
                                     level=NeedCase.Level.SERIOUS, details=DETAILS)


def test_opening_a_case_seals_the_details_and_audits_only_the_mask(world, case):
    assert case.details.reveal() == DETAILS and str(case.details) != DETAILS
    assert [k.code for k in case.kinds.all()] == ["dibao"]
    row = AuditLog.objects.get(action="registries.need_case_open", object_id=str(case.pk))
    assert DETAILS not in json.dumps(row.after, ensure_ascii=False) and row.after["kinds"] == ["dibao"]


def test_one_open_case_per_household_with_a_clear_message_then_again_after_closing(world, case):
    with pytest.raises(ValidationError) as exc:
        assistance.open_need_case(world.worker, case.household, kinds=["dibao"], level="general", details="又一次")
    assert "已有未结案的帮扶档案" in str(exc.value.message_dict["household"])
    assistance.close_need_case(world.worker, case, on=timezone.localdate(), reason="已就业")
    again = assistance.open_need_case(world.worker, case.household, kinds=["dibao"], level="general", details="复发")
    assert NeedCase.objects.filter(household=case.household).count() == 2 and again.closed_on is None


def test_only_writers_of_the_area_open_cases(world):
    h2 = household(world.grid_a2, "A2-001")
    for actor in (world.outsider, world.dispatcher, world.handler, world.resident, world.worker):
        with pytest.raises(PermissionDenied):
            assistance.open_need_case(actor, h2, kinds=["dibao"], level="general", details=DETAILS)
    assert not NeedCase.objects.exists()


def test_input_is_checked(world):
    h = household(world.grid_a1, "A1-009")
    for kwargs, field in (({"kinds": [], "level": "general"}, "kinds"), ({"kinds": ["nope"], "level": "general"}, "kinds"),
                          ({"kinds": ["dibao"], "level": "awful"}, "level")):
        with pytest.raises(ValidationError) as exc:
            assistance.open_need_case(world.worker, h, details=DETAILS, **kwargs)
        assert field in exc.value.message_dict


def test_the_helper_records_help_and_amounts_are_bounded(world, case, login):
    helper = org_services.create_user(actor=None, username="helper", password="x-long-password-1",
                                      display_name="帮扶人甲")
    assistance.assign_helper(world.worker, case, helper)
    today = timezone.localdate()
    record = assistance.record_help(helper, case, kind="goods", on=today, description="送米面油", amount="120.50")
    assert record.given_by == helper and str(record.amount) == "120.50"
    with pytest.raises(PermissionDenied):
        assistance.record_help(world.outsider, case, kind="goods", on=today, description="x")
    for amount in ("-1", "1000000.01", "abc", "1.234"):
        with pytest.raises(ValidationError) as exc:
            assistance.record_help(helper, case, kind="money", on=today, description="慰问金", amount=amount)
        assert "amount" in exc.value.message_dict
    with pytest.raises(ValidationError):
        assistance.record_help(helper, case, kind="money", on=today + datetime.timedelta(days=1), description="x")
    with pytest.raises(PermissionDenied):  # the helper is not a writer: pairing and plans are not theirs
        assistance.add_plan(helper, case, measures="x", starts_on=today)
    c = login(helper)
    page = c.get(reverse("registries:need_case", args=[case.pk])).content.decode()
    assert "help-form" in page and "plan-form" not in page and DETAILS not in page
    response = c.post(reverse("registries:need_case_help", args=[case.pk]),
                      {"kind": "care", "on": today.isoformat(), "description": "上门探望"})
    assert response.status_code == 302 and case.help.count() == 2
    assert c.post(reverse("registries:need_case_plan", args=[case.pk]),
                  {"measures": "x", "starts_on": today.isoformat()}).status_code == 403


def test_plans_and_closing(world, case):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        assistance.add_plan(world.worker, case, measures="申请临时救助", starts_on=today,
                            review_on=today - datetime.timedelta(days=1))
    assert "review_on" in exc.value.message_dict
    plan = assistance.add_plan(world.worker, case, measures="申请临时救助", responsible=world.worker,
                               starts_on=today, review_on=today + datetime.timedelta(days=90))
    assert plan.case == case
    assistance.close_need_case(world.worker, case, on=today, reason="收入稳定")
    with pytest.raises(Conflict):
        assistance.record_help(world.worker, case, kind="care", on=today, description="探望")
    with pytest.raises(Conflict):
        assistance.close_need_case(world.worker, case, on=today, reason="again")


def test_pages_mask_details_and_answer_404_to_those_outside(world, case, login, client):
    page = login(world.worker).get(reverse("registries:need_cases"))
    assert page.status_code == 200 and "A1-001" in page.content.decode() and DETAILS not in page.content.decode()
    assert "private" in page["Cache-Control"]
    detail = client.get(reverse("registries:need_case", args=[case.pk]))
    assert detail.status_code == 200 and DETAILS not in detail.content.decode()
    for user in (world.dispatcher, world.outsider, world.handler, world.resident):
        c = login(user)
        assert c.get(reverse("registries:need_case", args=[case.pk])).status_code == 404
        assert c.post(reverse("registries:need_case_help", args=[case.pk]),
                      {"kind": "care", "on": timezone.localdate(), "description": "x"}).status_code == 404
    assert login(world.dispatcher).get(reverse("registries:need_cases")).status_code == 403
    outsider_list = login(world.outsider).get(reverse("registries:need_cases"))
    assert outsider_list.status_code == 200 and "A1-001" not in outsider_list.content.decode()


def test_opening_from_the_page_and_filters(world, login):
    h = household(world.grid_a1, "A1-077")
    c = login(world.worker)
    url = reverse("registries:need_case_new") + f"?household={h.pk}"
    kind = DifficultyKind.objects.get(code="dibao")
    response = c.post(url, {"kinds": [kind.pk], "level": "severe", "details": DETAILS})
    case = NeedCase.objects.get(household=h)
    assert response.status_code == 302 and response["Location"] == reverse("registries:need_case", args=[case.pk])
    again = c.post(url, {"kinds": [kind.pk], "level": "severe", "details": DETAILS})
    assert again.status_code == 200 and "已有未结案的帮扶档案" in again.content.decode()
    listed = c.get(reverse("registries:need_cases"), {"level": "general"}).content.decode()
    assert "A1-077" not in listed
    assert "A1-077" in c.get(reverse("registries:need_cases"), {"level": "severe", "kind": "dibao"}).content.decode()
    assert login(world.outsider).get(url).status_code == 404


def test_suppression_hides_small_cells_and_any_breakdown_that_would_give_one_away():
    assert assistance.suppress(2, {"general": 2, "serious": 0, "severe": 0}) == (
        "<3", {"general": "<3", "serious": "<3", "severe": "<3"})
    assert assistance.suppress(10, {"general": 6, "serious": 3, "severe": 1}) == (
        "10", {"general": "*", "serious": "*", "severe": "*"})
    assert assistance.suppress(9, {"general": 6, "serious": 3, "severe": 0}) == (
        "9", {"general": "6", "serious": "3", "severe": "<3"})


@pytest.fixture
def mapped(world):
    for i in range(3):
        open_case(world, world.grid_a1, f"A1-10{i}")
    open_case(world, world.grid_a1, "A1-200", NeedCase.Level.SEVERE)
    open_case(world, world.grid_a2, "A2-100")
    closed = open_case(world, world.grid_a2, "A2-101")
    assistance.close_need_case(world.admin, closed, on=timezone.localdate(), reason="脱困")
    return world


def _features(client):
    response = client.get(reverse("registries:need_map_geojson"))
    assert response.status_code == 200
    return response, {f["properties"]["name"]: f["properties"] for f in response.json()["features"]}


def test_the_map_shows_suppressed_counts_and_nothing_about_a_household(mapped, login):
    world = mapped
    response, grids = _features(login(world.worker))
    assert set(grids) == {"东一网格"}
    a1 = grids["东一网格"]
    assert a1["open"] == "4" and a1["url"] == reverse("registries:need_cases") + f"?area={world.grid_a1.pk}"
    assert [lv["count"] for lv in a1["levels"]] == ["*", "*", "*"]  # 3 general would give the severe one away
    body = response.content.decode()
    for secret in ("A1-10", "A1-200", ADDRESS, "户主", DETAILS):
        assert secret not in body


def test_the_dispatcher_sees_the_map_of_street_a_without_links_the_outsider_sees_none_of_it(mapped, login):
    world = mapped
    response, grids = _features(login(world.dispatcher))
    assert set(grids) == {"东一网格", "东二网格"}
    assert grids["东二网格"]["open"] == "<3" and all(g["url"] is None for g in grids.values())
    page = login(world.dispatcher).get(reverse("registries:need_map"))
    assert page.status_code == 200 and "东二网格" in page.content.decode() and "A2-100" not in page.content.decode()
    assert login(world.dispatcher).get(reverse("registries:need_cases"), {"area": world.grid_a1.pk}).status_code == 403
    _, outsider = _features(login(world.outsider))
    assert set(outsider) == {"西一网格"} and outsider["西一网格"]["open"] == "<3"
    assert login(world.resident).get(reverse("registries:need_map")).status_code == 403
    assert login(world.resident).get(reverse("registries:need_map_geojson")).status_code == 403


def test_the_grid_link_filters_the_list(mapped, login):
    world = mapped
    page = login(world.admin).get(reverse("registries:need_cases"), {"area": world.grid_a2.pk}).content.decode()
    assert "A2-100" in page and "A1-100" not in page


def test_a_building_head_opens_a_case_for_a_household_of_their_building_only(world, login):
    from gongzhi.areas import services as area_services
    from gongzhi.areas.models import AreaLevel
    from gongzhi.orgs.models import Role, User

    level = AreaLevel.objects.get(slug="building")
    building = area_services.create_area(actor=None, level=level, parent=world.grid_a1, name="东一1号楼",
                                         code="990101001001001001")
    other = area_services.create_area(actor=None, level=level, parent=world.grid_a1, name="东一2号楼",
                                      code="990101001001001002")
    head = org_services.create_user(actor=None, username="bhead", password="x-long-password-1", display_name="栋长甲")
    org_services.assign_role(actor=None, user=head, area=building, role=Role.objects.get(code="building_head"))
    head = User.objects.get(pk=head.pk)
    mine, theirs = household(building, "B1-101"), household(other, "B2-101")
    c = login(head)
    found = c.get(reverse("registries:need_case_new"), {"q": "-101"}).content.decode()
    assert "B1-101" in found and "B2-101" not in found and "户主" not in found  # numbers only, no members
    url = reverse("registries:need_case_new") + f"?household={mine.pk}"
    assert c.get(url).status_code == 200
    kind = DifficultyKind.objects.get(code="dibao")
    response = c.post(url, {"kinds": [kind.pk], "level": "general", "details": DETAILS})
    case = NeedCase.objects.get(household=mine)
    assert response.status_code == 302 and response["Location"] == reverse("registries:need_case", args=[case.pk])
    assert c.get(response["Location"]).status_code == 200
    for pk in (theirs.pk, 10**30, "x"):
        assert c.get(reverse("registries:need_case_new") + f"?household={pk}").status_code == 404
    assert c.post(reverse("registries:need_case_new") + f"?household={theirs.pk}",
                  {"kinds": [kind.pk], "level": "general", "details": DETAILS}).status_code == 404
    assert not NeedCase.objects.filter(household=theirs).exists()
    # the grid worker (the residents' audience too) still picks any household of the grid
    assert login(world.worker).get(reverse("registries:need_case_new") + f"?household={theirs.pk}").status_code == 200
