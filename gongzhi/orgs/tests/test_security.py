"""Account security (docs/security.md#accounts): lockout, password rules, two-factor for staff roles,
session expiry, logout everywhere, scoped and expiring API tokens."""

from __future__ import annotations

import base64
import datetime
import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.conftest import PASSWORD
from gongzhi.core.models import ApiToken, AuditLog
from gongzhi.orgs import services, sessions, twofactor
from gongzhi.orgs.models import LoginThrottle

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def login_post(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def totp_code(key: bytes, offset: int = 0) -> str:
    """The code an authenticator app shows ``offset`` seconds from now (the library's own TOTP)."""
    totp = TOTP(key)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def actions(*names):
    return list(AuditLog.objects.filter(action__in=names).order_by("id").values_list("action", flat=True))


# --- lockout -----------------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_until_unlocked(client, world):
    for i in range(4):
        # A username and the same person's phone number count as one account.
        response = login_post(client, "dispatcher" if i % 2 else "13800000001", "wrong-password")
        assert response.status_code == 200
        assert "用户名/手机号或密码不正确" in response.content.decode()
    response = login_post(client, "dispatcher", "wrong-password")
    assert response.status_code == 429
    assert "账号已锁定" in response.content.decode()
    # Locked: even the right password is refused, and it isn't checked.
    response = login_post(client, "13800000001")
    assert response.status_code == 429 and "账号已锁定" in response.content.decode()
    assert client.get("/").status_code == 302
    assert actions("login.failed").count("login.failed") == 5
    assert actions("login.locked") == ["login.locked"]
    row = LoginThrottle.objects.get(scope="account", user=world.dispatcher)
    assert row.is_locked()

    # Other accounts are not affected.
    assert login_post(Client(), "worker").status_code == 302

    assert services.unlock_login(actor=world.admin, user=world.dispatcher) == 1
    assert AuditLog.objects.filter(action="login.unlock", actor=world.admin).exists()
    assert login_post(client, "dispatcher").status_code == 302
    assert client.get("/").status_code == 200


def test_a_lock_ends_by_itself_and_a_success_clears_the_count(client, world):
    for _i in range(5):
        login_post(client, "worker", "nope-nope-nope")
    LoginThrottle.objects.filter(user=world.worker).update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    login_post(client, "worker", "nope-nope-nope")  # the count starts again after a lock
    assert LoginThrottle.objects.get(user=world.worker).failures == 1
    assert login_post(client, "worker").status_code == 302
    assert not LoginThrottle.objects.filter(user=world.worker).exists()


def test_names_of_no_account_lock_the_same_way(client, world):
    for _i in range(5):
        response = login_post(client, "nobody-here", "whatever-1A")
    assert response.status_code == 429 and "账号已锁定" in response.content.decode()


def test_a_client_address_is_locked_across_accounts(client, world, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 3
    for name in ("worker", "handler", "outsider"):
        login_post(client, name, "wrong-password", REMOTE_ADDR="10.9.8.7")
    response = login_post(client, "resident", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 429 and "此网络地址" in response.content.decode()
    assert login_post(Client(), "resident", REMOTE_ADDR="10.9.8.6").status_code == 302
    services.unlock_login(actor=world.admin, ip="10.9.8.7")
    assert login_post(client, "resident", REMOTE_ADDR="10.9.8.7").status_code == 302


def test_admin_unlocks_from_the_user_list(login, world):
    for _i in range(5):
        login_post(Client(), "worker", "wrong-password")
    client = login(world.admin)
    response = client.post("/admin/orgs/user/", {"action": "unlock_login", "_selected_action": [world.worker.pk]})
    assert response.status_code == 302
    assert not LoginThrottle.objects.filter(user=world.worker).exists()
    assert login_post(Client(), "worker").status_code == 302
    assert client.get("/admin/orgs/loginthrottle/").status_code == 200


# --- passwords ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "message"), [
    ("Ab1!xyz", "密码太短，至少需要 10 个字符"),
    ("password1234", "这个密码太常见了"),
    ("20260101123456", "密码只包含数字"),
    ("abcdefghijkl", "密码须至少包含大写字母、小写字母、数字、符号中的 3 类"),
    ("dispatcher-2026", "密码跟 用户名 太相似了"),
])
def test_weak_passwords_are_refused_in_chinese(world, password, message):
    with pytest.raises(ValidationError) as info:
        validate_password(password, world.dispatcher)
    assert any(message in m for m in info.value.messages), info.value.messages


def test_a_good_password_passes(world):
    validate_password("Wuhai-Grid-2026!", world.dispatcher)
    validate_password("gongzhi-demo-2026", world.dispatcher)  # the demo password still passes


def test_password_change_applies_the_rules_and_ends_other_sessions(login, world):
    other = Client()
    other.force_login(world.resident)
    client = login(world.resident)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "abcdefghijkl",
                                                   "new_password2": "abcdefghijkl"})
    assert response.status_code == 200 and "密码须至少包含" in response.content.decode()
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Wuhai-Grid-2026!",
                                                   "new_password2": "Wuhai-Grid-2026!"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert AuditLog.objects.filter(action="user.password_change", actor=world.resident).exists()


