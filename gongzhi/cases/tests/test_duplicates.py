"""Duplicates and following: find_duplicates (near/far, category, window, words), merge from the
suggestion, following from the report page and the API, who sees a followed case, notifications."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from gongzhi.cases import duplicates, intake, services
from gongzhi.cases.choices import Status
from gongzhi.cases.models import Case, CaseFollower, Category
from gongzhi.notifications.models import Notification

pytestmark = pytest.mark.django_db
LON, LAT = 100.05, 30.05           # inside grid A1 (street A)
M = 1 / 111_195                    # one metre of latitude, in degrees


def report(world, category, *, title="小区门口垃圾堆积没人清理", description="", lat_m=0.0, user=None,
           days=0.0, **kw) -> Case:
    data = {"title": title, "description": description, "category": category, "lon": LON, "lat": LAT + lat_m * M,
            **kw}
    case, _created = intake.report_case(intake.Report(**data), reporter=user or world.resident)
    if days:
        Case.objects.filter(pk=case.pk).update(created_at=case.created_at + datetime.timedelta(days=days))
        case.refresh_from_db()
    return case


def numbers(found) -> list[str]:
    return [c.case.number for c in found]


@pytest.fixture
def other_major(directory):
    """09006 in the same major class as 09005 店外经营; 06010 暴露垃圾 is in another one."""
    street = directory["street"]
    street.major_code = "09"
    street.save()
    garbage = directory["garbage"]
    garbage.major_code = "06"
    garbage.save()
    return Category.objects.create(version=directory["version"], code="09006", name="占道经营",
                                   kind=Category.Kind.MATTER, major_code="09")


def test_near_far_and_the_evidence(world, directory):
    open_case = report(world, directory["garbage"], title="小区门口垃圾堆积", lat_m=50)
    report(world, directory["garbage"], title="小区门口垃圾堆积", lat_m=800)  # too far
    probe = {"title": "门口的垃圾堆积很久了", "category": directory["garbage"], "lon": LON, "lat": LAT}
    found = duplicates.find_duplicates(probe, user=world.dispatcher)
    assert numbers(found) == [open_case.number]
    best = found[0]
    assert 45 < best.distance_m < 55
    assert "垃圾" in best.shared_words and "堆积" in best.shared_words
    assert all(len(w) > 1 and w not in duplicates.STOP_WORDS for w in best.shared_words)
    assert best.category_relation == "same" and best.hours_apart < 1
    # a wider radius finds the far one too
    assert len(duplicates.find_duplicates(probe, user=world.dispatcher, radius_m=1000)) == 2


def test_category_same_major_other_and_uncategorised(world, directory, other_major):
    same = report(world, directory["street"], title="商铺店外经营占道摆摊")
    major = report(world, other_major, title="商铺门前摆摊占道")
    other = report(world, directory["garbage"], title="商铺门前摆摊垃圾")
    uncategorised = report(world, None, title="商铺门前摆摊占道经营")
    probe = {"title": "商铺门前占道摆摊经营", "category": directory["street"], "lon": LON, "lat": LAT}
    found = {c.case.number: c for c in duplicates.find_duplicates(probe, user=world.dispatcher, limit=10)}
    assert set(found) == {same.number, major.number, uncategorised.number}
    assert other.number not in found
    assert found[same.number].category_relation == "same"
    assert found[major.number].category_relation == "major"
    assert found[uncategorised.number].category_relation == "uncategorised"
    # a report without a category compares with every category
    probe["category"] = None
    assert other.number in numbers(duplicates.find_duplicates(probe, user=world.dispatcher, limit=10))


def test_time_window_before_and_after(world, directory):
    case = report(world, directory["garbage"], days=-10)        # the probe
    before_in = report(world, directory["garbage"], days=-15)   # 5 days before it
    before_out = report(world, directory["garbage"], days=-18)  # 8 days before: outside the 7-day window
    after_in = report(world, directory["garbage"], days=-6)     # 4 days after
    after_out = report(world, directory["garbage"], days=-1)    # 9 days after
    found = {c.case.number: c for c in duplicates.find_duplicates(case, user=world.dispatcher, limit=10)}
    assert set(found) == {before_in.number, after_in.number}
    assert found[before_in.number].earlier and not found[after_in.number].earlier
    assert 95 < found[after_in.number].hours_apart < 97
    wider = numbers(duplicates.find_duplicates(case, user=world.dispatcher, limit=10, window_days=10))
    assert before_out.number in wider and after_out.number in wider


def test_text_similar_and_dissimilar(world, directory):
    similar = report(world, directory["garbage"], title="垃圾桶满了垃圾堆积", description="垃圾满地，臭味很大")
    dissimilar = report(world, directory["garbage"], title="井盖缺失", description="人行道井盖不见了")
    found = duplicates.find_duplicates({"title": "垃圾堆积发臭", "category": directory["garbage"], "lon": LON,
                                        "lat": LAT}, user=world.dispatcher)
    assert numbers(found) == [similar.number]
    assert dissimilar.number not in numbers(found)


def test_only_open_visible_and_not_itself(world, directory):
    case = report(world, directory["garbage"])
    closed = report(world, directory["garbage"])
    services.not_file_case(closed, actor=world.dispatcher, reason="重复")
    twin = report(world, directory["garbage"])
    assert numbers(duplicates.find_duplicates(case, user=world.dispatcher)) == [twin.number]
    assert duplicates.find_duplicates(case, user=world.outsider) == []  # not theirs to see


@pytest.mark.parametrize("title", ["", "   ", "😀😀😀", "。，！", "a" * 20_000, "垃圾" * 10_000, "\u0000x"])
def test_bad_input_never_fails(world, directory, title):
    report(world, directory["garbage"])
    found = duplicates.find_duplicates({"title": title, "description": title, "lon": LON, "lat": LAT},
                                       user=world.dispatcher)
    assert isinstance(found, list)
    assert duplicates.find_duplicates({"title": "垃圾", "lon": "nan", "lat": None}) == []
    assert duplicates.find_duplicates({"title": "垃圾", "lon": 500, "lat": 95}) == []


def test_merge_from_the_suggestion(world, directory, supervisor, login, django_capture_on_commit_callbacks):
    master = report(world, directory["garbage"], title="小区门口垃圾堆积")
    services.file_case(master, actor=world.dispatcher)
    services.dispatch_case(master, actor=world.dispatcher, department=world.police_a)
    duplicate = report(world, directory["garbage"], title="门口垃圾堆积好几天", user=world.worker, lat_m=30)
    Case.objects.filter(pk=duplicate.pk).update(status=Status.REPORTED, department=None)
    client = login(world.dispatcher)
    page = client.get(reverse("cases:detail", args=[duplicate.number]))
    body = page.content.decode()
    assert "疑似重复案件" in body and master.number in body and "合并到此案件" in body and "<mark>垃圾</mark>" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cases:act", args=[duplicate.number, "merge"]),
                               {"master": master.number, "note": "疑似重复"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED and duplicate.master_id == master.pk
    assert duplicate.events.filter(action="merge").exists()
    # the duplicate's reporter now follows the master: sees it, and is told when it closes
    assert CaseFollower.objects.filter(case=master, user=world.worker).exists()
    assert Notification.objects.filter(user=world.worker, case=duplicate, kind="merge").exists()
    services.accept_case(master, actor=world.handler)
    services.handle_case(master, actor=world.handler, note="已清理")
    with django_capture_on_commit_callbacks(execute=True):
        services.verify_case(master, actor=supervisor, passed=True)
    assert Notification.objects.filter(user=world.worker, case=master, kind="verify").exists()
    assert Notification.objects.filter(user=world.resident, case=master, kind="verify").exists()  # its reporter


def test_the_resident_sees_nearby_and_follows(world, directory, login, django_capture_on_commit_callbacks):
    other = world.resident  # somebody else's report
    case = report(world, directory["garbage"], title="小区门口垃圾堆积", user=other, description="我家楼下，302 室门口")
    from gongzhi.orgs import services as org_services

    neighbour = org_services.create_user(actor=None, username="neighbour", password="correct-horse-battery",
                                         display_name="邻居")
    client = login(neighbour)
    detail = reverse("cases:detail", args=[case.number])
    assert client.get(detail).status_code == 404  # not a follower yet: nothing to see
    answer = client.get(reverse("report:nearby"), {"lon": LON, "lat": LAT + 20 * M, "title": "门口垃圾堆积",
                                                   "category": "06010"}, HTTP_HX_REQUEST="true")
    text = answer.content.decode()
    assert case.number in text and "关注此案件" in text and "约 20 米" in text
    assert other.display_name not in text and "13800" not in text  # no reporter data
    far = client.post(reverse("report:follow"), {"number": case.number, "lon": LON + 0.01, "lat": LAT},
                      HTTP_ACCEPT="application/json")
    assert far.status_code == 400  # not near the point given: as if it did not exist
    ok = client.post(reverse("report:follow"), {"number": case.number, "lon": LON, "lat": LAT + 20 * M},
                     HTTP_ACCEPT="application/json")
    assert ok.status_code == 200 and json.loads(ok.content)["url"] == reverse("cases:mine")
    assert client.get(detail).status_code == 200
    page = client.get(detail).content.decode()
    assert other.display_name not in page and "取消关注" in page
    assert "我家楼下" not in page  # what the reporter wrote is theirs: a follower sees the progress
    api = client.get(f"/api/v1/cases/{case.number}").json()
    assert api["description"] == "" and api["extra"] == {} and api["status"] == case.status
    mine = client.get(reverse("cases:mine")).content.decode()
    assert case.number in mine and "已关注" in mine
    # a non-follower still gets 404
    stranger = org_services.create_user(actor=None, username="stranger", password="correct-horse-battery")
    assert login(stranger).get(detail).status_code == 404
    assert Case.objects.visible_to(stranger).filter(pk=case.pk).count() == 0
    # the follower is told when it is handled
    services.file_case(case, actor=world.dispatcher)
    services.dispatch_case(case, actor=world.dispatcher, department=world.police_a)
    services.accept_case(case, actor=world.handler)
    with django_capture_on_commit_callbacks(execute=True):
        services.handle_case(case, actor=world.handler, note="已清理")
    assert Notification.objects.filter(user=neighbour, case=case, kind="handle").exists()
    # unfollow: gone from view
    client = login(neighbour)
    response = client.post(reverse("cases:follow", args=[case.number]), {"do": "unfollow"})
    assert response.status_code == 302
    assert client.get(detail).status_code == 404


def test_a_case_of_a_category_marked_not_public_is_not_offered_nearby(world, directory, login):
    case = report(world, directory["garbage"], title="小区门口垃圾堆积", user=world.resident)
    Category.objects.filter(pk=directory["garbage"].pk).update(is_public=False)
    from gongzhi.orgs import services as org_services

    client = login(org_services.create_user(actor=None, username="neighbour", password="correct-horse-battery"))
    answer = client.get(reverse("report:nearby"), {"lon": LON, "lat": LAT, "title": "门口垃圾堆积",
                                                   "category": "06010"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and case.number not in answer.content.decode()
    follow = client.post(reverse("report:follow"), {"number": case.number, "lon": LON, "lat": LAT},
                         HTTP_ACCEPT="application/json")
    assert follow.status_code == 400  # as if it did not exist
    # staff still see it as a duplicate candidate (their own door)
    probe = {"title": "门口垃圾堆积", "lon": LON, "lat": LAT, "category": directory["garbage"]}
    assert [c.case.pk for c in duplicates.find_duplicates(probe, user=world.dispatcher)] == [case.pk]


def test_visible_to_lists_each_case_once(world, directory):
    case = report(world, directory["garbage"])
    for user in (world.worker, world.dispatcher, world.handler):
        CaseFollower.objects.create(case=case, user=user)
    assert Case.objects.visible_to(world.dispatcher).filter(pk=case.pk).count() == 1
    assert Case.objects.visible_to(world.worker).filter(pk=case.pk).count() == 1


def test_follow_rules(world, directory):
    case = report(world, directory["garbage"])
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.follow_case(case, user=world.resident)  # their own report
    services.follow_case(case, user=world.worker)
    services.follow_case(case, user=world.worker)  # twice: still one
    assert CaseFollower.objects.filter(case=case).count() == 1
    services.not_file_case(case, actor=world.dispatcher, reason="不属实")
    with pytest.raises(ValidationError):
        services.follow_case(case, user=world.handler)  # ended
    assert services.unfollow_case(case, user=world.worker) is True
    assert services.unfollow_case(case, user=world.worker) is False


def test_api_duplicates_and_follow(world, directory, login):
    case = report(world, directory["garbage"], title="小区门口垃圾堆积")
    twin = report(world, directory["garbage"], title="门口垃圾堆积", lat_m=10, user=world.worker)
    client = login(world.dispatcher)
    answer = client.get(f"/api/v1/cases/{twin.number}/duplicates")
    assert answer.status_code == 200
    rows = answer.json()
    assert rows[0]["number"] == case.number and rows[0]["distance_m"] < 15 and "垃圾" in rows[0]["shared_words"]
    assert login(world.resident).get(f"/api/v1/cases/{case.number}/duplicates").status_code == 403
    assert login(world.outsider).get(f"/api/v1/cases/{case.number}/duplicates").status_code == 404
    client = login(world.handler)
    assert client.post(f"/api/v1/cases/{case.number}/follow", {}, content_type="application/json").status_code == 200
    from gongzhi.orgs import services as org_services

    neighbour = org_services.create_user(actor=None, username="neighbour", password="correct-horse-battery")
    client = login(neighbour)
    near = client.get("/api/v1/cases/nearby", {"lon": LON, "lat": LAT, "title": "垃圾堆积"})
    assert near.status_code == 200 and {r["number"] for r in near.json()} == {case.number, twin.number}
    assert "reporter" not in json.dumps(near.json())
    url = f"/api/v1/cases/{case.number}/follow"
    assert client.post(url, {}, content_type="application/json").status_code == 404
    assert client.post(url, {"lon": LON + 0.01, "lat": LAT}, content_type="application/json").status_code == 404
    answer = client.post(url, {"lon": LON, "lat": LAT}, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"number": case.number, "following": True, "followers": 2}
    assert client.get(f"/api/v1/cases/{case.number}").status_code == 200
    assert client.delete(url).json()["following"] is False
    assert client.get(f"/api/v1/cases/{case.number}").status_code == 404


def test_the_prefilter_uses_the_index_on_postgresql(world, directory):
    """20,000 cases over a city of 50 × 50 km, most of them closed, statistics gathered: the box
    query is served by the partial index on open cases' (lat, lon), and the whole search is fast."""
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN is read on PostgreSQL")
    import random
    rng = random.Random(5)
    now = timezone.now()
    statuses = [Status.CLOSED] * 7 + [Status.REPORTED, Status.DISPATCHED, Status.IN_PROGRESS]
    Case.objects.bulk_create([
        Case(number=f"bench-{i:06d}", title=rng.choice(["垃圾堆积", "井盖缺失", "占道经营", "噪声扰民"]),
             status=rng.choice(statuses), lon=100.0 + rng.random() * 0.5, lat=30.0 + rng.random() * 0.5,
             category=directory["garbage"], created_at=now - datetime.timedelta(days=rng.random() * 365))
        for i in range(20_000)], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    probe = duplicates.probe_of({"title": "垃圾堆积", "lon": 100.25, "lat": 30.25,
                                 "category": directory["garbage"]})
    plan = duplicates.candidates_query(probe, user=world.dispatcher, radius_m=200,
                                       window=datetime.timedelta(days=7)).explain()
    assert "case_open_latlon" in plan, plan  # the index, not a scan (speed is bench/'s job, not a timer's)
    duplicates.find_duplicates(probe, user=world.dispatcher)


def test_now_is_the_default_time(world, directory):
    case = report(world, directory["garbage"])
    assert abs((case.created_at - timezone.now()).total_seconds()) < 60
    assert numbers(duplicates.find_duplicates({"title": case.title, "lon": LON, "lat": LAT})) == [case.number]
