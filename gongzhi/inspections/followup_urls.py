"""/inspections/ follow-up pages: hazards, overdue, repeat offenders, re-inspections, findings, meetings."""

from django.urls import path

from . import followup_views as views

urlpatterns: list = [
    path("hazards/", views.hazards, name="hazards"),
    path("hazards/<int:pk>/", views.hazard, name="hazard"),
    path("hazards/<int:pk>/escalate/", views.hazard_escalate, name="hazard_escalate"),
    path("overdue/", views.overdue, name="overdue"),
    path("repeat/", views.repeat, name="repeat"),
    path("reinspections/", views.reinspections, name="reinspections"),
    path("reinspections/<int:pk>/", views.reinspection, name="reinspection"),
    path("visits/<int:pk>/finding/", views.visit_finding, name="visit_finding"),
    path("meetings/", views.meeting_list, name="meetings"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting, name="meeting"),
    path("meetings/<int:pk>/items/", views.meeting_item, name="meeting_item"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<int:pk>/decisions/", views.meeting_decision, name="meeting_decision"),
]
