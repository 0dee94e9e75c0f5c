"""Routes of the vote pages (joined into deliberation/urls.py; one namespace, `deliberation:`)."""

urlpatterns: list = []
