from django.urls import path, re_path

from . import views

app_name = "areas"
urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/map.geojson", views.map_data, name="map"),
    re_path(r"^(?P<pk>[0-9]{1,18})/export\.(?P<fmt>xlsx|geojson)$", views.export, name="export"),
]
