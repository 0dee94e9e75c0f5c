"""Community corrections (社区矫正): the list, a record and its actions, new records, bases."""

from django.urls import path

from . import corrections_views as v

urlpatterns = [
    path("corrections/", v.correction_list, name="corrections"),
    path("corrections/new/", v.correction_new, name="correction_new"),
    path("corrections/<int:pk>/", v.correction_detail, name="correction"),
    path("corrections/<int:pk>/team/", v.correction_team, name="correction_team"),
    path("corrections/<int:pk>/announce/", v.correction_announce, name="correction_announce"),
    path("corrections/<int:pk>/report/", v.correction_report, name="correction_report"),
    path("corrections/<int:pk>/assess/", v.correction_assess, name="correction_assess"),
    path("corrections/<int:pk>/hours/", v.correction_hours, name="correction_hours"),
    path("corrections/<int:pk>/release/", v.correction_release, name="correction_release"),
    path("corrections/<int:pk>/revoke/", v.correction_revoke, name="correction_revoke"),
    path("corrections/bases/", v.base_list, name="bases"),
    path("corrections/bases/new/", v.base_new, name="base_new"),
]
