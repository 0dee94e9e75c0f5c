"""The inbox page: own messages only, unread first; marking read by POST with CSRF."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from gongzhi.notifications.context_processors import inbox
from gongzhi.notifications.models import Notification

pytestmark = pytest.mark.django_db


def note(user, title, *, minutes_ago=0, read=False, url=""):
    moment = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return Notification.objects.create(user=user, kind="report", title=title, body=f"{title}的内容", url=url,
                                       created_at=moment, read_at=moment if read else None)


def test_the_inbox_lists_own_messages_unread_first_then_newest(world, login):
    note(world.dispatcher, "旧的已读", minutes_ago=1, read=True)
    note(world.dispatcher, "旧的未读", minutes_ago=30)
    note(world.dispatcher, "新的未读", minutes_ago=5)
    note(world.handler, "别人的消息")
    response = login(world.dispatcher).get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("新的未读") < html.index("旧的未读") < html.index("旧的已读")
    assert "别人的消息" not in html
    assert "2 条未读" in html
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline code


def test_marking_one_read_and_opening_its_page(world, login):
    mine = note(world.dispatcher, "待办", url="/cases/1/")
    client = login(world.dispatcher)
    assert client.get(f"/inbox/{mine.pk}/read/").status_code == 405  # never by GET
    response = client.post(f"/inbox/{mine.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    other = note(world.dispatcher, "另一条", url="/cases/2/")
    response = client.post(f"/inbox/{other.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/cases/2/"


def test_an_offsite_link_is_never_followed(world, login):
    bad = note(world.dispatcher, "奇怪的链接", url="https://evil.example/")
    response = login(world.dispatcher).post(f"/inbox/{bad.pk}/read/", {"open": "1"})
    assert response["Location"] == "/inbox/"


def test_another_users_message_cannot_be_marked_read(world, login):
    theirs = note(world.handler, "民警的消息")
    client = login(world.dispatcher)
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    assert client.post("/inbox/99999999999999999999/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_own_messages(world, login):
    note(world.dispatcher, "一")
    note(world.dispatcher, "二")
    theirs = note(world.handler, "三")
    client = login(world.dispatcher)
    response = client.post("/inbox/read-all/", follow=True)
    assert "已将 2 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(user=world.dispatcher, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_posts_need_the_csrf_token_and_a_login(world):
    mine = note(world.dispatcher, "待办")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.dispatcher)
    assert client.post(f"/inbox/{mine.pk}/read/").status_code == 403
    assert client.post("/inbox/read-all/").status_code == 403
    anonymous = Client()
    assert anonymous.get("/inbox/").status_code == 302
    assert anonymous.post(f"/inbox/{mine.pk}/read/").status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is None


def test_the_unread_count_for_templates(world):
    note(world.dispatcher, "一")
    note(world.dispatcher, "二", read=True)
    request = RequestFactory().get("/")
    request.user = world.dispatcher
    assert inbox(request)["inbox_unread"]() == 1
    request.user = world.handler
    assert inbox(request)["inbox_unread"]() == 0


def test_the_unread_count_renders_in_a_template(world):
    from django.template import Context, Template

    note(world.dispatcher, "一")
    request = RequestFactory().get("/")
    request.user = world.dispatcher
    html = Template("{% if inbox_unread %}[{{ inbox_unread }}]{% endif %}").render(Context(inbox(request)))
    assert html == "[1]"
