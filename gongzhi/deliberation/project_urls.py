"""Routes of the project pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

urlpatterns: list = []
