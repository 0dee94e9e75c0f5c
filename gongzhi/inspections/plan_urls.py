"""/inspections/: this week's targets (本周检查) and the plans (see plan_views)."""

from django.urls import path

from . import plan_views

urlpatterns: list = [
    path("", plan_views.week, name="index"),
    path("plans/", plan_views.plan_list, name="plans"),
    path("plans/new/", plan_views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", plan_views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", plan_views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/build/", plan_views.plan_build, name="plan_build"),
    path("plans/<int:pk>/deactivate/", plan_views.plan_deactivate, name="plan_deactivate"),
]
