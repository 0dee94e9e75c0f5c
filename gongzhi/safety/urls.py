from django.urls import path

from . import public_views, views

app_name = "safety"
urlpatterns = [
    path("", views.index, name="index"),
    path("map.json", views.map_data, name="map"),
    path("public/", public_views.public_map, name="public"),  # 平安等级公示: no sign-in
    path("public/map.json", public_views.public_map_data, name="public_map"),
    path("enter/", views.enter, name="enter"),
    path("import/", views.import_figures, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("publish-month/", views.publish_month, name="publish_month"),
    path("grades/<int:pk>/", views.grade_detail, name="grade"),
    path("grades/<int:pk>/publish/", views.publish, name="publish"),
    path("grades/<int:pk>/measures/", views.add_measure, name="add_measure"),
    path("measures/<int:pk>/feedback/", views.feedback, name="feedback"),
]
