"""The phone report page (上报问题), its service worker and offline fallback, under /report/."""

from django.urls import path

from . import report_views as views

app_name = "report"
urlpatterns = [
    path("", views.report, name="report"),
    path("categories/", views.categories, name="categories"),
    path("categories/fields/", views.category_fields, name="category_fields"),
    path("done/<str:number>/", views.done, name="done"),
    path("offline/", views.offline, name="offline"),
    path("sw.js", views.service_worker, name="sw"),
]
