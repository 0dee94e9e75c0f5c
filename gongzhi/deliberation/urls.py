"""/deliberation/: 共商共决 — votes, rolls, 四议三公开 and meetings, projects (docs/deliberation.md)."""

from django.urls import path

from . import procedure_urls, project_urls, roll_urls, views, vote_urls

app_name = "deliberation"

urlpatterns = [
    path("", views.index, name="index"),
    *vote_urls.urlpatterns,
    *roll_urls.urlpatterns,
    *procedure_urls.urlpatterns,
    *project_urls.urlpatterns,
]
