"""Case pages, at /cases/ (the API is at /api/v1/cases, the phone report page at /report/)."""

from __future__ import annotations

from django.urls import path, re_path

from . import actions, views

app_name = "cases"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("start/", views.start, name="start"),
    path("inbox/", views.inbox, name="inbox"),
    path("mine/", views.mine, name="mine"),
    path("bulk-dispatch/", views.bulk_dispatch, name="bulk_dispatch"),
    path("areas/", views.area_options, name="area_options"),
    path("<str:number>/", views.detail, name="detail"),
    re_path(r"^(?P<number>[^/]{1,32})/photos/(?P<photo_id>[0-9]{1,18})/(?P<kind>thumbnail|public|image)$",
            views.photo, name="photo"),
    re_path(r"^(?P<number>[^/]{1,32})/follow/$", views.follow, name="follow"),
    re_path(r"^(?P<number>[^/]{1,32})/(?P<action>[a-z_]{1,32})/$", actions.perform, name="act"),
]
