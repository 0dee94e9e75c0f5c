"""Routes of the roll pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

urlpatterns: list = []
