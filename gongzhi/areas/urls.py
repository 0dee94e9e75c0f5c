from django.urls import path

from . import views

app_name = "areas"
urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/map.geojson", views.map_data, name="map"),
    path("<int:pk>/export.<str:fmt>", views.export, name="export"),
]
