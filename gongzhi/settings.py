"""Gongzhi settings: one module, configured from environment variables.

Every setting an operator may change is read from the environment here (see docs/deploy.md).
Secrets may also be given as files: ``SECRET_KEY_FILE=/run/secrets/key`` (the Healthchecks way).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("GONGZHI_VAR_DIR", REPO_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """An environment variable, or the content of the file named by ``NAME_FILE``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    return env(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG")
TESTING = envbool("GONGZHI_TESTING") or "PYTEST_CURRENT_TEST" in os.environ

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not envbool("GONGZHI_INSECURE_DEV"):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) needs a secret: set SECRET_KEY or "
            "SECRET_KEY_FILE (for example `python -c 'import secrets; print(secrets.token_urlsafe(50))'`). "
            "For a local trial set DEBUG=1 or GONGZHI_INSECURE_DEV=1."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-" + "x" * 20

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or envbool("GONGZHI_INSECURE_DEV") else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "gongzhi.core",
    "gongzhi.areas",
    "gongzhi.orgs",
    "gongzhi.cases",
    "gongzhi.notifications",
    "gongzhi.router",
    "gongzhi.open311",
    "gongzhi.evaluation",
    "gongzhi.safety",
    "gongzhi.appraisal",
    "gongzhi.premises",
    "gongzhi.checklists",
    "gongzhi.inspections",
    "gongzhi.screen",
    "gongzhi.points",
    "gongzhi.deliberation",
    "gongzhi.registries",
    "gongzhi.portal",
]
# Volunteer points (docs/points.md): points expire by earning batch after this many days.
POINTS_VALIDITY_DAYS = envint("POINTS_VALIDITY_DAYS", 730)
# Registries (docs/registries.md#keys): Fernet keys for sensitive fields (the first encrypts, all decrypt;
# add a new key in front, then `gongzhi rotate_keys`), and a separate key for the identity-number index.
REGISTRY_KEYS = envlist("REGISTRY_KEYS")
REGISTRY_INDEX_KEY = env("REGISTRY_INDEX_KEY")
# Every answer under these paths is sent with Cache-Control: no-store (core.middleware).
PRIVATE_PATH_PREFIXES = ["/registries/", "/api/v1/registries/"]
GONGZHI_INSECURE_DEV = envbool("GONGZHI_INSECURE_DEV")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gongzhi.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "gongzhi.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gongzhi.core.middleware.LanguageMiddleware",
    "gongzhi.core.middleware.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gongzhi.core.ratelimit.RateLimitMiddleware",  # after authentication, before the body is parsed
    "gongzhi.core.middleware.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "gongzhi.orgs.middleware.AccountSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "gongzhi.urls"
WSGI_APPLICATION = "gongzhi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gongzhi.core.context_processors.shell",
                "gongzhi.notifications.context_processors.inbox",
            ],
        },
    }
]

