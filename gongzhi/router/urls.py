"""Smart dispatch pages, at /router/ (the API is at /api/v1/router)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "router"
urlpatterns = [
    path("", views.report, name="report"),
    path("cases/<str:number>/accept/", views.accept, name="accept"),
]
