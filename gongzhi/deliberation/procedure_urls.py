"""Routes of the 四议三公开 and meeting pages (joined into deliberation/urls.py; one namespace,
`deliberation:`)."""

from django.urls import path

from . import procedure_views as views

urlpatterns: list = [
    path("procedures/", views.procedure_list, name="procedures"),
    path("procedures/new/", views.procedure_create, name="procedure_create"),
    path("procedures/<int:pk>/", views.procedure, name="procedure"),
    path("procedures/<int:pk>/stages/<int:position>/", views.stage_record, name="stage_record"),
    path("procedures/<int:pk>/publish/<slug:kind>/", views.procedure_publish, name="procedure_publish"),
    path("procedures/<int:pk>/decision/", views.procedure_link, name="procedure_link"),
    path("attendees/<int:pk>/signature.png", views.attendee_signature, name="attendee_signature"),
    path("meetings/", views.series_list, name="series_list"),
    path("meetings/series/new/", views.series_create, name="series_create"),
    path("meetings/series/<int:pk>/", views.series, name="series"),
    path("meetings/series/<int:pk>/active/", views.series_active, name="series_active"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", views.meeting, name="meeting"),
]
