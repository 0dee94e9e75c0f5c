from django.urls import path

from . import views

app_name = "checklists"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/activate/", views.activate, name="activate"),
    path("versions/<int:pk>/download.xlsx", views.download, name="download"),
    path("versions/<int:pk>/try/", views.try_form, name="try"),
]
