"""Key-person pages (重点人员), joined into /registries/ by urls.py."""

from django.urls import path

from . import keyperson_views as views

urlpatterns = [
    path("key-persons/", views.key_persons, name="key_persons"),
    path("key-persons/due/", views.key_persons_due, name="key_persons_due"),
    path("key-persons/new/", views.key_person_new, name="key_person_new"),
    path("key-persons/<int:pk>/", views.key_person, name="key_person"),
    path("key-persons/<int:pk>/end/", views.key_person_end, name="key_person_end"),
]
