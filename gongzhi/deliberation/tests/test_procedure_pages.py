"""The 四议三公开 and meeting pages: who sees what (the outsider and the resident get nothing), forms
through the services, bad input is a 400 with the form again, a stage recorded twice a 409."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from gongzhi.deliberation import meetings, procedures
from gongzhi.deliberation.models import Attendee, Meeting, MeetingSeries, Procedure, Publication

pytestmark = pytest.mark.django_db


@pytest.fixture
def proc(world) -> Procedure:
    return procedures.start_procedure(actor=world.dispatcher, area=world.community_a, title="村道硬化工程",
                                      description="约 800 米")


@pytest.fixture
def series(world) -> MeetingSeries:
    return meetings.create_series(actor=world.dispatcher, area=world.community_a, kind="tripartite",
                                  name="三方联席会议", next_due=timezone.localdate() - datetime.timedelta(days=2),
                                  organiser=world.dispatcher,
                                  quorum=meetings.QUORUM_PRESETS["half"][1])


@pytest.fixture
def meeting(world, series) -> Meeting:
    return meetings.hold_meeting(actor=world.dispatcher, series=series, title="第三季度联席会议",
                                 held_at=timezone.now() - datetime.timedelta(days=1), minutes="议定事项",
                                 eligible=5, attendees=[{"name": "赵一", "signature": png()}, {"name": "钱二"},
                                                        {"name": "孙三", "present": False}])


def png() -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 10), "black").save(out, "PNG")
    return SimpleUploadedFile("sig.png", out.getvalue(), content_type="image/png")


def stage_post(**extra) -> dict:
    data = {"held_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(), "eligible": "7",
            "present": "", "votes_for": "5", "votes_against": "1", "minutes": "经讨论，提议将村道硬化列入议题",
            "att-0-name": "赵一", "att-0-role": "书记", "att-0-present": "1",
            "att-1-name": "钱二", "att-1-present": "1",
            "att-2-name": "孙三", "att-2-present": "1",
            "att-3-name": "李四", "att-3-present": "1",
            "att-4-name": "周五", "att-4-present": "1",
            "att-5-name": "吴六", "att-5-present": "1",
            "att-6-name": "郑七"}
    data.update(extra)
    return data


# ------------------------------------------------------------------------------------ who sees


@pytest.mark.parametrize("who", ["outsider", "resident"])
def test_outsiders_and_residents_get_404_on_every_object(world, login, proc, series, meeting, who):
    client = login(getattr(world, who))
    attendee = Attendee.objects.filter(meeting=meeting).exclude(signature="").get()
    for url in (reverse("deliberation:procedure", args=[proc.pk]), reverse("deliberation:series", args=[series.pk]),
                reverse("deliberation:meeting", args=[meeting.pk]),
                reverse("deliberation:attendee_signature", args=[attendee.pk])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("deliberation:stage_record", args=[proc.pk, 1]), stage_post()).status_code == 404
    assert client.post(reverse("deliberation:procedure_publish", args=[proc.pk, "topic"]), {}).status_code == 404
    assert client.post(reverse("deliberation:series_active", args=[series.pk]), {"active": "0"}).status_code == 404
    assert client.get(reverse("deliberation:meeting_create") + f"?series={series.pk}").status_code in (403, 404)


@pytest.mark.parametrize("who", ["resident", "worker", "outsider"])
def test_only_managers_open_the_forms(world, login, who):
    client = login(getattr(world, who))
    for name in ("procedure_create", "series_create", "meeting_create"):
        assert client.get(reverse(f"deliberation:{name}")).status_code == 403


def test_a_resident_has_no_lists(world, login):
    client = login(world.resident)
    assert client.get(reverse("deliberation:procedures")).status_code == 403
    assert client.get(reverse("deliberation:series_list")).status_code == 403


def test_the_grid_worker_sees_but_does_not_record(world, login, proc, series, meeting):
    client = login(world.worker)
    # 东一社区 lies above the worker's grid: a grid worker sees only their grid
    assert client.get(reverse("deliberation:procedure", args=[proc.pk])).status_code == 404
    inside = procedures.start_procedure(actor=world.dispatcher, area=world.grid_a1, title="网格议题")
    page = client.get(reverse("deliberation:procedure", args=[inside.pk]))
    assert page.status_code == 200 and b"stage-form" not in page.content
    assert client.post(reverse("deliberation:stage_record", args=[inside.pk, 1]), stage_post()).status_code == 403
    assert inside.stages.get(position=1).passed is None


@pytest.mark.parametrize("pk", ["0", "99999999999999999999"])
def test_malformed_ids_are_404(world, login, pk):
    client = login(world.admin)
    for prefix in ("procedures", "meetings/series", "meetings"):
        assert client.get(f"/deliberation/{prefix}/{pk}/").status_code == 404


# ------------------------------------------------------------------------------------ procedures


def test_a_manager_starts_a_procedure_and_records_the_proposal_with_an_attendance_list(world, login):
    client = login(world.dispatcher)
    assert client.get(reverse("deliberation:procedure_create")).status_code == 200
    response = client.post(reverse("deliberation:procedure_create"),
                           {"area": world.community_a.pk, "title": "修建文化广场", "description": "村委会旁空地"})
    proc = Procedure.objects.get(title="修建文化广场")
    assert response.status_code == 302 and response.url == reverse("deliberation:procedure", args=[proc.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.content.count(b'class="step step-') == 4 and b"step-current" in page.content
    data = stage_post()
    data["att-0-signature"] = png()
    response = client.post(reverse("deliberation:stage_record", args=[proc.pk, 1]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    first = proc.stages.get(position=1)
    assert first.passed is True and first.present == 6 and first.eligible == 7
    assert first.attendees.count() == 7 and first.attendees.exclude(signature="").count() == 1
    page = client.get(reverse("deliberation:procedure", args=[proc.pk])).content.decode()
    assert "step-done" in page and "6 / 7" in page
    # the form now records the second stage; the topic may be published
    assert reverse("deliberation:stage_record", args=[proc.pk, 2]) in page
    assert reverse("deliberation:procedure_publish", args=[proc.pk, "topic"]) in page
    # the signature is served as a PNG to whoever sees the procedure
    signed = first.attendees.exclude(signature="").get()
    got = client.get(reverse("deliberation:attendee_signature", args=[signed.pk]))
    assert got.status_code == 200 and got["Content-Type"] == "image/png"


def test_a_stage_posted_twice_is_a_409(world, login, proc):
    client = login(world.dispatcher)
    url = reverse("deliberation:stage_record", args=[proc.pk, 1])
    assert client.post(url, stage_post()).status_code == 302
    again = client.post(url, stage_post())
    assert again.status_code == 409
    assert "不能重复提交" in again.content.decode()
    assert proc.stages.get(position=2).passed is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"eligible": "abc"}, "请填写整数"),
    ({"eligible": "0"}, "应到人数至少为 1"),
    ({"held_on": "yesterday"}, "召开日期格式不正确"),
    ({"minutes": ""}, "请填写会议记录"),
    ({"present": "3"}, "不一致"),
    ({"votes_for": "6", "votes_against": "2"}, "不能超过实到人数"),
    ({"eligible": "5"}, "实到人数不能超过应到人数"),
    ({"att-3-name": "", "att-3-role": "委员"}, "请填写第 4 行参会人员的姓名"),
    ({"att-0-signature": SimpleUploadedFile("x.png", b"nope", content_type="image/png")}, "签名图片无法识别"),
])
def test_bad_stage_input_is_a_400_with_the_reason(world, login, proc, changes, message):
    client = login(world.dispatcher)
    response = client.post(reverse("deliberation:stage_record", args=[proc.pk, 1]), stage_post(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert proc.stages.get(position=1).passed is None and not Attendee.objects.exists()


def test_a_failed_stage_shows_the_rejection_and_the_unmet_condition(world, login, proc):
    client = login(world.dispatcher)
    response = client.post(reverse("deliberation:stage_record", args=[proc.pk, 1]),
                           stage_post(votes_for="3", votes_against="3"))
    assert response.status_code == 302
    page = client.get(reverse("deliberation:procedure", args=[proc.pk])).content.decode()
    assert "step-failed" in page and "unmet" in page and "请新建议题" in page
    assert 'id="stage-form"' not in page and 'id="publish-form"' not in page


def test_publishing_the_topic_from_the_page(world, login, proc):
    client = login(world.dispatcher)
    url = reverse("deliberation:procedure_publish", args=[proc.pk, "topic"])
    early = client.post(url, {"content": "议题", "channel": "公开栏", "starts_on": timezone.localdate().isoformat(),
                              "days": "7"})
    assert early.status_code == 409
    client.post(reverse("deliberation:stage_record", args=[proc.pk, 1]), stage_post())
    bad = client.post(url, {"content": "", "channel": "公开栏", "starts_on": "2026-13-01", "days": "0"})
    assert bad.status_code == 400 and not Publication.objects.exists()
    done = client.post(url, {"content": "议题：修建村道", "channel": "村务公开栏",
                             "starts_on": timezone.localdate().isoformat(), "days": "7"})
    assert done.status_code == 302
    page = client.get(reverse("deliberation:procedure", args=[proc.pk])).content.decode()
    assert "已公开" in page and "村务公开栏" in page
    assert client.post(reverse("deliberation:procedure_publish", args=[proc.pk, "other"]), {}).status_code == 404


def test_linking_a_ballot_from_the_page(world, login, proc):
    from gongzhi.deliberation.models import Decision
    from gongzhi.deliberation.tests.conftest import make_roll

    ballot = Decision.objects.create(area=world.community_a, roll=make_roll(world.community_a).roll, title="村道表决")
    client = login(world.dispatcher)
    url = reverse("deliberation:procedure_link", args=[proc.pk])
    assert client.post(url, {"decision": "999999"}).status_code == 400
    assert client.post(url, {"decision": str(ballot.pk)}).status_code == 302
    proc.refresh_from_db()
    assert proc.decision == ballot
    assert "村道表决" in client.get(reverse("deliberation:procedure", args=[proc.pk])).content.decode()


# ------------------------------------------------------------------------------------ meetings


def test_series_pages_and_recording_a_meeting(world, login, series):
    client = login(world.dispatcher)
    listing = client.get(reverse("deliberation:series_list")).content.decode()
    assert "三方联席会议" in listing and "已逾期" in listing
    page = client.get(reverse("deliberation:series", args=[series.pk])).content.decode()
    assert 'id="overdue-badge"' in page
    form = client.get(reverse("deliberation:meeting_create") + f"?series={series.pk}")
    assert form.status_code == 200 and 'name="area"' not in form.content.decode()
    response = client.post(reverse("deliberation:meeting_create") + f"?series={series.pk}", {
        "title": "第四季度联席会议", "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "place": "会议室",
        "agenda": "物业费", "minutes": "同意公示物业费收支", "eligible": "3", "present": "",
        "att-0-name": "赵一", "att-0-present": "1", "att-1-name": "钱二", "att-1-present": "1", "att-2-name": "孙三"})
    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = Meeting.objects.get(title="第四季度联席会议")
    assert meeting.present == 2 and meeting.quorate is True and meeting.series == series
    series.refresh_from_db()
    assert series.next_due == meetings.add_months(timezone.localdate(), 3)
    shown = client.get(reverse("deliberation:meeting", args=[meeting.pk])).content.decode()
    assert "达到法定人数" in shown and "同意公示物业费收支" in shown and "赵一" in shown
    assert 'id="overdue-badge"' not in client.get(reverse("deliberation:series", args=[series.pk])).content.decode()


def test_creating_a_series_from_the_page(world, login):
    client = login(world.dispatcher)
    assert client.get(reverse("deliberation:series_create")).status_code == 200
    bad = client.post(reverse("deliberation:series_create"), {"area": world.community_a.pk, "kind": "other",
                                                             "name": "月度例会", "next_due": "2027-01-31",
                                                             "remind_days": "7"})
    assert bad.status_code == 400 and "请填写周期（月）" in bad.content.decode()
    ok = client.post(reverse("deliberation:series_create"), {"area": world.community_a.pk, "kind": "opinion",
                                                            "name": "居民意见征询会", "next_due": "2027-01-31",
                                                            "remind_days": "7", "quorum": "two_thirds",
                                                            "organise": "on"})
    assert ok.status_code == 302
    made = MeetingSeries.objects.get(name="居民意见征询会")
    assert made.every_months == 2 and made.organiser == world.dispatcher and made.quorum["ratio"] == "2/3"
    outside = client.post(reverse("deliberation:series_create"), {"area": world.community_b.pk, "kind": "opinion",
                                                                 "name": "x", "next_due": "2027-01-31",
                                                                 "remind_days": "7"})
    assert outside.status_code == 400 and not MeetingSeries.objects.filter(area=world.community_b).exists()


def test_bad_meeting_input_is_a_400(world, login, series):
    client = login(world.dispatcher)
    url = reverse("deliberation:meeting_create") + f"?series={series.pk}"
    response = client.post(url, {"title": "", "held_at": "later", "minutes": ""})
    assert response.status_code == 400
    text = response.content.decode()
    assert "请填写会议名称" in text and "召开时间格式不正确" in text
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"title": "x", "held_at": future, "minutes": "y", "eligible": "3", "present": "2"})
    assert response.status_code == 400 and "不能晚于现在" in response.content.decode()
    response = client.post(url, {"title": "x", "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                                 "minutes": "y"})
    assert response.status_code == 400 and "法定人数" in response.content.decode()
    assert not Meeting.objects.exists()


def test_stopping_a_series(world, login, series):
    client = login(world.dispatcher)
    assert client.post(reverse("deliberation:series_active", args=[series.pk]), {"active": "0"}).status_code == 302
    series.refresh_from_db()
    assert series.is_active is False
    worker = login(world.worker)
    assert worker.post(reverse("deliberation:series_active", args=[series.pk]), {"active": "1"}).status_code == 404
