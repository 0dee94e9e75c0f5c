"""URLs of this part of /registries/ (joined in urls.py)."""

urlpatterns: list = []
