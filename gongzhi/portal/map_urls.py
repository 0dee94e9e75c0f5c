"""URLs of this part of /portal/ (joined in urls.py): the 15-minute services map."""

from django.urls import path

from . import map_views

urlpatterns: list = [
    path("map/", map_views.map_page, name="map"),
    path("map/points.json", map_views.map_points, name="map_points"),
    path("points/", map_views.points, name="points"),
    path("points/new/", map_views.point_new, name="point_new"),
    path("points/import/", map_views.points_import, name="points_import"),
    path("points/<int:pk>/", map_views.point_edit, name="point_edit"),
    path("points/<int:pk>/deactivate/", map_views.point_deactivate, name="point_deactivate"),
]
