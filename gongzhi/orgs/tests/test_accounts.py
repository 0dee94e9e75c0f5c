"""Logging in by username or phone, personal API tokens, the API's error shape."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from gongzhi.conftest import PASSWORD
from gongzhi.core.models import ApiToken, AuditLog
from gongzhi.orgs import services

pytestmark = pytest.mark.django_db


def test_login_by_username_or_phone(world):
    assert authenticate(username="worker", password=PASSWORD) == world.worker
    assert authenticate(username="13800000002", password=PASSWORD) == world.worker
    assert authenticate(username="13800000002", password="wrong") is None
    assert authenticate(username="13899999999", password=PASSWORD) is None


def test_login_page_by_phone_then_logout(client, world):
    response = client.post("/accounts/login/", {"username": "13800000001", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_bad_login_shows_a_message_not_an_error(client, world):
    response = client.post("/accounts/login/", {"username": "x" * 5000, "password": ""})
    assert response.status_code == 200
    assert "用户名/手机号或密码不正确" in response.content.decode()


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_tokens_are_stored_hashed_scoped_and_revocable(client, world):
    token, raw = services.create_api_token(actor=world.dispatcher, user=world.dispatcher, name="脚本")
    assert raw not in {token.digest, token.prefix} and token.digest == ApiToken.hash(raw)
    assert client.get("/api/v1/me", **bearer(raw)).json()["username"] == "dispatcher"
    # A read token cannot write.
    response = client.post("/api/v1/areas", {"name": "x", "level": "grid"}, content_type="application/json",
                           **bearer(raw))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    services.revoke_api_token(token, actor=world.dispatcher)
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401
    assert AuditLog.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()


def test_expired_and_unknown_tokens_are_refused(client, world):
    token, raw = services.create_api_token(actor=world.worker, user=world.worker, name="旧",
                                           expires_at=timezone.now() + datetime.timedelta(seconds=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401
    assert client.get("/api/v1/me", **bearer("gz_nonsense")).status_code == 401
    assert client.get("/api/v1/me", **bearer("x" * 10_000)).status_code == 401


def test_token_api_needs_the_session_and_shows_the_secret_once(login, world):
    client = login(world.worker)
    response = client.post("/api/v1/me/tokens", {"name": "同步", "scope": "write"}, content_type="application/json")
    assert response.status_code == 201
    raw = response.json()["token"]
    listed = client.get("/api/v1/me/tokens").json()
    assert all("token" not in t for t in listed)
    # A token can't be used to mint more tokens.
    client.logout()
    assert client.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json",
                       **bearer(raw)).status_code == 403
    bad = login(world.worker).post("/api/v1/me/tokens", {"name": "", "scope": "root"},
                                   content_type="application/json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"name", "scope"}


@pytest.mark.parametrize("url", [
    "/api/v1/areas?page=0", "/api/v1/areas?page=abc", "/api/v1/areas?page=99999999999",
    "/api/v1/areas?page_size=100000", "/api/v1/areas/lookup?lon=abc&lat=1", "/api/v1/areas/lookup?lon=500&lat=1",
    "/api/v1/areas?q=" + "x" * 500, "/api/v1/areas?under=abc",
])
def test_bad_query_parameters_are_400_in_one_shape(login, world, url):
    response = login(world.dispatcher).get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid" and body["error"]["message"]


def test_pagination(login, world):
    data = login(world.admin).get("/api/v1/areas?page_size=2&page=2").json()
    assert data["count"] == 9 and len(data["items"]) == 2
    assert login(world.admin).get("/api/v1/areas?page=500").json()["items"] == []
