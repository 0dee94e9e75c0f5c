"""/api/v1/portal: the home, notices (with the read receipt), the 公开栏 with its versions, service
points near a point — through the read doors; bad input is a 400/404, never a 500."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.portal import disclosures, notices, schedules
from gongzhi.portal.models import NoticeReceipt

from .test_residency import give_role, make_user, verified_home
from .test_servicemap import north, put

API = "/api/v1/portal"


@pytest.fixture
def board(world):
    today = timezone.localdate()
    secretary = make_user("secretary", "书记甲")
    give_role(secretary, world.community_a, "party_secretary")
    verified_home(world.resident, world.grid_a1)
    garbage = schedules.create_schedule(None, area=world.community_a, kind="garbage", title="东一垃圾清运",
                                        weekdays=[], times=["07:30", "19:30"], calendar_rule="every_day",
                                        valid_from=today - datetime.timedelta(days=1))
    schedules.set_exception(None, garbage, date=today, times=["09:00"], note="仅清运一次")
    clinic = schedules.create_schedule(None, area=world.grid_a1, kind="clinic", title="义诊", weekdays=[],
                                       times=["09:00-11:00"], calendar_rule="every_day",
                                       valid_from=today - datetime.timedelta(days=1))
    schedules.set_exception(None, clinic, date=today, cancelled=True, note="医生外出")
    schedules.create_schedule(None, area=world.community_b, kind="garbage", title="西一垃圾清运", weekdays=[],
                              times=["08:00"], calendar_rule="every_day", valid_from=today)
    notice = notices.publish_notice(secretary, area=world.community_a, title="东一停水", body="周六停水",
                                    valid_from=today, pinned=True)
    notices.publish_notice(None, area=world.community_b, title="西一通知", body="b", valid_from=today)
    gone = notices.publish_notice(secretary, area=world.grid_a1, title="撤回的通知", body="b", valid_from=today)
    notices.withdraw(secretary, gone)
    finance = disclosures.create_disclosure(secretary, area=world.grid_a1, kind="finance", title="东一收支",
                                            period_start=today - datetime.timedelta(days=30), period_end=today)
    line = {"date": today.isoformat(), "item": "停车费", "income": "10.10", "expense": "0", "note": ""}
    disclosures.publish_version(secretary, finance, lines=[line])
    disclosures.publish_version(secretary, finance, lines=[line, {**line, "item": "维修", "income": "0",
                                                                  "expense": "3.05"}], change_note="补录维修")
    other = disclosures.create_disclosure(None, area=world.grid_b1, kind="rules", title="西一规则")
    disclosures.publish_version(None, other, body="第一条")
    world.secretary, world.notice, world.gone, world.finance, world.other = secretary, notice, gone, finance, other
    return world


def test_anonymous_gets_401(board, client):
    for path in ("/home", "/notices", f"/notices/{board.notice.pk}", "/disclosures", "/points"):
        assert client.get(API + path).status_code == 401


def test_home_shows_today_at_my_address(board, login):
    data = login(board.resident).get(API + "/home").json()
    assert [h["name"] for h in data["homes"]] == ["东一网格"]
    (garbage,) = data["schedules"]
    assert garbage["title"] == "东一垃圾清运" and garbage["times"] == ["09:00"] and garbage["changed"]
    assert garbage["regular_times"] == ["07:30", "19:30"] and garbage["note"] == "仅清运一次"
    assert [(c["title"], c["note"]) for c in data["cancelled"]] == [("义诊", "医生外出")]
    assert [n["title"] for n in data["notices"]] == ["东一停水"]
    assert data["notices"][0]["publisher"] == "东一社区 · 社区书记" and data["notices"][0]["published_by"] is None
    assert [d["title"] for d in data["disclosures"]] == ["东一收支"]
    assert data["finance"]["number"] == 2
    assert (data["finance"]["income_total"], data["finance"]["expense_total"]) == ("10.10", "3.05")
    empty = login(make_user("nobody")).get(API + "/home").json()  # no home: nothing of anybody's estate
    assert empty["homes"] == empty["schedules"] == empty["notices"] == empty["disclosures"] == []


def test_notices_list_and_detail_through_the_read_door(board, login):
    client = login(board.resident)
    page = client.get(API + "/notices").json()
    assert [n["title"] for n in page["items"]] == ["东一停水"] and page["count"] == 1
    assert client.get(API + "/notices", {"state": "withdrawn"}).json()["items"] == []
    assert client.get(API + f"/notices/{board.gone.pk}").status_code == 404
    url = API + f"/notices/{board.notice.pk}"
    detail = client.get(url).json()
    assert detail["body"] == "周六停水" and detail["published_by"] is None and not detail["withdrawn"]
    client.get(url)
    assert NoticeReceipt.objects.filter(notice=board.notice, user=board.resident).count() == 1
    assert login(board.outsider).get(url).status_code == 404

    publisher = login(board.secretary)
    withdrawn = publisher.get(API + "/notices", {"state": "withdrawn"}).json()["items"]
    assert [(n["title"], n["withdrawn"], n["withdrawn_by"]) for n in withdrawn] == [("撤回的通知", True, "书记甲")]
    assert publisher.get(API + f"/notices/{board.gone.pk}").json()["withdrawn_at"] is not None
    assert publisher.get(url).json()["published_by"] == "书记甲"
    assert not NoticeReceipt.objects.filter(notice=board.gone).exists()


def test_disclosures_with_versions(board, login):
    client = login(board.resident)
    items = client.get(API + "/disclosures").json()["items"]
    assert [(d["title"], d["version_count"]) for d in items] == [("东一收支", 2)]
    assert client.get(API + "/disclosures", {"kind": "rules"}).json()["items"] == []
    detail = client.get(API + f"/disclosures/{board.finance.pk}").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    latest = detail["versions"][0]
    assert latest["change_note"] == "补录维修" and latest["expense_total"] == "3.05"
    assert [line["item"] for line in latest["lines_added"]] == ["维修"] and latest["lines_removed"] == []
    assert latest["publisher"] == "东一社区 · 社区书记" and latest["published_by"] is None
    assert login(board.secretary).get(API + f"/disclosures/{board.finance.pk}").json()["versions"][0][
        "published_by"] == "书记甲"
    assert login(board.resident).get(API + f"/disclosures/{board.other.pk}").status_code == 404


def test_points_near_a_point_an_area_or_my_home(board, login):
    put(board.grid_a1, "近的卫生站", 100)
    put(board.grid_a1, "远的卫生站", 900)
    put(board.grid_a1, "太远", 2000)
    client = login(board.resident)
    mine = client.get(API + "/points").json()
    assert [p["name"] for p in mine["items"]] == ["近的卫生站", "远的卫生站"]
    assert mine["items"][0]["minutes"] == 2 and mine["items"][0]["ring"] == 5 and mine["origin"]["area"] == "东一网格"
    lon, lat = north(board.grid_a1, 900)
    near = client.get(API + "/points", {"lon": lon, "lat": lat, "minutes": 5}).json()
    assert [p["name"] for p in near["items"]] == ["远的卫生站"]
    by_area = client.get(API + "/points", {"area": board.grid_a1.pk, "type": ["clinic", "xilin"]}).json()
    assert by_area["count"] == 2
    assert client.get(API + "/points", {"area": board.grid_a1.pk, "type": "xilin"}).json()["count"] == 0
    assert login(board.outsider).get(API + "/points").json() == {**mine, "origin": None, "count": 0, "items": []}


@pytest.mark.parametrize("path,params,status", [
    ("/points", {"lon": "abc", "lat": "30"}, 400),
    ("/points", {"lon": "1e999", "lat": "30"}, 400),
    ("/points", {"lon": "nan", "lat": "30"}, 400),
    ("/points", {"lon": "181", "lat": "30"}, 400),
    ("/points", {"lon": "100"}, 400),
    ("/points", {"minutes": "99999999999999999999"}, 400),
    ("/points", {"area": "99999999999999999999"}, 400),
    ("/points", {"area": "999999"}, 404),
    ("/points", {"type": "x" * 100}, 400),
    ("/notices", {"page": "0"}, 400),
    ("/notices", {"state": "bogus"}, 400),
    ("/notices", {"area": "-1"}, 400),
    ("/notices/99999999999999999999", {}, 404),
    ("/notices/0", {}, 404),
    ("/notices/abc", {}, 404),
    ("/disclosures", {"kind": "bogus"}, 400),
    ("/disclosures/99999999999999999999", {}, 404),
    ("/disclosures/999999", {}, 404),
])
def test_bad_input_is_400_or_404(board, login, path, params, status):
    response = login(board.resident).get(API + path, params)
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["error"]["code"] == "invalid"


def test_openapi_names_every_portal_schema_once(board, login):
    schema = login(board.resident).get("/api/v1/openapi.json").json()
    names = schema["components"]["schemas"]
    assert {"PortalNoticeOut", "PortalDisclosureDetailOut", "PortalHomeOut", "PortalPointsOut"} <= set(names)
    assert all(path.startswith("/api/v1/portal/") for path in schema["paths"] if "portal" in path)
