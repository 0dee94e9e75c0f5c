"""双向共评: weighted scores with known answers, one sheet per person, nominate → vote once → publish."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gongzhi.appraisal import scoring, services
from gongzhi.appraisal.models import Project, Selection, Sheet, Vote
from gongzhi.core.errors import Conflict
from gongzhi.orgs import services as org_services


def person(name: str):
    return org_services.create_user(actor=None, username=name, password="correct-horse-battery", display_name=name)


@pytest.fixture
def project(world):
    project = services.create_project(
        actor=world.dispatcher, area=world.street_a, title="地下室改建活动室",
        items=[("环境整治", 40), ("设施完善", 30), ("群众满意", 30)],
        weights={"leader": 30, "deputy": 20, "party_member": 20, "resident": 30})
    services.invite_evaluator(project, actor=world.dispatcher, user=world.worker, party="party_member")
    return services.open_project(project, actor=world.dispatcher)


def sheet(project, user, a, b, c):
    items = list(project.items.all())
    return services.submit_sheet(project, actor=user, scores={items[0].pk: a, items[1].pk: b, items[2].pk: c})


def test_the_weighted_total_pure_computation():
    result = scoring.compute(
        {"leader": Fraction(30), "deputy": Fraction(20), "party_member": Fraction(20), "resident": Fraction(30)},
        {"leader": [Fraction(90)], "resident": [Fraction(80), Fraction(70)], "party_member": [Fraction(60)]},
        Fraction(100))
    # deputies did not score: (30×90 + 20×60 + 30×75) / (30 + 20 + 30) = 6150 / 80 = 76.875
    assert result.weighted == Fraction(6150, 80)
    assert scoring.rounded(result.weighted) == Decimal("76.88")
    assert {p.party: p.sheets for p in result.parties} == {"leader": 1, "deputy": 0, "party_member": 1,
                                                           "resident": 2}
    assert result.percent == Fraction(6150, 80)


def test_weighted_scoring_through_the_sheets(world, project, login):
    leader = person("leader1")
    services.invite_evaluator(project, actor=world.dispatcher, user=leader, party="leader")
    sheet(project, leader, 36, 27, 27)              # 90
    sheet(project, world.worker, 30, 15, "15.5")    # 60.5, party member
    sheet(project, world.resident, 30, 20, 30)      # 80, resident (public project)
    sheet(project, world.outsider, 20, 20, 30)      # 70, resident too
    result = scoring.project_result(project)
    # (30×90 + 20×60.5 + 30×75) / 80 = (2700 + 1210 + 2250) / 80 = 77
    assert result.weighted == 77
    assert result.max_total == 100 and result.sheets == 4
    assert Sheet.objects.get(scorer=world.worker).party == "party_member"
    page = login(world.dispatcher).get(f"/appraisal/projects/{project.pk}/").content.decode()
    assert "加权得分 77.00 / 100.00（77.00%）" in page


def test_one_sheet_per_person(world, project):
    sheet(project, world.resident, 30, 20, 30)
    with pytest.raises(Conflict, match="只能提交一份"):
        sheet(project, world.resident, 40, 30, 30)
    assert Sheet.objects.filter(scorer=world.resident).count() == 1


def test_scores_outside_the_items_range_or_missing_are_refused(world, project):
    items = list(project.items.all())
    with pytest.raises(ValidationError) as info:
        services.submit_sheet(project, actor=world.resident, scores={items[0].pk: 41, items[1].pk: "-1"})
    assert set(info.value.message_dict) == {f"item_{i.pk}" for i in items}
    assert not Sheet.objects.exists()


def test_only_an_open_project_is_scored_and_only_by_its_parties(world, project):
    private = services.create_project(actor=world.admin, area=world.street_a, title="内部评议",
                                      items=[("成效", 10)], weights={"leader": 1}, public=False)
    services.open_project(private, actor=world.admin)
    with pytest.raises(PermissionDenied):
        services.submit_sheet(private, actor=world.resident, scores={private.items.get().pk: 5})
    services.close_project(project, actor=world.dispatcher)
    with pytest.raises(Conflict):
        sheet(project, world.resident, 1, 1, 1)
    with pytest.raises(PermissionDenied):
        services.create_project(actor=world.worker, area=world.street_a, title="x", items=[("a", 1)],
                                weights={"resident": 1})


@pytest.fixture
def selection(world):
    selection = services.create_selection(actor=world.dispatcher, area=world.street_a, title="最美家庭", winners=2,
                                          publicity_days=7)
    for name in ("甲家", "乙家", "丙家"):
        services.nominate(selection, actor=world.resident, name=name, reasons="孝老爱亲，邻里和睦，热心公益。")
    return services.open_voting(selection, actor=world.dispatcher,
                                closes_at=timezone.now() + datetime.timedelta(days=3))


def test_nominations_need_reasons_and_close_when_voting_opens(world, selection):
    with pytest.raises(Conflict, match="推荐已截止"):
        services.nominate(selection, actor=world.resident, name="丁家", reasons="热心公益，乐于助人的一家人。")
    fresh = services.create_selection(actor=world.dispatcher, area=world.street_a, title="清廉家风示范家庭")
    with pytest.raises(ValidationError):
        services.nominate(fresh, actor=world.resident, name="丁家", reasons="好")
    with pytest.raises(Conflict):
        services.open_voting(fresh, actor=world.dispatcher, closes_at=timezone.now() + datetime.timedelta(days=1))


def test_each_person_votes_once(world, selection):
    first, second, _third = selection.nominations.all()
    services.cast_vote(selection, actor=world.resident, nomination=first)
    with pytest.raises(Conflict, match="只能投一票"):
        services.cast_vote(selection, actor=world.resident, nomination=second)
    assert Vote.objects.filter(voter=world.resident).count() == 1


def test_no_vote_outside_the_window(world, selection):
    first = selection.nominations.first()
    Selection.objects.filter(pk=selection.pk).update(vote_closes_at=timezone.now() - datetime.timedelta(seconds=1))
    selection.refresh_from_db()
    with pytest.raises(Conflict, match="投票时间"):
        services.cast_vote(selection, actor=world.resident, nomination=first)


def test_publishing_counts_votes_and_starts_the_publicity_period(world, selection):
    first, second, third = selection.nominations.all()
    voters = [world.resident, world.worker, world.outsider, world.handler, person("v1")]
    for voter, nomination in zip(voters, [first, second, second, third, first], strict=True):
        services.cast_vote(selection, actor=voter, nomination=nomination)
    with pytest.raises(PermissionDenied):
        services.publish_result(selection, actor=world.resident)
    now = timezone.now()
    published = services.publish_result(selection, actor=world.dispatcher, now=now)
    assert published.status == "published"
    assert [w["name"] for w in published.result["winners"]] == ["甲家", "乙家"]
    assert published.result["votes"] == 5
    assert published.publicity_ends_at == now + datetime.timedelta(days=7)
    assert published.vote_closes_at == now  # publishing early closed the vote
    with pytest.raises(Conflict):
        services.cast_vote(published, actor=person("late"), nomination=third)


def test_a_tie_for_the_last_place_lists_every_tied_nominee(world, selection):
    first, second, third = selection.nominations.all()
    for voter, nomination in zip([world.resident, world.worker, world.outsider],
                                 [first, second, third], strict=True):
        services.cast_vote(selection, actor=voter, nomination=nomination)
    published = services.publish_result(selection, actor=world.dispatcher)
    assert len(published.result["winners"]) == 3


def test_a_project_with_several_evaluators_is_listed_once(world, project, login):
    for name, party in (("l1", "leader"), ("l2", "leader"), ("d1", "deputy")):
        services.invite_evaluator(project, actor=world.dispatcher, user=person(name), party=party)
    assert Project.objects.visible_to(world.dispatcher).count() == 1
    assert login(world.dispatcher).get(f"/appraisal/projects/{project.pk}/").status_code == 200


def test_visibility_by_jurisdiction(world, project):
    services.create_project(actor=world.admin, area=world.street_a, title="内部评议", items=[("成效", 10)],
                            weights={"leader": 1}, public=False)
    visible = {user: set(Project.objects.visible_to(user).values_list("title", flat=True))
               for user in (world.resident, world.outsider, world.worker, world.dispatcher)}
    assert visible[world.resident] == {"地下室改建活动室"}  # public and open
    assert visible[world.outsider] == {"地下室改建活动室"}
    assert visible[world.worker] == {"地下室改建活动室"}  # the street is above their grid
    assert visible[world.dispatcher] == {"地下室改建活动室", "内部评议"}


def test_pages_on_a_phone(world, project, selection, login):
    client = login(world.resident)
    assert "地下室改建活动室" in client.get("/appraisal/").content.decode()
    page = client.get(f"/appraisal/projects/{project.pk}/").content.decode()
    assert 'id="sheet"' in page and "居民" in page
    items = list(project.items.all())
    client.post(f"/appraisal/projects/{project.pk}/", {f"item_{i.pk}": "20" for i in items})
    assert Sheet.objects.get(scorer=world.resident).total == 60
    page = client.get(f"/appraisal/projects/{project.pk}/").content.decode()
    assert "您已提交评分表" in page
    response = client.post(f"/appraisal/selections/{selection.pk}/vote/",
                           {"nomination": selection.nominations.first().pk})
    assert response.status_code == 302 and Vote.objects.count() == 1
    organiser = login(world.dispatcher)
    assert organiser.post(f"/appraisal/selections/{selection.pk}/publish/").status_code == 302
    assert "评选结果" in organiser.get(f"/appraisal/selections/{selection.pk}/").content.decode()


def test_an_organiser_creates_a_project_invites_and_a_selection_on_the_pages(world, login):
    client = login(world.dispatcher)
    assert client.get("/appraisal/projects/new/").status_code == 200
    response = client.post("/appraisal/projects/new/", {
        "title": "背街小巷整治", "area": world.community_a.pk, "items": "环境整治成效 60\n群众满意：40分",
        "weight_leader": "30", "weight_deputy": "20", "weight_party_member": "20", "weight_resident": "30",
        "public": "on"})
    assert response.status_code == 302
    project = Project.objects.get(title="背街小巷整治")
    assert list(project.items.values_list("name", "max_score")) == [("环境整治成效", 60), ("群众满意", 40)]
    client.post(f"/appraisal/projects/{project.pk}/invite/", {"person": "13800000002", "party": "deputy"})
    assert project.evaluators.get().user == world.worker
    page = client.post("/appraisal/projects/new/", {"title": "x", "area": world.community_a.pk, "items": "无满分",
                                                    "weight_leader": "1", "weight_deputy": "1",
                                                    "weight_party_member": "1", "weight_resident": "1"})
    assert page.status_code == 200 and "名称 满分" in page.content.decode()
    response = client.post("/appraisal/selections/new/", {"title": "最美家庭", "area": world.street_a.pk,
                                                          "winners": "3", "publicity_days": "7", "public": "on"})
    assert response.status_code == 302 and Selection.objects.get().winners == 3
    # an area outside the organiser's is not a choice; a grid worker organises nothing
    response = client.post("/appraisal/selections/new/", {"title": "外街道", "area": world.street_b.pk,
                                                          "winners": "1", "publicity_days": "7"})
    assert response.status_code == 200 and Selection.objects.count() == 1
    assert login(world.worker).get("/appraisal/projects/new/").status_code == 403
    assert login(world.worker).post(f"/appraisal/projects/{project.pk}/invite/",  # invited: sees it
                                    {"person": "resident", "party": "deputy"}).status_code == 403
    assert login(world.outsider).post(f"/appraisal/projects/{project.pk}/invite/",
                                      {"person": "resident", "party": "deputy"}).status_code == 404
