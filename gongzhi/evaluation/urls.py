"""Evaluation pages, at /evaluation/ (the API is at /api/v1/evaluation)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("", views.indicators, name="indicators"),
    path("ranking/", views.ranking, name="ranking"),
    path("visits/", views.visits, name="visits"),
    path("visits/<int:pk>/", views.visit_answer, name="visit_answer"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
