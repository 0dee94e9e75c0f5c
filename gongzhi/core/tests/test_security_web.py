"""Web security (docs/security.md#web): CSRF everywhere, a CSP without inline script, production
cookies and headers, rate limits on the public doors, request size limits."""

from __future__ import annotations

import json
import os
import re
import runpy
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gongzhi.cases.models import Case
from gongzhi.core import ratelimit
from gongzhi.core.models import RateCounter
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]  # the gongzhi package
IN_A1 = {"lon": 100.05, "lat": 30.05}


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


def templates() -> list[Path]:
    return sorted(p for p in ROOT.rglob("templates/**/*.html"))


# --- CSRF ----------------------------------------------------------------------------------------

def test_every_post_form_in_every_template_carries_the_csrf_token():
    assert templates()
    missing = []
    for path in templates():
        text = path.read_text(encoding="utf-8")
        for form in re.finditer(r"<form\b[^>]*>.*?</form>", text, re.S | re.I):
            head = form.group(0)[:form.group(0).index(">") + 1]
            if re.search(r"method\s*=\s*[\"']?post", head, re.I) and "{% csrf_token %}" not in form.group(0):
                missing.append(f"{path.relative_to(ROOT)}: {head}")
    assert not missing, missing


def _web_patterns(patterns=None, prefix="", namespace=None):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace if not namespace else (f"{namespace}:{p.namespace}" if p.namespace else namespace)
            yield from _web_patterns(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (f"{namespace}:{p.name}" if namespace and p.name else p.name), p


#: Sample values for URL parameters, by name: enough to reach the CSRF check (which runs before the view).
SAMPLES = {"pk": 1, "number": "C1", "photo_id": 1, "kind": "public", "action": "file", "source": "camera",
           "fmt": "xlsx", "token_id": 1, "month": "2026-10", "token": "t0ken", "position": 1, "attachment_id": 1,
           "area_id": 1, "exception_id": 1, "version": 1}
#: Views that take POSTs without a CSRF token, and why.
CSRF_EXEMPT = {
    "hooks:device_alert": "device webhook: no cookies, every body signed with HMAC (X-Gongzhi-Signature)",
    # Open311 GeoReport v2 (gongzhi/open311): never reads the session; reads are public, writes carry
    # a client's api_key (form field), so answers stay in the spec's error format for every method.
    **{f"open311:{name}": "Open311: no session, writes keyed by api_key" for name in (
        "discovery", "services", "service", "requests", "request", "token", "updates")},
}


def test_no_view_is_exempt_from_csrf_but_the_signed_webhook():
    exempt = set()
    for path, name, pattern in _web_patterns():
        if path.startswith(("admin/", "api/")):
            continue
        if getattr(pattern.callback, "csrf_exempt", False):
            exempt.add(name)
    assert exempt == set(CSRF_EXEMPT)


def test_every_web_view_refuses_a_post_without_the_csrf_token(world):
    """Logged in (so login_required lets the post through), every page URL refuses a form post with
    no CSRF token — before the view runs — with a clear 403."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    checked = []
    for path, name, pattern in _web_patterns():
        if path.startswith(("admin/", "api/")) or name in CSRF_EXEMPT or name is None:
            continue
        params = pattern.pattern.regex.groupindex
        url = reverse(name, kwargs={k: SAMPLES[k] for k in params})
        response = client.post(url, {"x": "1"})
        assert response.status_code == 403, (url, response.status_code)
        checked.append(url)
        assert "CSRF" in response.content.decode()
    assert len(checked) > 20
    # the explanation is in the user's language, JSON for JSON clients (the report page's offline queue)
    r = client.post(reverse("report:report"), {"title": "x"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    assert "刷新页面" in r.json()["error"]["message"]


def test_the_admin_refuses_a_post_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    assert client.post("/admin/logout/").status_code == 403
    assert client.post(f"/admin/orgs/user/{world.resident.pk}/change/", {"username": "x"}).status_code == 403


def _unsafe_api_operations():
    schema = Client().get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                yield method, re.sub(r"\{(\w+)\}", lambda m: str(SAMPLES.get(m.group(1), 1)), path)


def test_session_writes_to_the_api_need_the_csrf_token_token_writes_do_not(world):
    from ninja.main import NinjaAPI  # noqa: F401  (the operations below come from the live schema)

    session = Client(enforce_csrf_checks=True)
    session.force_login(world.dispatcher)
    operations = list(_unsafe_api_operations())
    assert len(operations) > 15
    for method, url in operations:
        r = getattr(session, method)(url, data="{}", content_type="application/json")
        assert r.status_code == 403, (method, url, r.status_code, r.content)
        assert r.json()["error"]["code"] == "forbidden"
        assert "CSRF" in r.json()["error"]["message"]

    # the same session with the token from its cookie (what htmx and the report page send): accepted
    session.get("/report/")  # a page with a form sets the CSRF cookie
    csrf = session.cookies["csrftoken"].value
    r = session.post("/api/v1/cases", {"title": "路灯不亮", **IN_A1}, content_type="application/json",
                     HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 201, r.content

    # an API token needs no CSRF token (a browser can't send another site's Authorization header)
    _token, raw = org_services.create_api_token(actor=world.worker, user=world.worker, name="t", scope="write")
    r = Client(enforce_csrf_checks=True).post("/api/v1/cases", {"title": "井盖缺失", **IN_A1},
                                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 201, r.content


# --- Content-Security-Policy ---------------------------------------------------------------------

INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I), "inline <script> (use a static .js file)"),
    (re.compile(r"<style\b", re.I), "<style> element (use a static .css file)"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute (use a class)"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on…= event handler attribute (use addEventListener)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\shx-on\b|\shx-on:", re.I), "hx-on attribute (htmx evaluates it as inline script)"),
]


def test_no_template_has_inline_script_style_or_event_handlers():
    problems = []
    for path in templates():
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # template comments
        for pattern, what in INLINE:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}: {m.group(0)!r}")
    assert not problems, "\n".join(problems)


def test_pages_carry_a_csp_without_inline_script(world, login):
    for url in ("/accounts/login/", "/report/"):
        client = login(world.worker) if url == "/report/" else Client()
        r = client.get(url)
        assert r.status_code == 200
        policy = dict(part.strip().split(" ", 1) for part in r["Content-Security-Policy"].split(";") if part.strip())
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe" not in r["Content-Security-Policy"]
        # json_script is the only <script> element written into a page, and it is data, not code
        for tag in re.findall(r"<script\b[^>]*>", r.content.decode()):
            assert "src=" in tag or 'type="application/json"' in tag, tag


# --- headers and cookies in production -----------------------------------------------------------

def production_settings(monkeypatch, tmp_path) -> dict:
    """settings.py evaluated as in production (no DEBUG, no GONGZHI_INSECURE_DEV, a real secret)."""
    for name in ("DEBUG", "GONGZHI_INSECURE_DEV", "GONGZHI_TESTING", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-" + "k" * 40)
    monkeypatch.setenv("ALLOWED_HOSTS", "gongzhi.example.gov.cn")
    monkeypatch.setenv("GONGZHI_VAR_DIR", str(tmp_path))
    return runpy.run_path(str(ROOT / "settings.py"))


def test_production_settings_are_secure(monkeypatch, tmp_path):
    s = production_settings(monkeypatch, tmp_path)
    assert s["SECURE"] and not s["DEBUG"]
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["LANGUAGE_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_HTTPONLY"] and s["LANGUAGE_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_SAMESITE"] == s["CSRF_COOKIE_SAMESITE"] == s["LANGUAGE_COOKIE_SAMESITE"] == "Lax"
    assert s["SECURE_SSL_REDIRECT"] and s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and s["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert s["X_FRAME_OPTIONS"] == "DENY" and s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert "camera=(self)" in s["PERMISSIONS_POLICY"] and "microphone=()" in s["PERMISSIONS_POLICY"]
    assert s["RATELIMIT_ENABLED"]


def test_production_responses_carry_the_security_headers_and_cookie_flags(monkeypatch, tmp_path, world):
    s = production_settings(monkeypatch, tmp_path)
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
             "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"]
    with override_settings(**{n: s[n] for n in names}):
        client = Client()
        assert client.get("/accounts/login/").status_code == 301  # plain HTTP goes to HTTPS
        r = client.get("/accounts/login/", secure=True)
        assert r.status_code == 200
        assert r["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["X-Frame-Options"] == "DENY"
        assert r["Referrer-Policy"] == "same-origin"
        assert r["Cross-Origin-Opener-Policy"] == "same-origin"
        assert r["Cross-Origin-Resource-Policy"] == "same-origin"
        assert "geolocation=(self)" in r["Permissions-Policy"]
        csrf = r.cookies["csrftoken"]
        assert csrf["secure"] and csrf["samesite"] == "Lax"
        r = client.post("/accounts/login/", {"username": "resident", "password": "correct-horse-battery",
                                             "csrfmiddlewaretoken": csrf.value}, secure=True)
        assert r.status_code == 302, r.content
        session = r.cookies[django_settings.SESSION_COOKIE_NAME]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
        r = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True)
        lang = r.cookies[django_settings.LANGUAGE_COOKIE_NAME]
        assert lang["secure"] and lang["httponly"] and lang["samesite"] == "Lax"


def test_deploy_checks_pass_in_production_mode(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "GONGZHI_INSECURE_DEV", "GONGZHI_TESTING",
                                                             "DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")}
    env.update(SECRET_KEY="a-production-secret-" + "k" * 40, ALLOWED_HOSTS="gongzhi.example.gov.cn",
               GONGZHI_VAR_DIR=str(tmp_path), AUDIT_CHAIN_KEY="a-separate-audit-key-" + "a" * 40,
               REGISTRY_KEYS="x6V9rXz4m0bQ3f1H8yK2s5L7n4P0q9W6e3R1t8Y5u2I=", REGISTRY_INDEX_KEY="i" * 40,
               DJANGO_SETTINGS_MODULE="gongzhi.settings")
    done = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, capture_output=True, text=True, cwd=ROOT.parent, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# --- rate limits ---------------------------------------------------------------------------------

def test_rates_are_parsed_and_a_bad_one_stops_the_start(settings):
    assert ratelimit.parse_rate("6000/m") == ratelimit.Rate(6000, 60)
    assert ratelimit.parse_rate("5/h") == ratelimit.Rate(5, 3600)
    assert ratelimit.parse_rate("") is None and ratelimit.parse_rate("0") is None
    for bad in ("many", "10", "10/week", "-1/m"):
        with pytest.raises(ImproperlyConfigured):
            ratelimit.parse_rate(bad)
    settings.RATELIMIT_LOGIN = "lots"
    with pytest.raises(ImproperlyConfigured):
        ratelimit.RateLimitMiddleware(lambda request: None)


def test_the_counter_is_one_row_per_bucket_with_fixed_windows():
    rate = ratelimit.Rate(3, 60)
    t = 1_800_000_000.0  # a window boundary (divisible by 60)
    assert [ratelimit.hit("b", rate, t + i)[0] for i in range(4)] == [1, 2, 3, 4]
    count, remaining = ratelimit.hit("b", rate, t + 50)
    assert count == 5 and remaining == pytest.approx(10)
    assert ratelimit.hit("b", rate, t + 60) == (1, 60)  # the next window starts from one
    assert ratelimit.hit("other", rate, t + 61)[0] == 1
    assert RateCounter.objects.count() == 2
    RateCounter.objects.filter(bucket="b").update(window_start=0)  # a client not seen for a long time
    ratelimit.reset()
    ratelimit.hit("new", rate, t + 120)  # a new window lets the process purge stale counters
    assert set(RateCounter.objects.values_list("bucket", flat=True)) == {"other", "new"}


def test_login_posts_are_limited_per_address(settings, world):
    settings.RATELIMIT_LOGIN = "3/m"
    client = Client()
    for _ in range(3):
        r = client.post("/accounts/login/", {"username": "nobody", "password": "wrong-password-1"})
        assert r.status_code == 200
    r = client.post("/accounts/login/", {"username": "resident", "password": "correct-horse-battery"})
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 60
    assert "登录尝试过于频繁" in r.content.decode()
    assert "_auth_user_id" not in client.session  # refused before the password was even looked at
    # another address is not affected; nor is reading the login page
    assert client.get("/accounts/login/").status_code == 200
    r = Client(REMOTE_ADDR="10.0.0.9").post("/accounts/login/", {"username": "resident",
                                                                  "password": "correct-horse-battery"})
    assert r.status_code == 302


def test_behind_the_proxy_the_real_address_counts_and_ipv6_per_64(settings):
    factory = RequestFactory()
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = factory.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.7")
    assert ratelimit.address_key(request) == "203.0.113.7"
    request = factory.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="2001:db8:1:2:3:4:5:6")
    assert ratelimit.address_key(request) == "2001:db8:1:2::/64"
    request = factory.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="::ffff:198.51.100.1")
    assert ratelimit.address_key(request) == "198.51.100.1"


def test_api_reports_are_limited_per_token_and_trusted_workers_get_the_high_limit(settings, world):
    settings.RATELIMIT_INTAKE_USER = "2/m"
    settings.RATELIMIT_INTAKE_TRUSTED = "4/m"
    _t, resident = org_services.create_api_token(actor=world.resident, user=world.resident, name="r", scope="write")
    _t, worker = org_services.create_api_token(actor=world.worker, user=world.worker, name="w", scope="write")

    def report(raw, n):
        return Client().post("/api/v1/cases", {"title": f"问题{n}", **IN_A1}, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert [report(resident, i).status_code for i in range(3)] == [201, 201, 429]
    r = report(resident, 9)
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 60
    body = r.json()
    assert body["error"]["code"] == "rate_limited" and body["error"]["fields"] == {}
    assert "请求过于频繁" in body["error"]["message"]
    assert Case.objects.filter(reporter=world.resident).count() == 2  # nothing made by a refused request

    assert [report(worker, i).status_code for i in range(5)] == [201, 201, 201, 201, 429]
    # the web session of the same resident has its own bucket; the photo door shares the token's
    client = Client()
    client.force_login(world.resident)
    assert client.post("/api/v1/cases", {"title": "x", **IN_A1}, content_type="application/json").status_code == 201
    r = Client().post("/api/v1/cases/with-photos", {"title": "x", **IN_A1}, HTTP_AUTHORIZATION=f"Bearer {resident}")
    assert r.status_code == 429
    # reads are never counted
    assert Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {resident}").status_code == 200


def test_anonymous_api_calls_are_refused_401_not_counted(settings, world):
    settings.RATELIMIT_INTAKE_ANON = "1/m"
    for _ in range(3):
        r = Client().post("/api/v1/cases", {"title": "x", **IN_A1}, content_type="application/json",
                          HTTP_AUTHORIZATION="Bearer gz_not-a-token")
        assert r.status_code == 401
    assert not RateCounter.objects.exists()


def test_the_default_token_limit_takes_the_benchmark_and_costs_one_query(settings, world):
    assert ratelimit.parse_rate(settings.RATELIMIT_INTAKE_TRUSTED).limit >= 6000
    _t, raw = org_services.create_api_token(actor=world.worker, user=world.worker, name="w", scope="write")
    request = RequestFactory().post("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {raw}")
    request.user = world.worker
    settings.RATELIMIT_INTAKE_USER = "1/m"  # past the ordinary limit at once: trust is looked up
    assert ratelimit.check(request, ratelimit.API_INTAKE) is None
    assert ratelimit.check(request, ratelimit.API_INTAKE) is None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            assert ratelimit.check(request, ratelimit.API_INTAKE) is None
    assert len(queries) == 50  # one upsert per request, nothing else


def test_report_page_posts_are_limited_per_user_with_a_page_or_json(settings, world, login):
    settings.RATELIMIT_INTAKE_USER = "1/m"
    client = login(world.resident)
    data = {"title": "路灯不亮", "lon": "100.05", "lat": "30.05"}
    assert client.post("/report/", data).status_code == 302
    r = client.post("/report/", data)
    assert r.status_code == 429 and r["Retry-After"]
    assert "请求过于频繁" in r.content.decode() and "<html" in r.content.decode()
    r = client.post("/report/", data, HTTP_ACCEPT="application/json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert Case.objects.count() == 1
    assert client.get("/report/").status_code == 200  # the page itself still opens


def test_device_webhook_is_limited_per_address(settings, world):
    from gongzhi.cases.hooks import sign

    settings.RATELIMIT_WEBHOOK = "2/m"
    settings.DEVICE_WEBHOOK_SECRETS = {"camera": "s3cret"}

    def alert(n, addr="192.0.2.1"):
        body = json.dumps({"alert_id": f"a{n}", "title": "占道", **IN_A1}).encode()
        return Client(REMOTE_ADDR=addr).post("/hooks/devices/camera/", body, content_type="application/json",
                                             HTTP_X_GONGZHI_SIGNATURE=sign("s3cret", body))

    assert [alert(i).status_code for i in range(3)] == [201, 201, 429]
    r = alert(4)
    assert r.json()["error"]["code"] == "rate_limited" and r["Retry-After"]
    assert alert(5, addr="192.0.2.2").status_code == 201


def test_limits_can_be_switched_off(settings, world):
    settings.RATELIMIT_ENABLED = False
    settings.RATELIMIT_LOGIN = "1/m"
    for _ in range(3):
        assert Client().post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200
    assert not RateCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent connections")
def test_concurrent_hits_are_all_counted():
    """Eight threads (eight connections, as eight gunicorn processes would have) hit one bucket."""
    from django.db import connections

    rate = ratelimit.Rate(10_000, 3600)
    errors = []

    def worker():
        try:
            for _ in range(50):
                ratelimit.hit("shared", rate)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert RateCounter.objects.get(bucket="shared").hits == 400


# --- request size ---------------------------------------------------------------------------------

def test_oversized_bodies_are_refused_413_before_they_are_read(settings, world, login):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.REQUEST_MAX_BODY_BYTES = 5000
    client = login(world.worker)
    r = client.post("/api/v1/cases", {"title": "x" * 2000, **IN_A1}, content_type="application/json")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = client.post("/api/v1/cases/with-photos", {"title": "x", "photos": [_fake_file(6000)]})
    assert r.status_code == 413 and "过大" in r.json()["error"]["message"]
    r = client.post("/report/", {"title": "x", "photos": [_fake_file(6000)]})
    assert r.status_code == 413 and "过大" in r.content.decode()
    assert Case.objects.count() == 0


def _fake_file(size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("a.jpg", b"\xff\xd8\xff" + b"0" * (size - 3), content_type="image/jpeg")


def test_security_headers_on_every_response(world):
    r = Client().get("/healthz")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=(self)" in r["Permissions-Policy"]
    assert r["X-Frame-Options"] == "DENY"
