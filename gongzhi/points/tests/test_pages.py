"""The 喜邻积分 pages for each kind of user: the resident (my points, the calendar, offers, vouchers),
the organiser (publish, check in / out, confirm once), the reviewer of good deeds, merchant staff
(redeem once), and outsiders (403 for a role's page, 404 for what is not theirs). Bad input gives a
clear Chinese message and stores nothing; a double tap on 兑换 buys one voucher."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.orgs import services as org_services
from gongzhi.points import queries, services
from gongzhi.points.models import Activity, GoodDeed, Signup, Transaction, Voucher

from .conftest import award

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)


@pytest.fixture
def upcoming(world):
    """An activity of 东一社区 tomorrow, published by the dispatcher (who manages street A)."""
    start = timezone.now() + 24 * H
    return services.create_activity(actor=world.dispatcher, area=world.community_a, title="社区义诊志愿服务",
                                    place="东一社区广场", starts_at=start, ends_at=start + 3 * H, slots=2,
                                    points_per_hour=10, difficulty="1.5", cap_minutes=120, cap_points=100)


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ------------------------------------------------------------------------------------ resident


def test_my_points_page_shows_balance_hours_vouchers_and_history(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    page = text(login(world.resident).get("/points/"))
    assert 'id="my-points">20<' in page and "0 分钟" in page
    assert voucher.code in page and "data:image/svg+xml;base64," in page  # the QR code, drawn on the server
    assert "理发八折" in page and "取消兑换" in page
    assert "好人好事" in page and "+50" in page and "−30" in page  # history, newest first
    assert page.index("−30") < page.index("+50")
    assert "<script>" not in page and "style=" not in page


def test_the_qr_code_carries_the_redeem_link_with_the_token(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    import base64
    import re

    page = text(login(world.resident).get("/points/"))
    svg = base64.b64decode(re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page).group(1))
    assert svg.startswith(b"<svg") and voucher.token not in page  # the token is only inside the picture


def test_calendar_sign_up_and_withdraw(world, upcoming, login):
    client = login(world.resident)
    page = text(client.get("/points/activities/"))
    assert "社区义诊志愿服务" in page and "剩余名额 2 / 2" in page and "我要报名" in page
    response = client.post(f"/points/activities/{upcoming.pk}/signup/", follow=True)
    assert "已报名“社区义诊志愿服务”" in messages_of(response)
    signup = Signup.objects.get(activity=upcoming, resident=world.resident)
    assert signup.status == Signup.Status.SIGNED_UP
    assert "剩余名额 1 / 2" in text(response) and "取消报名" in text(response)
    again = client.post(f"/points/activities/{upcoming.pk}/signup/", follow=True)
    assert "您已报名该活动" in messages_of(again)
    assert Signup.objects.filter(activity=upcoming).count() == 1
    client.post(f"/points/activities/{upcoming.pk}/withdraw/")
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CANCELLED
    assert client.post(f"/points/activities/{upcoming.pk}/withdraw/").status_code == 404  # nothing to withdraw


def test_a_full_or_unknown_activity_is_refused(world, upcoming, login):
    services.sign_up(upcoming, actor=world.worker)
    services.sign_up(upcoming, actor=world.handler)
    response = login(world.resident).post(f"/points/activities/{upcoming.pk}/signup/", follow=True)
    assert "名额已满" in messages_of(response)
    assert not Signup.objects.filter(resident=world.resident).exists()
    assert login(world.resident).post("/points/activities/999999/signup/").status_code == 404


def test_buy_twice_with_the_same_key_makes_one_voucher(world, scheme, login):
    award(world, world.resident, 100, now=timezone.now())
    client = login(world.resident)
    page = text(client.get("/points/offers/"))
    assert "理发八折" in page and "30 积分兑换" in page and 'name="key"' in page
    first = client.post(f"/points/offers/{scheme.offer.pk}/buy/", {"key": "tap-1"})
    second = client.post(f"/points/offers/{scheme.offer.pk}/buy/", {"key": "tap-1"})  # the double tap
    assert first.status_code == second.status_code == 302
    assert Voucher.objects.filter(resident=world.resident).count() == 1
    assert queries.points_of(world.resident) == 70
    client.post(f"/points/offers/{scheme.offer.pk}/buy/", {"key": "tap-2"})  # a new form: a second voucher
    assert Voucher.objects.filter(resident=world.resident).count() == 2
    assert queries.points_of(world.resident) == 40


@pytest.mark.parametrize(("post", "words"), [
    ({}, "请求编号缺失"),
    ({"key": "bad key!"}, "请求编号格式不正确"),
    ({"key": "ok-key"}, "积分不足"),
])
def test_a_refused_purchase_says_why_and_stores_nothing(world, scheme, login, post, words):
    award(world, world.resident, 10, now=timezone.now())
    response = login(world.resident).post(f"/points/offers/{scheme.offer.pk}/buy/", post, follow=True)
    assert response.status_code == 200
    assert any(words in m for m in messages_of(response))
    assert not Voucher.objects.exists() and queries.points_of(world.resident) == 10
    assert queries.invariant_violations() == []


def test_cancel_within_the_window_returns_the_points_others_get_404(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    assert login(world.worker).post(f"/points/vouchers/{voucher.pk}/cancel/").status_code == 404
    response = login(world.resident).post(f"/points/vouchers/{voucher.pk}/cancel/", follow=True)
    assert "已取消兑换，30 积分已退回" in messages_of(response)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.CANCELLED and queries.points_of(world.resident) == 50
    again = login(world.resident).post(f"/points/vouchers/{voucher.pk}/cancel/", follow=True)
    assert "该券已取消" in messages_of(again) and queries.points_of(world.resident) == 50


def test_cancel_after_the_window_is_refused(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1",
                                   now=timezone.now() - datetime.timedelta(hours=2))
    page = text(login(world.resident).get("/points/"))
    assert voucher.code in page and "取消兑换（" not in page
    response = login(world.resident).post(f"/points/vouchers/{voucher.pk}/cancel/", follow=True)
    assert "已超过可取消时限" in messages_of(response)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED and queries.points_of(world.resident) == 20


# ------------------------------------------------------------------------------------ organiser


def test_organiser_checks_in_out_and_confirms_once(world, upcoming, login):
    signup = services.sign_up(upcoming, actor=world.resident)
    client = login(world.dispatcher)
    page = text(client.get(f"/points/activities/{upcoming.pk}/"))
    assert "居民甲" in page and "签到" in page and "确认并发放积分" in page
    assert "已签到" in messages_of(client.post(f"/points/signups/{signup.pk}/check-in/", follow=True))[0]
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CHECKED_IN
    response = client.post(f"/points/signups/{signup.pk}/confirm/", {"minutes": "90"}, follow=True)
    assert "已确认 居民甲：22 积分，服务时长 1 小时 30 分钟" in messages_of(response)  # 1.5 h × 10 × 1.5
    again = client.post(f"/points/signups/{signup.pk}/confirm/", {"minutes": "90"}, follow=True)
    assert "未重复发放" in messages_of(again)[0]
    assert Transaction.objects.filter(kind="award", signup=signup).count() == 1
    assert queries.points_of(world.resident) == 22 and queries.minutes_of(world.resident) == 90
    mine = text(login(world.resident).get("/points/"))
    assert 'id="my-points">22<' in mine and "1 小时 30 分钟" in mine and "参加活动：社区义诊志愿服务" in mine


@pytest.mark.parametrize(("minutes", "words"), [
    ("", "请先签退，或填写认定时长"),
    ("abc", "请填写整数"),
    ("-5", "至少为 0"),
    ("500", "认定时长应为 0 到 120"),
])
def test_bad_confirmation_says_why_and_credits_nothing(world, upcoming, login, minutes, words):
    signup = services.sign_up(upcoming, actor=world.resident)
    response = login(world.dispatcher).post(f"/points/signups/{signup.pk}/confirm/", {"minutes": minutes},
                                            follow=True)
    assert response.status_code == 200 and any(words in m for m in messages_of(response))
    signup.refresh_from_db()
    assert signup.status == Signup.Status.SIGNED_UP and not Transaction.objects.exists()


def test_only_the_organiser_or_a_manager_runs_the_list(world, upcoming, login):
    signup = services.sign_up(upcoming, actor=world.resident)
    for user in (world.resident, world.worker, world.outsider, world.handler):
        client = login(user)
        assert client.get(f"/points/activities/{upcoming.pk}/").status_code == 404
        for action in ("check-in", "check-out", "confirm"):
            assert client.post(f"/points/signups/{signup.pk}/{action}/", {"minutes": "60"}).status_code == 404
    assert login(world.dispatcher).post(f"/points/signups/{signup.pk}/dance/").status_code == 404
    signup.refresh_from_db()
    assert signup.status == Signup.Status.SIGNED_UP and not Transaction.objects.exists()
    # an organiser without a manager's role runs their own activity's list
    own = services.create_activity(actor=world.dispatcher, organiser=world.worker, area=world.community_a,
                                   title="楼道清扫", starts_at=upcoming.starts_at, ends_at=upcoming.ends_at, slots=3,
                                   points_per_hour=10, cap_points=50)
    assert login(world.worker).get(f"/points/activities/{own.pk}/").status_code == 200
    assert "楼道清扫" in text(login(world.worker).get("/points/activities/"))


def test_publish_an_activity_with_errors_then_right(world, login):
    client = login(world.dispatcher)
    form = text(client.get("/points/activities/new/"))
    assert "东一社区" in form and "西一社区" not in form  # only areas the dispatcher manages
    start = timezone.localtime() + 48 * H
    data = {"area": world.community_a.pk, "title": "", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start - H).strftime("%Y-%m-%dT%H:%M"), "slots": "0", "points_per_hour": "10",
            "difficulty": "20", "cap_minutes": "120", "cap_points": "30"}
    page = text(client.post("/points/activities/new/", data))
    for words in ("请填写活动名称", "结束时间应晚于开始时间", "名额至少为 1", "难度系数应为 0.1 到 10"):
        assert words in page
    assert not Activity.objects.exists()
    outside = text(client.post("/points/activities/new/", {**data, "area": world.community_b.pk}))
    assert "请选择您管理的区域" in outside and not Activity.objects.exists()
    data.update(title="敬老院陪伴", ends_at=(start + 2 * H).strftime("%Y-%m-%dT%H:%M"), slots="8",
                difficulty="1.2")
    response = client.post("/points/activities/new/", data)
    activity = Activity.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/points/activities/{activity.pk}/"
    assert activity.area == world.community_a and activity.organiser == world.dispatcher and activity.slots == 8


def test_publishing_is_for_managers_only(world, login):
    for user in (world.resident, world.worker, world.handler, world.outsider):
        assert login(user).get("/points/activities/new/").status_code == 403
        assert login(user).post("/points/activities/new/", {"title": "x"}).status_code == 403
    assert not Activity.objects.exists()


# ------------------------------------------------------------------------------------ good deeds


def test_a_manager_approves_and_rejects_good_deeds(world, login):
    deed = services.report_good_deed(actor=world.worker, resident=world.resident, area=world.community_a,
                                     description="引导救护车到生病的邻居家", occurred_on=timezone.localdate())
    other = services.report_good_deed(actor=world.worker, resident=world.handler, area=world.community_a,
                                      description="捡到钱包交还", occurred_on=timezone.localdate())
    client = login(world.dispatcher)
    page = text(client.get("/points/deeds/"))
    assert "引导救护车" in page and "捡到钱包交还" in page
    bad = client.post(f"/points/deeds/{deed.pk}/approve/", {"points": "5000"}, follow=True)
    assert "积分不能超过 1000" in messages_of(bad)[0]
    no_reason = client.post(f"/points/deeds/{other.pk}/reject/", {"note": ""}, follow=True)
    assert "请填写不通过的理由" in messages_of(no_reason)[0]
    assert GoodDeed.objects.filter(status="reported").count() == 2 and not Transaction.objects.exists()
    client.post(f"/points/deeds/{deed.pk}/approve/", {"points": "20", "note": "事迹属实"})
    client.post(f"/points/deeds/{other.pk}/reject/", {"note": "无法核实"})
    assert queries.points_of(world.resident) == 20
    assert GoodDeed.objects.get(pk=other.pk).status == "rejected"
    assert client.post(f"/points/deeds/{deed.pk}/approve/", {"points": "20"}).status_code == 404  # done
    assert queries.points_of(world.resident) == 20


def test_good_deeds_outside_ones_areas_are_not_found(world, login):
    deed = services.report_good_deed(actor=world.worker, resident=world.resident, area=world.community_a,
                                     description="帮忙", occurred_on=timezone.localdate())
    for user in (world.resident, world.worker, world.handler, world.outsider):
        assert login(user).get("/points/deeds/").status_code == 403
        assert login(user).post(f"/points/deeds/{deed.pk}/approve/", {"points": "5"}).status_code == 404
    assert login(world.resident).get("/points/").status_code == 200
    assert GoodDeed.objects.get().status == "reported"


# ------------------------------------------------------------------------------------ merchant


def test_staff_redeem_by_code_once(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    client = login(scheme.cashier)
    assert "喜邻理发店" in text(client.get("/points/redeem/"))
    typed = f"{voucher.code[:4].lower()}-{voucher.code[4:]}"
    page = text(client.post("/points/redeem/", {"code": typed}))
    assert "核销成功" in page and "理发一次八折" in page and "居民甲" in page
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.REDEEMED and voucher.redeemed_by == scheme.cashier
    again = text(client.post("/points/redeem/", {"code": voucher.code}))
    used = timezone.localtime(voucher.redeemed_at)
    assert f"该券已于 {used:%Y-%m-%d %H:%M:%S} 使用" in again and "核销成功" not in again
    assert Transaction.objects.filter(kind="use", voucher=voucher).count() == 1
    assert queries.invariant_violations() == []


def test_staff_redeem_by_the_qr_link(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    client = login(scheme.cashier)
    page = text(client.get(f"/points/redeem/?t={voucher.token}"))
    assert "确认核销" in page and "理发一次八折" in page
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED  # opening the link redeems nothing
    assert "核销成功" in text(client.post("/points/redeem/", {"token": voucher.token}))
    assert "该券已于" in text(client.post("/points/redeem/", {"token": voucher.token}))
    assert "二维码无效" in text(client.get("/points/redeem/?t=nonsense"))


@pytest.mark.parametrize(("code", "words"), [("", "请输入券码"), ("ZZZZZZZZ", "券码无效"), ("x" * 40, "券码无效")])
def test_bad_codes_are_refused_clearly(world, scheme, login, code, words):
    page = text(login(scheme.cashier).post("/points/redeem/", {"code": code}))
    assert words in page and not Transaction.objects.filter(kind="use").exists()


def test_another_shops_staff_and_non_staff_cannot_redeem(world, scheme, login):
    award(world, world.resident, 50, now=timezone.now())
    voucher = services.buy_voucher(scheme.offer, actor=world.resident, key="k1")
    page = text(login(scheme.other_cashier).post("/points/redeem/", {"code": voucher.code}))
    assert "该券不属于本店" in page
    assert "该券不属于本店" in text(login(scheme.other_cashier).get(f"/points/redeem/?t={voucher.token}"))
    assert "确认核销" not in text(login(scheme.other_cashier).get(f"/points/redeem/?t={voucher.token}"))
    for user in (world.resident, world.worker, world.dispatcher, world.outsider):
        assert login(user).get("/points/redeem/").status_code == 403
        assert login(user).post("/points/redeem/", {"code": voucher.code}).status_code == 403
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_inactive_staff_lose_the_page(world, scheme, login):
    scheme.merchant.staff.filter(user=scheme.cashier).update(is_active=False)
    assert login(scheme.cashier).get("/points/redeem/").status_code == 403


# ------------------------------------------------------------------------------------ everyone


def test_anonymous_is_sent_to_login_and_the_menu_links_the_pages(world, client, login):
    for url in ("/points/", "/points/activities/", "/points/offers/", "/points/redeem/", "/points/deeds/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")
    other = org_services.create_user(actor=None, username="neighbour", password="x-correct-horse")
    page = text(login(other).get("/"))
    assert 'href="/points/"' in page and "喜邻积分" in page
    for url in ("/points/", "/points/activities/", "/points/offers/"):
        assert login(other).get(url).status_code == 200


# ------------------------------------------------------------------------------------ settlement


def _redeemed(world, scheme, count: int):
    award(world, world.resident, 30 * count, now=timezone.now())
    vouchers = []
    for n in range(count):
        voucher = services.buy_voucher(scheme.offer, actor=world.resident, key=f"s{n}")
        vouchers.append(services.redeem_voucher(actor=scheme.cashier, code=voucher.code))
    return vouchers


def test_settlement_page_and_xlsx_for_a_manager(world, scheme, login):
    from io import BytesIO

    from openpyxl import load_workbook

    scheme.offer.title = "=HYPERLINK(\"x\")"  # a title that looks like a formula stays text
    scheme.offer.save(update_fields=["title"])
    vouchers = _redeemed(world, scheme, 2)
    today = timezone.localdate().isoformat()
    query = {"merchant": scheme.merchant.pk, "start": today, "end": today}
    client = login(world.dispatcher)
    form = text(client.get("/points/settlement/"))
    assert "喜邻理发店" in form and "西边超市" not in form  # only merchants of areas the dispatcher manages
    page = text(client.get("/points/settlement/", query))
    assert "已核销 2 张" in page and 'class="settlement-total">60<' in page and vouchers[0].code in page
    response = client.get("/points/settlement.xlsx", query)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][:2] == ("商户", "喜邻理发店") and rows[2][1] == f"{today} – {today}"
    lines = [r for r in rows[6:] if r[1] in {v.code for v in vouchers}]
    assert len(lines) == 2 and all(r[2] == "=HYPERLINK(\"x\")" and r[3] == 30 and r[4] == "收银甲" for r in lines)
    assert rows[-1][0] == "合计" and rows[-1][3] == 60
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    later = text(client.get("/points/settlement/", {**query, "start": tomorrow, "end": tomorrow}))
    assert "已核销 0 张" in later


@pytest.mark.parametrize(("changes", "words"), [
    ({"end": "2020-01-01"}, "截止日期不能早于起始日期"),
    ({"start": "2020-01-01"}, "结算期不能超过一年"),
    ({"start": "yesterday"}, "起始日期格式不正确"),
    ({"merchant": "0"}, "请选择您管理的商户"),
])
def test_bad_settlement_queries_are_refused_clearly(world, scheme, login, changes, words):
    today = timezone.localdate().isoformat()
    query = {"merchant": scheme.merchant.pk, "start": today, "end": today, **changes}
    client = login(world.dispatcher)
    assert words in text(client.get("/points/settlement/", query))
    response = client.get("/points/settlement.xlsx", query)
    assert response.status_code == 400 and words in text(response)


def test_settlement_of_another_merchant_or_without_the_role_is_refused(world, scheme, login):
    _redeemed(world, scheme, 1)
    today = timezone.localdate().isoformat()
    other = {"merchant": scheme.other_merchant.pk, "start": today, "end": today}
    assert "请选择您管理的商户" in text(login(world.dispatcher).get("/points/settlement/", other))
    for user in (world.resident, world.worker, world.handler, world.outsider, scheme.cashier):
        assert login(user).get("/points/settlement/").status_code == 403
        assert login(user).get("/points/settlement.xlsx", {**other, "merchant": scheme.merchant.pk}).status_code == 403
    # a 店长 sees their own shop's statement
    services.add_merchant_staff(scheme.merchant, actor=world.dispatcher, user=world.worker, is_manager=True)
    page = text(login(world.worker).get("/points/settlement/", {**other, "merchant": scheme.merchant.pk}))
    assert "已核销 1 张" in page


# ------------------------------------------------------------------------------------ reporting a good deed


def test_anyone_reports_a_good_deed_by_account_or_phone(world, login):
    client = login(world.resident)
    form = text(client.get("/points/deeds/report/"))
    assert "东一社区" in form and "西一社区" in form and "东街道" not in form  # communities only
    today = timezone.localdate().isoformat()
    data = {"person": "13800000002", "area": world.community_a.pk, "occurred_on": today,
            "description": "引导救护车到生病的邻居家"}
    response = client.post("/points/deeds/report/", data, follow=True)
    assert "已报告，社区审核通过后当事人将获得积分" in messages_of(response)
    deed = GoodDeed.objects.get()
    assert deed.resident == world.worker and deed.reported_by == world.resident and deed.area == world.community_a
    assert "网格员甲" in text(response) and "待审核" in text(response)  # my reports
    client.post("/points/deeds/report/", {**data, "person": "dispatcher"})
    assert GoodDeed.objects.filter(resident=world.dispatcher).exists()
    assert "引导救护车" in text(login(world.dispatcher).get("/points/deeds/"))  # waiting for review


@pytest.mark.parametrize(("changes", "words"), [
    ({"person": "nobody"}, "找不到该账号"),
    ({"person": ""}, "请填写当事人的账号或手机号"),
    ({"description": "  "}, "请填写事迹"),
    ({"occurred_on": "2999-01-01"}, "发生日期不能晚于今天"),
    ({"occurred_on": "昨天"}, "发生日期格式不正确"),
    ({"area": "0"}, "请选择所在社区"),
])
def test_a_bad_good_deed_report_says_why_and_stores_nothing(world, login, changes, words):
    data = {"person": "worker", "area": world.community_a.pk, "occurred_on": timezone.localdate().isoformat(),
            "description": "帮忙", **changes}
    response = login(world.resident).post("/points/deeds/report/", data)
    assert response.status_code == 200 and words in text(response)
    assert not GoodDeed.objects.exists()
