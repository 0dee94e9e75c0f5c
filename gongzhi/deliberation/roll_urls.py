"""Routes of the roll pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

from django.urls import path

from . import roll_views

urlpatterns: list = [
    path("rolls/", roll_views.roll_list, name="rolls"),
    path("rolls/new/", roll_views.roll_upload, name="roll_upload"),
    path("rolls/template.xlsx", roll_views.roll_template, name="roll_template"),
    path("rolls/<int:pk>/", roll_views.roll_detail, name="roll"),
    path("rolls/<int:pk>/import/", roll_views.roll_upload, name="roll_replace"),
    path("rolls/<int:pk>/delete/", roll_views.roll_delete, name="roll_delete"),
]
