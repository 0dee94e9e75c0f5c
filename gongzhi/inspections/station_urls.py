"""/inspections/stations/, /inspections/teams/ and /inspections/members/: stations and their teams (see station_views)."""

from django.urls import path

from . import station_views

urlpatterns: list = [
    path("stations/", station_views.station_list, name="stations"),
    path("stations/<int:pk>/", station_views.station_detail, name="station_detail"),
    path("stations/<int:pk>/teams/", station_views.team_create, name="team_create"),
    path("teams/<int:pk>/members/", station_views.member_add, name="team_member_add"),
    path("members/<int:pk>/remove/", station_views.member_remove, name="team_member_remove"),
    path("teams/<int:pk>/active/", station_views.team_active, name="team_active"),
]
