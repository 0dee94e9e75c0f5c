from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("people/", views.people, name="people"),
    path("departments/", views.departments, name="departments"),
    path("departments/<int:pk>/", views.department_detail, name="department"),
]
