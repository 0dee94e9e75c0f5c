"""URLs of the residents' registry (实有人口): people, households, stays, the import (joined in urls.py)."""

from django.urls import path

from . import resident_views as v

urlpatterns: list = [
    path("people/", v.people, name="people"),
    path("people/new/", v.person_new, name="person_new"),
    path("people/import/", v.import_people, name="import"),
    path("people/<int:pk>/", v.person, name="person"),
    path("people/<int:pk>/edit/", v.person_edit, name="person_edit"),
    path("people/<int:pk>/close/", v.person_close, name="person_close"),
    path("people/<int:pk>/account/", v.person_account, name="person_account"),
    path("people/<int:pk>/move-in/", v.stay_new, name="stay_new"),
    path("stays/<int:pk>/move-out/", v.stay_end, name="stay_end"),
    path("households/", v.households, name="households"),
    path("households/new/", v.household_new, name="household_new"),
    path("households/<int:pk>/", v.household, name="household"),
]
