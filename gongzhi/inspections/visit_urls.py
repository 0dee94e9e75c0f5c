"""The phone visit page, a visit's result with its photos and signature, the notices as PDF."""

from django.urls import path

from . import visit_views

urlpatterns: list = [
    path("visit/new/", visit_views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", visit_views.visit_detail, name="visit"),
    path("visits/<int:pk>/photos/<int:photo_id>/<str:kind>.jpg", visit_views.visit_photo, name="visit_photo"),
    path("visits/<int:pk>/signature.png", visit_views.visit_signature, name="visit_signature"),
    path("notices/<int:pk>.pdf", visit_views.notice_pdf_view, name="notice_pdf"),
]
