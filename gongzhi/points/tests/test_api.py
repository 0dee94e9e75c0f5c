"""/api/v1/points: each endpoint's happy path; the read door (an activity of another area that is not
on the calendar is a 404 for an outsider, someone else's voucher a 404); who may redeem (403); the
refusals in the API's one error shape (too few points, a second redemption, a full activity: 409;
bad input: 400 with field messages, never a 500); a retried purchase buys once."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from gongzhi.points import queries, services
from gongzhi.points.models import GoodDeed, Signup, Voucher

from .conftest import award

pytestmark = pytest.mark.django_db
API = "/api/v1/points"
H = datetime.timedelta(hours=1)


@pytest.fixture
def upcoming(world):
    """An activity of 东一社区 tomorrow with two places, published by the dispatcher."""
    start = timezone.now() + 24 * H
    return services.create_activity(actor=world.dispatcher, area=world.community_a, title="社区义诊志愿服务",
                                    place="东一社区广场", starts_at=start, ends_at=start + 3 * H, slots=2,
                                    points_per_hour=10, difficulty="1.5", cap_minutes=120, cap_points=100)


def post(client, url, body=None):
    return client.post(f"{API}{url}", json.dumps(body if body is not None else {}), content_type="application/json")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


# ------------------------------------------------------------------------------------ me


def test_anonymous_gets_401_everywhere(client, world, scheme):
    for url in ("/me", "/activities", f"/activities/{scheme.activity.pk}", "/offers", "/vouchers"):
        response = client.get(f"{API}{url}")
        assert response.status_code == 401 and error_of(response)["code"] == "unauthenticated"
    for url in (f"/activities/{scheme.activity.pk}/signup", "/deeds", f"/offers/{scheme.offer.pk}/buy", "/redeem"):
        assert post(client, url).status_code == 401


def test_me_balance_expiring_and_ledger_newest_first_paginated(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    client = login(world.resident)
    body = client.get(f"{API}/me").json()
    assert body["points"] == 20 and body["minutes"] == 0 and body["expiring"] == []
    ledger = body["ledger"]
    assert ledger["count"] == 2 and ledger["count_exact"] is True and ledger["page"] == 1
    assert [(e["kind"], e["amount"], e["unit"]) for e in ledger["items"]] == [("redeem", -30, "points"),
                                                                           ("award", 50, "points")]
    assert ledger["items"][0]["voucher_id"] is not None and ledger["items"][1]["note"] == "好人好事"
    second = client.get(f"{API}/me", {"page": 2, "page_size": 1}).json()["ledger"]
    assert [e["kind"] for e in second["items"]] == ["award"] and second["page_size"] == 1
    assert client.get(f"{API}/me", {"page": 0}).status_code == 400
    assert client.get(f"{API}/me", {"page_size": "many"}).status_code == 400


def test_me_lists_points_about_to_expire(login, world, settings):
    settings.POINTS_VALIDITY_DAYS = 10
    award(world, world.resident, 15, now=timezone.now())
    expiring = login(world.resident).get(f"{API}/me").json()["expiring"]
    assert [e["remaining"] for e in expiring] == [15]


# ------------------------------------------------------------------------------------ activities


def test_calendar_detail_signup_and_withdraw(login, world, upcoming, scheme):
    client = login(world.resident)
    items = client.get(f"{API}/activities").json()["items"]
    assert [a["id"] for a in items] == [upcoming.pk]  # scheme.activity (June) has ended: not on the calendar
    row = items[0]
    assert row["left"] == 2 and row["difficulty"] == "1.50" and row["may_join"] is True
    assert row["my_signup"] is None and row["area"] == "东一社区" and row["ended"] is False

    response = post(client, f"/activities/{upcoming.pk}/signup")
    assert response.status_code == 201 and response.json()["status"] == "signed_up"
    detail = client.get(f"{API}/activities/{upcoming.pk}").json()
    assert detail["left"] == 1 and detail["my_signup"] == {"id": response.json()["id"], "status": "signed_up"}

    again = post(client, f"/activities/{upcoming.pk}/signup")
    assert again.status_code == 409 and error_of(again)["message"] == "您已报名该活动"

    out = post(client, f"/activities/{upcoming.pk}/withdraw")
    assert out.status_code == 200 and out.json()["status"] == "cancelled"
    assert Signup.objects.get(pk=response.json()["id"]).status == Signup.Status.CANCELLED
    assert post(client, f"/activities/{upcoming.pk}/withdraw").status_code == 404  # no live sign-up left


def test_a_full_activity_and_a_checked_in_withdrawal_are_409(login, world, upcoming):
    for user in (world.worker, world.handler):
        services.sign_up(upcoming, actor=user)
    full = post(login(world.resident), f"/activities/{upcoming.pk}/signup")
    assert full.status_code == 409 and error_of(full)["message"] == "名额已满"
    signup = Signup.objects.get(activity=upcoming, resident=world.worker)
    services.check_in(signup, actor=world.dispatcher)
    late = post(login(world.worker), f"/activities/{upcoming.pk}/withdraw")
    assert late.status_code == 409 and error_of(late)["message"] == "已签到的报名不能取消"


def test_an_activity_for_some_roles_only_is_403_for_others(login, world):
    start = timezone.now() + 24 * H
    activity = services.create_activity(actor=world.dispatcher, area=world.community_a, title="网格员专场",
                                        starts_at=start, ends_at=start + H, slots=5, points_per_hour=10,
                                        cap_points=10, eligibility={"roles": ["grid_worker"]})
    row = login(world.resident).get(f"{API}/activities/{activity.pk}").json()
    assert row["may_join"] is False and row["eligible_roles"] == ["grid_worker"]
    refused = post(login(world.resident), f"/activities/{activity.pk}/signup")
    assert refused.status_code == 403 and error_of(refused)["message"] == "您不符合该活动的参加条件"
    assert post(login(world.worker), f"/activities/{activity.pk}/signup").status_code == 201


def test_an_outsider_gets_404_for_another_areas_activity_off_the_calendar(login, world, scheme):
    """``scheme.activity`` (东一社区, ended in June) is visible to the managers of street A and to those
    who signed up for it — to the outsider of 西街道 it does not exist."""
    url = f"{API}/activities/{scheme.activity.pk}"
    response = login(world.outsider).get(url)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert scheme.activity.pk not in {a["id"] for a in login(world.outsider).get(f"{API}/activities").json()["items"]}
    assert post(login(world.outsider), f"/activities/{scheme.activity.pk}/signup").status_code == 404
    assert login(world.dispatcher).get(url).status_code == 200  # manages street A
    ended = login(world.dispatcher).get(f"{API}/activities").json()["items"]
    assert [a["id"] for a in ended] == [scheme.activity.pk] and ended[0]["ended"] is True
    assert login(world.outsider).get(f"{API}/activities/999999").status_code == 404


def test_area_filter(login, world, upcoming):
    client = login(world.resident)
    ids = lambda area: [a["id"] for a in client.get(f"{API}/activities", {"area": area}).json()["items"]]  # noqa: E731
    assert ids(world.street_a.pk) == ids(world.community_a.pk) == [upcoming.pk]
    assert ids(world.street_b.pk) == [] and ids(2**62) == []
    assert client.get(f"{API}/activities", {"area": "东一"}).status_code == 400
    assert client.get(f"{API}/activities", {"area": 0}).status_code == 400


# ------------------------------------------------------------------------------------ good deeds


def test_report_a_good_deed_by_phone(login, world):
    response = post(login(world.resident), "/deeds", {"person": "13800000002", "area": world.community_a.pk,
                                                      "occurred_on": timezone.localdate().isoformat(),
                                                      "description": "帮独居老人买菜"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["resident"] == "网格员甲" and body["status"] == "reported" and body["area"] == "东一社区"
    deed = GoodDeed.objects.get(pk=body["id"])
    assert deed.reported_by == world.resident and deed.resident == world.worker


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"person": "nobody"}, "person", "找不到该账号"),
    ({"description": "   "}, "description", "请填写事迹"),
    ({"description": "好" * 2001}, "description", "事迹不能超过 2000 个字符"),
    ({"occurred_on": "2999-01-01"}, "occurred_on", "发生日期不能晚于今天"),
    ({"area": "street"}, "area", None),  # the street is no community: the form's choice
    ({"occurred_on": "yesterday"}, "occurred_on", None),
    ({"area": "东一"}, "area", None),
    ({"area": 2**70}, "area", None),
    ({"person": ["a"]}, "person", None),
    ({"description": "x" * 100_000}, "description", None),
    ({"description": None}, "description", None),
])
def test_bad_good_deed_reports_are_400_with_the_field_and_store_nothing(login, world, changes, field, words):
    body = {"person": "worker", "area": world.community_a.pk, "occurred_on": timezone.localdate().isoformat(),
            "description": "帮忙"}
    body.update(changes)
    if body["area"] == "street":
        body["area"] = world.street_a.pk
    response = post(login(world.resident), "/deeds", body)
    assert response.status_code == 400, response.content
    err = error_of(response)
    assert err["code"] == "invalid" and field in err["fields"]
    if words:
        assert words in err["fields"][field][0]
    assert not GoodDeed.objects.exists()


def test_a_deed_without_fields_or_body_is_400(login, world):
    client = login(world.resident)
    err = error_of(post(client, "/deeds", {}))
    assert set(err["fields"]) == {"person", "area", "occurred_on", "description"}
    response = client.post(f"{API}/deeds", "{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    nul = post(client, "/deeds", {"person": "worker", "area": world.community_a.pk,
                                  "occurred_on": timezone.localdate().isoformat(), "description": "a\x00b"})
    assert nul.status_code == 400 and not GoodDeed.objects.exists()


# ------------------------------------------------------------------------------------ offers, vouchers


def test_offers_buy_vouchers_and_cancel(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    client = login(world.resident)
    offers = client.get(f"{API}/offers").json()["items"]
    assert [(o["id"], o["price"], o["merchant"]) for o in offers] == [(scheme.offer.pk, 30, "喜邻理发店")]

    bought = post(client, f"/offers/{scheme.offer.pk}/buy", {"key": "tap-1"})
    assert bought.status_code == 201, bought.content
    voucher = bought.json()
    assert len(voucher["code"]) == 8 and voucher["status"] == "issued" and voucher["price"] == 30
    assert voucher["redeem_url"].endswith("/points/redeem/?t=" + Voucher.objects.get(pk=voucher["id"]).token)
    assert queries.points_of(world.resident) == 20

    mine = client.get(f"{API}/vouchers").json()
    assert mine["count"] == 1 and mine["items"][0]["code"] == voucher["code"]
    assert client.get(f"{API}/vouchers", {"status": "redeemed"}).json()["count"] == 0
    assert client.get(f"{API}/vouchers", {"status": "lost"}).status_code == 400

    cancelled = post(client, f"/vouchers/{voucher['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["redeem_url"] is None and queries.points_of(world.resident) == 50
    again = post(client, f"/vouchers/{voucher['id']}/cancel")
    assert again.status_code == 409 and error_of(again)["message"] == "该券已取消"
    assert queries.invariant_violations() == []


def test_a_retried_purchase_returns_the_same_voucher_and_charges_once(login, world, scheme):
    award(world, world.resident, 100, now=timezone.now())
    client = login(world.resident)
    first = post(client, f"/offers/{scheme.offer.pk}/buy", {"key": "double-tap"})
    second = post(client, f"/offers/{scheme.offer.pk}/buy", {"key": "double-tap"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Voucher.objects.count() == 1 and queries.points_of(world.resident) == 70


def test_buying_with_too_few_points_says_so_and_stores_nothing(login, world, scheme):
    award(world, world.resident, 10, now=timezone.now())
    response = post(login(world.resident), f"/offers/{scheme.offer.pk}/buy", {"key": "k"})
    assert response.status_code == 409  # a Conflict of the ledger: the balance, not the input
    assert error_of(response) == {"code": "conflict", "message": "积分不足", "fields": {}}
    assert not Voucher.objects.exists() and queries.points_of(world.resident) == 10


@pytest.mark.parametrize(("body", "field"), [
    ({}, "key"), ({"key": ""}, "key"), ({"key": "has space"}, "key"), ({"key": "k" * 61}, "key"),
    ({"key": "k" * 5000}, "key"), ({"key": 12}, "key"), ({"key": None}, "key"),
])
def test_a_bad_purchase_key_is_400(login, world, scheme, body, field):
    award(world, world.resident, 100, now=timezone.now())
    response = post(login(world.resident), f"/offers/{scheme.offer.pk}/buy", body)
    assert response.status_code == 400 and field in error_of(response)["fields"]
    assert not Voucher.objects.exists()


def test_a_key_used_for_another_offer_is_400(login, world, scheme):
    award(world, world.resident, 100, now=timezone.now())
    other = services.create_offer(scheme.merchant, actor=world.dispatcher, title="洗发", gives="洗发一次", price=5,
                                  valid_from=timezone.now() - H)
    client = login(world.resident)
    assert post(client, f"/offers/{scheme.offer.pk}/buy", {"key": "k1"}).status_code == 201
    reused = post(client, f"/offers/{other.pk}/buy", {"key": "k1"})
    assert reused.status_code == 400 and error_of(reused)["fields"] == {"key": ["该请求编号已用于其他兑换"]}


def test_someone_elses_voucher_and_an_offer_off_sale_are_404(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    assert post(login(world.worker), f"/vouchers/{voucher.pk}/cancel").status_code == 404
    assert login(world.worker).get(f"{API}/vouchers").json()["count"] == 0
    scheme.offer.is_active = False
    scheme.offer.save()
    assert post(login(world.resident), f"/offers/{scheme.offer.pk}/buy", {"key": "k2"}).status_code == 404
    assert login(world.resident).get(f"{API}/offers").json()["items"] == []
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


# ------------------------------------------------------------------------------------ 核销


def test_staff_redeem_by_code_once_then_a_clear_409(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    client = login(scheme.cashier)
    code = f"{voucher.code[:4].lower()}-{voucher.code[4:]}"  # case and dashes forgiven, as at the counter
    response = post(client, "/redeem", {"code": code})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "redeemed" and body["code"] == voucher.code and body["holder"] == str(world.resident)
    assert "token" not in body and "redeem_url" not in body
    again = post(client, "/redeem", {"code": voucher.code})
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"
    assert error_of(again)["message"].startswith("该券已于 ") and error_of(again)["message"].endswith(" 使用")
    assert queries.invariant_violations() == []


def test_staff_redeem_by_the_qr_token(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    client = login(scheme.cashier)
    assert post(client, "/redeem", {"token": voucher.token}).json()["status"] == "redeemed"
    bad = post(client, "/redeem", {"token": "nonsense"})
    assert bad.status_code == 400 and error_of(bad)["fields"] == {"token": ["二维码无效"]}


def test_a_resident_cannot_redeem_and_another_shop_gets_403(login, world, scheme):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    for user in (world.resident, world.outsider, world.dispatcher):
        response = post(login(user), "/redeem", {"code": voucher.code})
        assert response.status_code == 403 and error_of(response)["message"] == "只有合作商户的店员可以核销"
    other_shop = post(login(scheme.other_cashier), "/redeem", {"code": voucher.code})
    assert other_shop.status_code == 403 and error_of(other_shop)["message"] == "该券不属于本店"
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 400, "code"), ({"code": ""}, 400, "code"), ({"code": "ZZZZZZZZ"}, 400, "code"),
    ({"code": "Z" * 5000}, 400, "code"), ({"code": 123}, 400, "code"), ({"code": ["A"]}, 400, "code"),
    ({"token": {"a": 1}}, 400, "token"),
])
def test_bad_codes_are_400_never_500(login, world, scheme, body, status, field):
    response = post(login(scheme.cashier), "/redeem", body)
    assert response.status_code == status and field in error_of(response)["fields"]


def test_the_openapi_document_has_the_routes_with_chinese_descriptions(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/me", "/activities", "/activities/{activity_id}", "/activities/{activity_id}/signup",
                 "/activities/{activity_id}/withdraw", "/deeds", "/offers", "/offers/{offer_id}/buy",
                 "/vouchers", "/vouchers/{voucher_id}/cancel", "/redeem"):
        assert f"/api/v1/points{path}" in schema["paths"], path
    components = schema["components"]["schemas"]
    assert components["PointsVoucherOut"]["properties"]["code"]["description"].startswith("券码")
    assert "409" in schema["paths"]["/api/v1/points/offers/{offer_id}/buy"]["post"]["responses"]


# ------------------------------------------------------------------------------------ races (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_double_posts_at_the_same_moment_buy_once_and_redeem_once(world, scheme):
    """Four identical purchases, then four scans of one code, sent together: one voucher (the others
    get it back: 200), one redemption (the others: 409) — never a 500."""
    from django.db import connection
    from django.test import Client

    from gongzhi.race_testing import run_parallel

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent connections")
    award(world, world.resident, 100, now=timezone.now())

    def together(user, url, body, n=4):
        clients = []
        for _ in range(n):
            client = Client()
            client.force_login(user)
            clients.append(client)
        return [answer for _status, answer in run_parallel(n, lambda i: post(clients[i], url, body))]

    bought = together(world.resident, f"/offers/{scheme.offer.pk}/buy", {"key": "same-tap"})
    assert sorted(r.status_code for r in bought) == [200, 200, 200, 201]  # the first bought it; the rest got it back
    assert len({r.json()["id"] for r in bought}) == 1
    assert Voucher.objects.count() == 1 and queries.points_of(world.resident) == 70
    code = bought[0].json()["code"]
    scans = together(scheme.cashier, "/redeem", {"code": code})
    assert sorted(r.status_code for r in scans) == [200, 409, 409, 409]
    assert all(error_of(r)["message"].startswith("该券已于 ") for r in scans if r.status_code == 409)
    assert queries.invariant_violations() == []