# Database: SQLite file by default, PostgreSQL (or anything dj-database-url knows) from DATABASE_URL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gongzhi.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web process share the file; a wait instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = ["gongzhi.orgs.backends.UsernameOrPhoneBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ["username", "display_name", "phone", "email"]}},
    {"NAME": "gongzhi.orgs.validators.MinimumLengthValidator",
     "OPTIONS": {"min_length": envint("PASSWORD_MIN_LENGTH", 10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "gongzhi.orgs.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]
# Accounts (docs/security.md#accounts): lockout after failed logins, 2FA, session lifetime, API tokens.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)  # wrong passwords per account …
LOGIN_IP_FAILURE_LIMIT = envint("LOGIN_IP_FAILURE_LIMIT", 20)  # … and per client address (offices share one)
LOGIN_FAILURE_WINDOW = envint("LOGIN_FAILURE_WINDOW", 15 * 60)  # seconds in which failures add up
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 15 * 60)
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", 30 * 60)  # the absolute lifetime is SESSION_COOKIE_AGE
API_TOKEN_DEFAULT_DAYS = envint("API_TOKEN_DEFAULT_DAYS", 90)
API_TOKEN_MAX_DAYS = envint("API_TOKEN_MAX_DAYS", 365)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Gongzhi")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows authenticator secrets

# Language and time: Chinese first, English second; the city runs on Beijing time.
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Static files: our own and the npm packages (installed by `make setup`), served by whitenoise.
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = REPO_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# Single files of packages whose dist folder is mostly builds we don't serve (gongzhi/core/vendor.py).
VENDOR_FILES = {
    "vendor/echarts": (NODE_MODULES / "echarts" / "dist", ["echarts.min.js"]),
    "vendor/leaflet-heat": (NODE_MODULES / "leaflet.heat" / "dist", ["leaflet-heat.js"]),
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "gongzhi.core.vendor.VendorFinder",
]
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STORAGES = {
    "default": {
        "BACKEND": env("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": env("MEDIA_ROOT", str(VAR_DIR / "media"))}
        if env("STORAGE_BACKEND", "") in ("", "django.core.files.storage.FileSystemStorage")
        else {},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"

# Background work: Django's tasks API on the database (`gongzhi worker`).
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# Security. In production (DEBUG off) the deploy checks pass; behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER via GONGZHI_BEHIND_PROXY=1.
SECURE = not DEBUG and not envbool("GONGZHI_INSECURE_DEV")
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
# TOTP two-factor for staff roles: on in production, off for `make demo` and tests (GONGZHI_INSECURE_DEV).
GONGZHI_REQUIRE_2FA = envbool("GONGZHI_REQUIRE_2FA", str(SECURE))
SECURE_SSL_REDIRECT = SECURE and envbool("SECURE_SSL_REDIRECT", "True")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx and the report page read it to send X-CSRFToken (docs/security.md#web)
LANGUAGE_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "gongzhi.core.middleware.csrf_failure"  # a refused post explained in Chinese
# Browser features: camera and location for this site only (the report page), the rest off.
PERMISSIONS_POLICY = env("PERMISSIONS_POLICY",
                         "camera=(self), geolocation=(self), microphone=(), payment=(), usb=(), display-capture=()")
# Rate limits on the public doors (docs/security.md#web): N per s, m, h or d; empty or 0 = none.
# Counted in the database (table core_ratecounter), so shared by every process and host.
RATELIMIT_ENABLED = envbool("RATELIMIT_ENABLED", "True")
RATELIMIT_LOGIN = env("RATELIMIT_LOGIN", "30/m")  # login POSTs per client address
RATELIMIT_INTAKE_ANON = env("RATELIMIT_INTAKE_ANON", "20/m")  # report page POSTs per address, not logged in
RATELIMIT_INTAKE_USER = env("RATELIMIT_INTAKE_USER", "30/m")  # reports per user (page) or token (API)
RATELIMIT_INTAKE_TRUSTED = env("RATELIMIT_INTAKE_TRUSTED", "6000/m")  # … for staff and role holders
RATELIMIT_WEBHOOK = env("RATELIMIT_WEBHOOK", "1200/m")  # device alerts per client address
if envbool("GONGZHI_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# Content-Security-Policy from the first page on: no inline script, no third-party origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"] + envlist("CSP_IMG_SRC"),
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Maps: the tile URL is configurable (a government intranet runs its own tile server). Empty means
# no base layer: areas are still drawn on a plain background.
MAP_TILE_URL = env("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", "")

# Cases (the closed loop).
CASE_AUTO_DISPATCH = envbool("CASE_AUTO_DISPATCH", "True")
CASE_TRUSTED_REPORTER_ROLES = envlist("CASE_TRUSTED_REPORTER_ROLES", "grid_worker,grid_head,supervisor")
CASE_REOPEN_LIMIT = envint("CASE_REOPEN_LIMIT", 1)
CASE_PHOTO_MAX_BYTES = envint("CASE_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
CASE_PHOTO_MAX_COUNT = envint("CASE_PHOTO_MAX_COUNT", 9)
CASE_ESCALATION_STEP_HOURS = float(env("CASE_ESCALATION_STEP_HOURS", "4"))  # working hours between 督办 levels
CASE_SWEEP_SECONDS = envint("CASE_SWEEP_SECONDS", 30)
# Duplicates (cases/duplicates.py): open cases this close in space and time are compared by their words.
CASE_DUPLICATE_RADIUS_M = envint("CASE_DUPLICATE_RADIUS_M", 200)
CASE_DUPLICATE_WINDOW_DAYS = envint("CASE_DUPLICATE_WINDOW_DAYS", 7)
CASE_DUPLICATE_MIN_SCORE = float(env("CASE_DUPLICATE_MIN_SCORE", "0.2"))

# Notifications: the in-app inbox always; email when NOTIFY_EMAIL is on; webhooks set up in admin.
NOTIFY_EMAIL = envbool("NOTIFY_EMAIL")
# Notifications are fanned out by the worker from the case events it has not notified yet (the
# outbox), every NOTIFY_POLL_SECONDS; NOTIFY_INLINE writes them in the web process after each commit
# instead (tests; a trial without a worker).
NOTIFY_INLINE = envbool("NOTIFY_INLINE")
NOTIFY_POLL_SECONDS = float(env("NOTIFY_POLL_SECONDS", "1"))
# Small reference tables (calendar, office hours, categories, limits, routing) are cached per process
# for this long after a change made elsewhere; see gongzhi/core/refcache.py.
REFERENCE_CACHE_SECONDS = envint("REFERENCE_CACHE_SECONDS", 30)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "gongzhi@localhost")
# Device alert webhooks (/hooks/devices/<source>/): "camera=secret1,access=secret2" → {source: secret}.
DEVICE_WEBHOOK_SECRETS = {k.strip(): v.strip() for k, _sep, v in (item.partition("=") for item in envlist("DEVICE_WEBHOOK_SECRETS")) if k.strip() and v.strip()}
# Open311 (docs/api.md): the jurisdiction_id values this deployment answers to (empty: SITE_URL's host and
# the top-level area codes), and the discovery document's contact (empty: DEFAULT_FROM_EMAIL).
OPEN311_JURISDICTIONS = envlist("OPEN311_JURISDICTIONS")
OPEN311_CONTACT = env("OPEN311_CONTACT")
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# Uploads (docs/security.md#uploads): a form may carry at most the photos of one report, and a
# multipart body at most that many photos of the largest size (checked from Content-Length).
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", CASE_PHOTO_MAX_COUNT)
REQUEST_MAX_BODY_BYTES = envint("REQUEST_MAX_BODY_BYTES", CASE_PHOTO_MAX_COUNT * CASE_PHOTO_MAX_BYTES + 1024 * 1024)
FILE_UPLOAD_PERMISSIONS = 0o640  # stored photos: personal data, not world-readable
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# Audit log (docs/security.md#audit): rows older than AUDIT_RETENTION_DAYS are purged by the worker
# (at least 184 days: six calendar months, the 等保 minimum); the hash chain is keyed with
# AUDIT_CHAIN_KEY (default: derived from SECRET_KEY; set it explicitly and keep it when rotating keys).
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 365)
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY")

# Areas: how far (metres) a child's polygon may stick out of its parent's.
AREA_CONTAINMENT_TOLERANCE_M = float(env("AREA_CONTAINMENT_TOLERANCE_M", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# Joint inspections: a premises failing the same checklist item this many times within 12 months
# is a repeat offender (docs/inspections.md).
INSPECTIONS_REPEAT_FAILURES = envint("INSPECTIONS_REPEAT_FAILURES", 3)
