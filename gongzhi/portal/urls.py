"""/portal/: 社区门户 — today at my address, notices, service schedules, the 公开栏, the services map
(docs/portal.md)."""

from django.urls import path

from . import disclosure_urls, map_urls, notice_urls, residency_urls, schedule_urls, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    *residency_urls.urlpatterns,
    *notice_urls.urlpatterns,
    *schedule_urls.urlpatterns,
    *disclosure_urls.urlpatterns,
    *map_urls.urlpatterns,
]
