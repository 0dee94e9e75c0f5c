"""URLs of this part of /portal/ (joined in urls.py)."""

urlpatterns: list = []
