"""Routes of the project pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

from django.urls import path

from . import project_views

urlpatterns: list = [
    path("projects/statements/mine/", project_views.my_statements, name="project_my_statements"),
    path("projects/new/", project_views.project_create, name="project_create"),
    path("projects/<int:pk>/", project_views.project_detail, name="project"),
    path("projects/<int:pk>/edit/", project_views.project_edit, name="project_edit"),
    path("projects/<int:pk>/statements/", project_views.project_compute, name="project_compute"),
    path("projects/<int:pk>/statements.xlsx", project_views.project_xlsx, name="project_xlsx"),
    path("projects/<int:pk>/updates/", project_views.project_update, name="project_update"),
    path("projects/<int:pk>/photos/<int:photo_id>/", project_views.project_photo, name="project_photo"),
    path("projects/<int:pk>/publish/statement/", project_views.project_publish_statement,
         name="project_publish_statement"),
    path("projects/<int:pk>/publish/implementation/", project_views.project_publish_implementation,
         name="project_publish_implementation"),
]
