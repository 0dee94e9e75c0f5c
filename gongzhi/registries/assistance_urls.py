"""困难帮扶 · 物资发放 · 帮扶地图 (assistance_views.py)."""

from django.urls import path

from . import assistance_views as v

urlpatterns = [
    path("need/", v.need_cases, name="need_cases"),
    path("need/new/", v.need_case_new, name="need_case_new"),
    path("need/map/", v.need_map, name="need_map"),
    path("need/map.geojson", v.need_map_geojson, name="need_map_geojson"),
    path("need/<int:pk>/", v.need_case, name="need_case"),
    path("need/<int:pk>/helper/", v.need_case_helper, name="need_case_helper"),
    path("need/<int:pk>/plan/", v.need_case_plan, name="need_case_plan"),
    path("need/<int:pk>/help/", v.need_case_help, name="need_case_help"),
    path("need/<int:pk>/close/", v.need_case_close, name="need_case_close"),
    path("relief/", v.relief_batches, name="relief_batches"),
    path("relief/new/", v.relief_batch_new, name="relief_batch_new"),
    path("relief/<int:pk>/", v.relief_batch, name="relief_batch"),
    path("relief/<int:pk>/list/", v.relief_list, name="relief_list"),
    path("relief/<int:pk>/list-open/", v.relief_list_open, name="relief_list_open"),
    path("relief/<int:pk>/close/", v.relief_close, name="relief_close"),
    path("relief/<int:pk>/receipts.xlsx", v.relief_receipts, name="relief_receipts"),
    path("relief/issue/<int:pk>/", v.relief_issue, name="relief_issue"),
]
