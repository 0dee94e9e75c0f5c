"""URLs of this part of /portal/ (joined in urls.py): the notice board."""

from django.urls import path

from . import notice_views

urlpatterns: list = [
    path("notices/", notice_views.board, name="notices"),
    path("notices/new/", notice_views.new, name="notice_new"),
    path("notices/<int:pk>/", notice_views.detail, name="notice"),
    path("notices/<int:pk>/withdraw/", notice_views.withdraw, name="notice_withdraw"),
    path("notices/<int:pk>/relay/", notice_views.relay, name="notice_relay"),
    path("notices/<int:pk>/files/<int:attachment_id>/", notice_views.attachment, name="notice_attachment"),
    path("board/<int:area_id>/", notice_views.public_board, name="public_board"),
]
