"""URLs of this part of /registries/ (joined in urls.py): exports of sensitive data (two-person rule)."""

from django.urls import path

from . import privacy_views

urlpatterns: list = [
    path("exports/", privacy_views.export_list, name="exports"),
    path("exports/new/", privacy_views.export_new, name="export_new"),
    path("exports/subject/", privacy_views.subject_export_new, name="subject_export_new"),
    path("exports/<int:pk>/decide/", privacy_views.export_decide, name="export_decide"),
    path("exports/<int:pk>/download/", privacy_views.export_download, name="export_download"),
]
