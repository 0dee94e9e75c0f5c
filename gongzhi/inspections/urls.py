"""/inspections/: four groups of pages, each in its own module — plans and the week's targets
(plan_urls), the phone visit and re-inspection pages with notices (visit_urls), follow-up views
and joint meetings (followup_urls), stations and their teams (station_urls)."""

from . import followup_urls, plan_urls, station_urls, visit_urls

app_name = "inspections"
urlpatterns = [*plan_urls.urlpatterns, *visit_urls.urlpatterns, *followup_urls.urlpatterns,
               *station_urls.urlpatterns]