# --- two-factor --------------------------------------------------------------------------------------

@pytest.fixture
def require_2fa(settings):
    settings.GONGZHI_REQUIRE_2FA = True


def test_who_must_use_two_factor(world, require_2fa):
    assert twofactor.required_for(world.dispatcher)  # a command-center role
    assert twofactor.required_for(world.handler)  # department staff
    assert twofactor.required_for(world.admin)  # is_staff / superuser
    assert not twofactor.required_for(world.worker)  # a grid worker without such a role
    assert not twofactor.required_for(world.resident)


def test_switch_off_nobody_is_forced(world, settings):
    settings.GONGZHI_REQUIRE_2FA = False
    assert not twofactor.required_for(world.dispatcher)


def test_a_dispatcher_must_enrol_before_anything_else(client, world, require_2fa):
    response = login_post(client, "dispatcher")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/")
    response = client.get("/cases/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/?next=%2Fcases%2F")
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 302  # nothing else under /2fa/ either
    setup = client.get("/accounts/2fa/setup/")
    assert setup.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in setup.content.decode()


def test_a_resident_is_not_forced(client, world, require_2fa):
    response = login_post(client, "resident")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_enrol_then_log_in_with_a_code_then_with_a_recovery_code(client, world, require_2fa):
    login_post(client, "dispatcher")
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=world.dispatcher, confirmed=False)
    response = client.post("/accounts/2fa/setup/", {"code": "000000" if totp_code(device.bin_key) != "000000"
                                                    else "111111"})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's back-off after the wrong code (1 s): no sleeping in tests
    response = client.post("/accounts/2fa/setup/?next=/cases/", {"code": totp_code(device.bin_key), "next": "/cases/"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/recovery-codes/")
    page = client.get(response["Location"]).content.decode()
    codes = list(StaticToken.objects.filter(device__user=world.dispatcher).values_list("token", flat=True))
    assert len(codes) == 10 and all(c in page for c in codes)
    assert codes[0] not in client.get("/accounts/2fa/recovery-codes/").content.decode()  # shown once
    assert client.get("/").status_code == 200
    assert actions("two_factor.enrol_failed", "two_factor.enrol") == ["two_factor.enrol_failed", "two_factor.enrol"]

    # The next login asks for a code.
    client.post("/accounts/logout/")
    response = login_post(client, "13800000001")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")
    assert client.get("/").status_code == 302
    device.refresh_from_db()
    response = client.post("/accounts/2fa/verify/", {"code": totp_code(device.bin_key, 30), "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200

    # A lost phone: a recovery code works once.
    client.post("/accounts/logout/")
    login_post(client, "dispatcher")
    assert client.post("/accounts/2fa/verify/", {"code": codes[0].upper()}).status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    login_post(client, "dispatcher")
    response = client.post("/accounts/2fa/verify/", {"code": codes[0]})
    assert response.status_code in (200, 429) and client.get("/").status_code == 302
    assert AuditLog.objects.filter(action="two_factor.recovery_code_used").count() == 1


def test_someone_enrolled_is_asked_for_a_code_even_with_the_switch_off(client, world, settings):
    settings.GONGZHI_REQUIRE_2FA = False
    device = TOTPDevice.objects.create(user=world.worker, name="authenticator", confirmed=True)
    response = login_post(client, "worker")
    assert response["Location"].startswith("/accounts/2fa/verify/")
    response = client.post("/accounts/2fa/verify/", {"code": totp_code(device.bin_key)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_admin_login_goes_through_our_login_and_reset_two_factor(client, world, require_2fa):
    assert client.get("/admin/login/?next=/admin/").url.startswith("/accounts/login/")
    TOTPDevice.objects.create(user=world.handler, name="authenticator", confirmed=True)
    other = Client()
    other.force_login(world.handler)
    services.reset_two_factor(actor=world.admin, user=world.handler)
    assert not TOTPDevice.objects.filter(user=world.handler).exists()
    assert other.get("/").status_code == 302  # their sessions ended
    assert actions("two_factor.reset", "session.logout_all") == ["two_factor.reset", "session.logout_all"]


def test_qr_code_is_an_svg_made_on_the_server(world):
    uri = twofactor.qr_svg_data_uri("otpauth://totp/Gongzhi:dispatcher?secret=ABC")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "<script" not in svg


# --- sessions ----------------------------------------------------------------------------------------

def test_idle_session_expires(login, world):
    client = login(world.resident)
    assert client.get("/").status_code == 200
    session = client.session
    session[sessions.SEEN_AT] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302  # logged out for good
    assert AuditLog.objects.filter(action="session.expired", actor=world.resident).exists()


def test_busy_session_ends_at_its_absolute_lifetime(login, world, settings):
    client = login(world.resident)
    session = client.session
    session[sessions.LOGIN_AT] = int(time.time()) - settings.SESSION_COOKIE_AGE - 1
    session.save()
    assert client.get("/").status_code == 302


def test_activity_is_written_at_most_once_a_minute(login, world):
    client = login(world.resident)
    session = client.session
    stale = int(time.time()) - 120
    session[sessions.SEEN_AT] = stale
    session.save()
    client.get("/")
    assert client.session[sessions.SEEN_AT] > stale
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/me")
    assert not [q for q in queries if "django_session" in q["sql"] and q["sql"].startswith("UPDATE")]


def test_logout_everywhere_ends_the_other_sessions_and_nothing_else(login, world):
    _token, raw = services.create_api_token(actor=world.worker, user=world.worker, name="脚本")
    phone = Client()
    phone.force_login(world.worker)
    laptop = login(world.worker)
    page = laptop.get("/accounts/security/").content.decode()
    assert "退出其他所有设备" in page and page.count("<tr>") == 3  # header + two sessions
    response = laptop.post("/accounts/security/logout-others/")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    row = AuditLog.objects.get(action="session.logout_others")
    assert row.after == {"ended": 1}


# --- API tokens --------------------------------------------------------------------------------------

def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_expired_token_is_refused_on_a_write_with_a_clear_error(client, world):
    token, raw = services.create_api_token(actor=world.dispatcher, user=world.dispatcher, name="w", scope="write")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = client.post("/api/v1/areas", {"name": "x"}, content_type="application/json", **bearer(raw))
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "token_expired" and "过期" in error["message"]
    services.revoke_api_token(token, actor=world.dispatcher)
    assert client.get("/api/v1/me", **bearer(raw)).json()["error"]["code"] == "token_revoked"


def test_read_only_token_is_refused_on_a_write(client, world):
    _token, raw = services.create_api_token(actor=world.dispatcher, user=world.dispatcher, name="r")
    response = client.post("/api/v1/areas", {"name": "x"}, content_type="application/json", **bearer(raw))
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_every_token_expires(world, settings):
    token, _raw = services.create_api_token(actor=world.worker, user=world.worker, name="默认")
    days = (token.expires_at - timezone.now()).total_seconds() / 86400
    assert settings.API_TOKEN_DEFAULT_DAYS - 1 < days <= settings.API_TOKEN_DEFAULT_DAYS
    with pytest.raises(ValidationError):
        services.create_api_token(actor=world.worker, user=world.worker, name="太久",
                                  expires_at=timezone.now() + datetime.timedelta(days=settings.API_TOKEN_MAX_DAYS + 1))
    # A token made before tokens had to expire lives at most API_TOKEN_MAX_DAYS.
    legacy, raw = services.create_api_token(actor=world.worker, user=world.worker, name="旧")
    ApiToken.objects.filter(pk=legacy.pk).update(
        expires_at=None, created_at=timezone.now() - datetime.timedelta(days=settings.API_TOKEN_MAX_DAYS + 1))
    response = Client().get("/api/v1/me", **bearer(raw))
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_expired"


def test_token_api_refuses_a_lifetime_beyond_the_maximum(login, world):
    too_late = (timezone.now() + datetime.timedelta(days=4000)).isoformat()
    response = login(world.worker).post("/api/v1/me/tokens", {"name": "x", "expires_at": too_late},
                                        content_type="application/json")
    assert response.status_code == 400 and "expires_at" in response.json()["error"]["fields"]


def test_last_used_is_written_at_most_once_a_minute(client, world):
    token, raw = services.create_api_token(actor=world.worker, user=world.worker, name="忙")

    def token_updates():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/me", **bearer(raw)).status_code == 200
        return [q for q in queries if q["sql"].startswith("UPDATE") and "core_apitoken" in q["sql"]]

    assert len(token_updates()) == 1
    assert token_updates() == []  # within the minute: no write
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - datetime.timedelta(minutes=2))
    assert len(token_updates()) == 1
