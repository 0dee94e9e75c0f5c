"""Routes of the procedure pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

urlpatterns: list = []
