"""Incoming webhooks, mounted at /hooks/ (device alerts from cameras and access control)."""

from __future__ import annotations

from django.urls import path

from . import hooks

app_name = "hooks"
urlpatterns = [
    path("devices/<slug:source>/", hooks.device_alert, name="device_alert"),
]
