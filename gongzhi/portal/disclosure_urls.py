"""URLs of the 公开栏 (joined in urls.py)."""

from django.urls import path

from . import disclosure_views as views

urlpatterns: list = [
    path("disclosures/", views.disclosure_list, name="disclosures"),
    path("disclosures/new/", views.disclosure_new, name="disclosure_new"),
    path("disclosures/<int:pk>/", views.disclosure_detail, name="disclosure"),
    path("disclosures/<int:pk>/v<int:version>/", views.disclosure_version, name="disclosure_version"),
    path("disclosures/<int:pk>/publish/", views.disclosure_publish, name="disclosure_publish"),
    path("disclosures/attachments/<int:pk>/", views.disclosure_attachment, name="disclosure_attachment"),
]
