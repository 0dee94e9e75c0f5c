"""The phone report page (上报问题), its service worker and offline fallback, under /report/."""

from django.urls import path, re_path

from . import report_views as views

app_name = "report"
urlpatterns = [
    path("", views.report, name="report"),
    path("categories/", views.categories, name="categories"),
    path("categories/fields/", views.category_fields, name="category_fields"),
    path("nearby/", views.nearby, name="nearby"),
    path("nearby/follow/", views.follow, name="follow"),
    re_path(r"^nearby/photo/(?P<number>[^/]{1,32})/(?P<photo_id>[0-9]{1,18})$", views.nearby_photo,
            name="nearby_photo"),
    path("done/<str:number>/", views.done, name="done"),
    path("offline/", views.offline, name="offline"),
    path("sw.js", views.service_worker, name="sw"),
]
