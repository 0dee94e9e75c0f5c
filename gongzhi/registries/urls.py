"""/registries/: 人员台账 — residents, key persons, corrections, assistance and relief, legal service,
visits; the reveal door, the access log and exports (docs/registries.md)."""

from django.urls import path

from . import (
    assistance_urls,
    corrections_urls,
    keyperson_urls,
    legal_urls,
    privacy_urls,
    resident_urls,
    views,
    visit_urls,
)

app_name = "registries"

urlpatterns = [
    path("", views.index, name="index"),
    path("reveal/<slug:kind>/<int:pk>/", views.reveal, name="reveal"),
    path("access-log/", views.access_log, name="access_log"),
    *resident_urls.urlpatterns,
    *keyperson_urls.urlpatterns,
    *corrections_urls.urlpatterns,
    *assistance_urls.urlpatterns,
    *legal_urls.urlpatterns,
    *visit_urls.urlpatterns,
    *privacy_urls.urlpatterns,
]
