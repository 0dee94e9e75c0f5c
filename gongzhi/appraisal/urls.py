from django.urls import path

from . import views

app_name = "appraisal"
urlpatterns = [
    path("", views.index, name="index"),
    path("projects/new/", views.new_project, name="new_project"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("projects/<int:pk>/invite/", views.invite, name="invite"),
    path("projects/<int:pk>/<str:action>/", views.project_action, name="project_action"),
    path("selections/new/", views.new_selection, name="new_selection"),
    path("selections/<int:pk>/", views.selection, name="selection"),
    path("selections/<int:pk>/nominate/", views.nominate, name="nominate"),
    path("selections/<int:pk>/vote/", views.vote, name="vote"),
    path("selections/<int:pk>/open-voting/", views.open_voting, name="open_voting"),
    path("selections/<int:pk>/publish/", views.publish, name="publish"),
]
