"""The opt-in leaderboard and the 志愿服务时长证明 PDF.

Leaderboard: nobody appears unless they chose to (not to anyone, not anywhere in the HTML), the
period filter (this year by default, this month, all time), the viewer's own rank shown to them only,
areas limited to those the viewer belongs to or manages, reversed awards count for nothing.
Certificate: the PDF's text (read back with pypdf) holds the name, the total hours, the activities
and the verification code; a manager downloads a resident's; anyone else gets a 404."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from gongzhi.core.models import AuditLog
from gongzhi.orgs import services as org_services
from gongzhi.points import certificate, queries, services
from gongzhi.points.models import LeaderboardChoice

from .conftest import make_activity

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)


def serve(world, user, minutes: int, when, title="清理楼道小广告", area=None):
    """``user`` served ``minutes`` at an activity starting ``when`` (confirmed by the admin)."""
    activity = make_activity(world, actor=world.admin, title=title, starts_at=when, ends_at=when + 3 * H,
                             cap_minutes=180, **({"area": area} if area else {}))
    signup = services.sign_up(activity, actor=user, now=when - H)
    return services.confirm_attendance(signup, actor=world.admin, minutes=minutes, now=when + 3 * H)


def person(name: str, username: str):
    return org_services.create_user(actor=None, username=username, password="x-correct-horse", display_name=name)


def show(user, shown=True):
    services.set_leaderboard_choice(actor=user, shown=shown)


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")


# ------------------------------------------------------------------------------------ the choice


def test_the_choice_defaults_to_hidden_and_is_audited(world, login):
    assert not queries.leaderboard_shown(world.resident)
    client = login(world.resident)
    page = client.get("/points/").content.decode()
    assert "在排行榜上显示我" in page and "/points/leaderboard/" in page and "/points/certificate.pdf" in page
    response = client.post("/points/leaderboard/choice/", {"shown": "1"})
    assert response.status_code == 302 and response["Location"] == "/points/"
    assert LeaderboardChoice.objects.get(user=world.resident).shown
    client.post("/points/leaderboard/choice/", {"shown": "1"})  # the same again: nothing new
    client.post("/points/leaderboard/choice/", {"shown": "0"})
    assert not LeaderboardChoice.objects.get(user=world.resident).shown
    rows = AuditLog.objects.filter(action="points.leaderboard_choice", actor=world.resident)
    assert rows.count() == 2


def test_a_bad_choice_stores_nothing(world, login):
    client = login(world.resident)
    response = client.post("/points/leaderboard/choice/", {"shown": "maybe"}, follow=True)
    assert "请选择是否在排行榜上显示" in response.content.decode()
    assert not LeaderboardChoice.objects.exists()
    assert client.get("/points/leaderboard/choice/").status_code == 405


# ------------------------------------------------------------------------------------ the board


def test_only_those_who_opted_in_appear_to_anyone(world, login):
    now = timezone.now()
    shy, keen = person("害羞的王阿姨", "shy"), person("热心的李大爷", "keen")
    serve(world, shy, 180, now - 2 * 24 * H)   # the most hours, but not shown
    serve(world, keen, 60, now - 2 * 24 * H)
    serve(world, world.resident, 120, now - 24 * H)
    show(keen)
    for viewer in (world.resident, keen, world.dispatcher, world.admin, shy):
        page = login(viewer).get("/points/leaderboard/").content.decode()
        assert "热心的李大爷" in page, viewer
        if viewer != shy:
            assert "害羞的王阿姨" not in page, viewer
    rows, _ = queries.leaderboard(world.community_a, "year", now)
    assert [r["name"] for r in rows] == ["热心的李大爷"] and rows[0]["rank"] == 1


def test_own_rank_is_shown_to_the_viewer_only(world, login):
    now = timezone.now()
    keen, other = person("热心的李大爷", "keen"), person("张师傅", "other")
    serve(world, keen, 60, now - 2 * 24 * H)
    serve(world, other, 150, now - 2 * 24 * H)
    serve(world, world.resident, 120, now - 24 * H)
    show(keen)
    show(other)
    page = login(world.resident).get("/points/leaderboard/").content.decode()
    assert "我的排名：第 2 名" in page and "仅自己可见" in page
    assert "居民甲" not in page.split('id="my-rank"')[1]  # not in the list: only their own line
    rows, mine = queries.leaderboard(world.community_a, "year", now, viewer=world.resident)
    assert [r["name"] for r in rows] == ["张师傅", "热心的李大爷"]
    assert mine["rank"] == 2 and mine["minutes"] == 120 and not mine["shown"]
    # the others never see the resident's rank or name
    page = login(keen).get("/points/leaderboard/").content.decode()
    assert "居民甲" not in page and "我的排名：第 2 名" in page and "仅自己可见" not in page
    show(world.resident)
    rows, mine = queries.leaderboard(world.community_a, "year", now, viewer=world.resident)
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[1]["is_viewer"] and mine["shown"]


def test_the_period_filter(world, login):
    now = timezone.now()
    local = timezone.localtime(now)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year_start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    old, earlier, recent = person("老志愿者", "old"), person("年初志愿者", "earlier"), person("本月志愿者", "recent")
    serve(world, old, 180, year_start - 400 * 24 * H)
    if month_start - year_start > 3 * H:
        serve(world, earlier, 120, month_start - 4 * H)
    else:  # January: "this year" and "this month" coincide
        earlier = None
    serve(world, recent, 60, now - 4 * H if now - 4 * H >= month_start else now + 0 * H)
    for user in (old, earlier, recent):
        if user is not None:
            show(user)

    def names(period):
        return [r["name"] for r in queries.leaderboard(world.community_a, period, now)[0]]

    assert names("all")[0] == "老志愿者" and "本月志愿者" in names("all")
    assert "老志愿者" not in names("year") and "本月志愿者" in names("year")
    assert names("month") == ["本月志愿者"]
    if earlier is not None:
        assert "年初志愿者" in names("year")
    client = login(world.dispatcher)
    assert "老志愿者" not in client.get(f"/points/leaderboard/?area={world.community_a.pk}").content.decode()
    assert "老志愿者" in client.get(f"/points/leaderboard/?area={world.community_a.pk}&period=all").content.decode()
    response = client.get(f"/points/leaderboard/?area={world.community_a.pk}&period=decade")
    assert response.status_code == 200 and "统计周期不正确" in response.content.decode()


def test_areas_are_the_viewers_own(world, login):
    now = timezone.now()
    west = person("西边志愿者", "west")
    serve(world, west, 60, now - 24 * H, area=world.community_b)
    show(west)
    assert world.community_b not in queries.leaderboard_areas(world.resident)
    page = login(world.resident).get("/points/leaderboard/").content.decode()
    assert "参加志愿活动后" in page  # no community yet
    page = login(world.resident).get(f"/points/leaderboard/?area={world.community_b.pk}").content.decode()
    assert "无法查看该区域的排行榜" in page and "西边志愿者" not in page
    assert world.community_b in queries.leaderboard_areas(west)
    assert world.community_b in queries.leaderboard_areas(world.admin)
    assert world.community_b not in queries.leaderboard_areas(world.dispatcher)
    assert "西边志愿者" in login(west).get("/points/leaderboard/").content.decode()


def test_reversed_awards_do_not_count(world):
    now = timezone.now()
    keen = person("热心的李大爷", "keen")
    txn = serve(world, keen, 60, now - 24 * H)
    show(keen)
    assert queries.leaderboard(world.community_a, "year", now)[0]
    services.reverse_transaction(txn, actor=world.dispatcher, reason="记错人了")
    assert queries.leaderboard(world.community_a, "year", now)[0] == []


# ------------------------------------------------------------------------------------ certificate


def test_the_certificate_lists_name_hours_and_activities(world, login):
    now = timezone.now()
    serve(world, world.resident, 90, now - 3 * 24 * H, title="社区义诊志愿服务")
    serve(world, world.resident, 60, now - 2 * 24 * H, title="清理楼道小广告")
    response = login(world.resident).get("/points/certificate.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    assert "志愿服务时长证明" in text and "居民甲" in text
    assert "2.5小时" in text and "150分钟" in text
    assert "社区义诊志愿服务" in text and "清理楼道小广告" in text and "东一社区" in text
    row = AuditLog.objects.filter(action="points.certificate").latest("id")
    code = row.note.removeprefix("code=")
    assert code.replace("-", "") in text.replace("-", "")
    entries = queries.certified_awards(world.resident)
    assert code == certificate.verification_code(world.resident, 150, [e.transaction_id for e in entries],
                                                 timezone.localtime(row.at).date())


def test_the_certificate_without_service_still_reads(world, login):
    text = text_of(login(world.resident).get("/points/certificate.pdf").content)
    assert "居民甲" in text and "0小时" in text and "暂无经确认的志愿服务记录" in text


def test_a_manager_downloads_a_residents_certificate_others_get_404(world, login):
    serve(world, world.resident, 120, timezone.now() - 24 * H, title="社区义诊志愿服务")
    url = f"/points/residents/{world.resident.pk}/certificate.pdf"
    response = login(world.dispatcher).get(url)
    assert response.status_code == 200
    assert "居民甲" in text_of(response.content) and "社区义诊志愿服务" in text_of(response.content)
    assert login(world.admin).get(url).status_code == 200
    for someone in (world.outsider, world.worker, world.handler):
        assert login(someone).get(url).status_code == 404, someone
    assert login(world.dispatcher).get(f"/points/residents/{world.outsider.pk}/certificate.pdf").status_code == 404
    assert login(world.dispatcher).get("/points/residents/0/certificate.pdf").status_code == 404
    page = login(world.dispatcher).get(f"/points/activities/{queries.certified_awards(world.resident)[0].transaction.signup.activity_id}/")
    assert url in page.content.decode()


def test_anyone_verifies_a_certificate_by_its_code_and_sees_what_it_stated(world, login, client):
    now = timezone.now()
    serve(world, world.resident, 90, now - 3 * 24 * H, title="社区义诊志愿服务")
    login(world.resident).get("/points/certificate.pdf")
    login(world.resident).get("/points/certificate.pdf")  # the same day, the same statement: one row
    from gongzhi.points.models import Certificate

    issued = Certificate.objects.get()
    assert (issued.resident, issued.minutes, issued.services, issued.issuer) == (world.resident, 90, 1, "东一社区")
    client.logout()
    for typed in (issued.code, issued.code.lower().replace("-", ""), f"  {issued.code[:4]} {issued.code[5:]} "):
        page = client.get("/points/verify/", {"code": typed})
        body = page.content.decode()
        assert page.status_code == 200 and 'id="verify-result"' in body, typed
        assert "居*甲" in body and "居民甲" not in body and "1.5 小时" in body and "东一社区" in body
    posted = client.post("/points/verify/", {"code": issued.code})
    assert posted.status_code == 200 and 'id="verify-result"' in posted.content.decode()


def test_a_wrong_or_malformed_code_is_told_apart_and_nothing_leaks(world, client):
    unknown = client.get("/points/verify/", {"code": "0000-0000-0000"})
    assert unknown.status_code == 200 and "未找到该验证码对应的证明" in unknown.content.decode()
    for bad in ("x" * 500, "1234", "<script>", "１２３４-5678-9ABC-DEF0"):
        page = client.get("/points/verify/", {"code": bad})
        assert page.status_code == 400 and "验证码格式不正确" in page.content.decode()
        assert "<script>" not in page.content.decode().split('id="id_code"')[1].split(">")[0]
    assert client.get("/points/verify/").status_code == 200  # the empty form


def test_guessing_codes_is_rate_limited(world, client, settings):
    settings.RATELIMIT_LOGIN = "3/m"
    from gongzhi.core import ratelimit

    ratelimit.reset()
    answers = [client.get("/points/verify/", {"code": f"0000-0000-000{i}"}).status_code for i in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    ratelimit.reset()


def test_masked_names():
    assert [certificate.masked_name(n) for n in ("", "张", "张三", "欧阳小明", "Li Lei")] == [
        "", "张", "张*", "欧**明", "L****i"]
