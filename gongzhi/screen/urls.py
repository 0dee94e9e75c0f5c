"""The wall screen and the monthly reports, at /screen/."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

app_name = "screen"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("data.json", views.data, name="data"),
    path("areas.geojson", views.areas, name="areas"),
    path("reports/", views.reports, name="reports"),
    re_path(r"^reports/(?P<month>[0-9]{4}-[0-9]{2})\.(?P<fmt>xlsx|pdf)$", views.download, name="download"),
]
