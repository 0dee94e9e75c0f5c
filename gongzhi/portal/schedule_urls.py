"""URLs of this part of /portal/ (joined in urls.py): service schedules."""

from django.urls import path

from . import schedule_views

urlpatterns: list = [
    path("schedules/", schedule_views.index, name="schedules"),
    path("schedules/new/", schedule_views.create, name="schedule_new"),
    path("schedules/<int:pk>/", schedule_views.detail, name="schedule"),
    path("schedules/<int:pk>/edit/", schedule_views.edit, name="schedule_edit"),
    path("schedules/<int:pk>/exceptions/", schedule_views.exception_set, name="schedule_exception"),
    path("schedules/<int:pk>/exceptions/<int:exception_id>/delete/", schedule_views.exception_delete,
         name="schedule_exception_delete"),
]
