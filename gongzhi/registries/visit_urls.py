"""Visit pages (走访, 民情日志), joined into /registries/ by urls.py."""

from django.urls import path

from . import visit_views as views

urlpatterns = [
    path("visits/", views.visits_list, name="visits"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", views.visit, name="visit"),
    path("visits/<int:pk>/case/", views.visit_case, name="visit_case"),
]
