"""Configuration: production mode passes Django's deploy checks; a missing secret is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The registries' keys (docs/registries.md#keys): a Fernet key and a separate index key.
REGISTRY = {"REGISTRY_KEYS": "x6V9rXz4m0bQ3f1H8yK2s5L7n4P0q9W6e3R1t8Y5u2I=", "REGISTRY_INDEX_KEY": "i" * 40}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "GONGZHI_INSECURE_DEV", "GONGZHI_TESTING", "DJANGO_SETTINGS_MODULE",
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "-m", "gongzhi.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**base, **env}, timeout=120)


def test_production_mode_passes_the_deploy_checks(tmp_path):
    result = run(["check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY="s" * 40 + "-Zq8#kP2$wL9!xV4&nR7",
                 AUDIT_CHAIN_KEY="a" * 40, ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path),
                 **REGISTRY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_without_registry_keys_fails_the_deploy_checks(tmp_path):
    result = run(["check", "--deploy"], SECRET_KEY="s" * 40 + "-Zq8#kP2$wL9!xV4&nR7", AUDIT_CHAIN_KEY="a" * 40,
                 ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "gongzhi.E030" in result.stderr + result.stdout and "gongzhi.E032" in result.stderr + result.stdout
    result = run(["check", "--deploy"], SECRET_KEY="s" * 40 + "-Zq8#kP2$wL9!xV4&nR7", AUDIT_CHAIN_KEY="a" * 40,
                 ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path),
                 REGISTRY_KEYS="not-a-fernet-key", REGISTRY_INDEX_KEY="i" * 40)
    assert result.returncode != 0 and "gongzhi.E031" in result.stderr + result.stdout


def test_a_missing_secret_in_production_is_a_clear_startup_error(tmp_path):
    result = run(["check"], ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_mode_without_an_audit_chain_key_warns(tmp_path):
    result = run(["check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY="s" * 40 + "-Zq8#kP2$wL9!xV4&nR7",
                 ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path), **REGISTRY)
    assert result.returncode != 0 and "gongzhi.W010" in result.stderr + result.stdout


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("f" * 30 + "-Zq8#kP2$wL9!xV4&nR7\n")
    result = run(["check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY_FILE=str(secret),
                 AUDIT_CHAIN_KEY_FILE=str(secret), ALLOWED_HOSTS="gongzhi.example.cn", GONGZHI_VAR_DIR=str(tmp_path),
                 **REGISTRY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_lists_the_operator_commands():
    result = run(["--help"], GONGZHI_INSECURE_DEV="1")
    for command in ("serve", "worker", "migrate", "demo", "createadmin", "import-areas", "export-areas"):
        assert command in result.stdout


def test_pages_are_chinese_whatever_the_browser_says_until_the_user_switches(client, db):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans" and "用户名或手机号" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "Username or mobile number" in client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "xx", "next": "/accounts/login/"})  # unknown: ignored
    assert client.get("/accounts/login/")["Content-Language"] == "en"


def test_api_errors_follow_accept_language(client, db):
    assert client.get("/api/v1/me").json()["error"]["message"].startswith("请先登录")
    english = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"]
    assert english.startswith("Log in")
