"""Routes of the vote pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

from django.urls import path

from . import vote_views as views

urlpatterns: list = [
    path("decisions/new/", views.decision_create, name="decision_create"),
    path("decisions/<int:pk>/", views.decision, name="decision"),
    path("decisions/<int:pk>/vote/", views.decision_vote, name="decision_vote"),
    path("decisions/<int:pk>/open/", views.decision_open, name="decision_open"),
    path("decisions/<int:pk>/close/", views.decision_close, name="decision_close"),
    path("decisions/<int:pk>/cancel/", views.decision_cancel, name="decision_cancel"),
    path("decisions/<int:pk>/paper/", views.decision_paper, name="decision_paper"),
    path("decisions/<int:pk>/paper/void/", views.decision_void, name="decision_void"),
    path("decisions/<int:pk>/sign-in/", views.decision_sign_in, name="decision_sign_in"),
    path("decisions/<int:pk>/publish/", views.decision_publish, name="decision_publish"),
    path("publications/<int:pk>/", views.publication, name="publication"),
    path("publications/<int:pk>/objections/", views.publication_object, name="publication_object"),
    path("objections/<int:pk>/answer/", views.objection_answer, name="objection_answer"),
]
