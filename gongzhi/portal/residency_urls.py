"""URLs of this part of /portal/ (joined in urls.py): who lives where."""

from django.urls import path

from . import residency_views

urlpatterns: list = [
    path("residency/", residency_views.mine, name="residency"),
    path("residency/requests/", residency_views.requests, name="residency_requests"),
    path("residency/requests/<int:pk>/decide/", residency_views.decide, name="residency_decide"),
    path("residency/<int:pk>/move-out/", residency_views.move_out, name="residency_move_out"),
]
