"""Settings for the test suite: the normal settings, with the development key allowed."""

import os

os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ["GONGZHI_TESTING"] = "1"

from gongzhi.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests only
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (live-server threads must not keep connections)
NOTIFY_INLINE = True  # notifications written right after each commit (no worker in the tests)
