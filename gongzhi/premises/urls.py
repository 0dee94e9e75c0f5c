from django.urls import path

from . import views

app_name = "premises"
urlpatterns = [
    path("", views.index, name="index"),
    path("expiring/", views.expiring, name="expiring"),
    path("new/", views.create, name="create"),
    path("export.xlsx", views.export, name="export"),
    path("import/", views.import_file, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/licences/", views.add_licence, name="add_licence"),
    path("licences/<int:pk>/delete/", views.remove_licence, name="remove_licence"),  # pk: the licence
    path("<int:pk>/photos/", views.add_photo, name="add_photo"),
    path("<int:pk>/photos/<int:photo_id>/<str:kind>.jpg", views.photo, name="photo"),
]
