"""Open311 GeoReport v2, mounted at /open311/v2/ (docs/api.md)."""

from __future__ import annotations

from django.urls import path, register_converter

from . import views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class CodeConverter:
    """A service code, case number or token: no slash (a local category code may hold a dot: the
    last ``.json``/``.xml`` is the format)."""

    regex = "[^/]{1,100}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "open311fmt")
register_converter(CodeConverter, "open311id")

app_name = "open311"
urlpatterns = [
    path("discovery.<open311fmt:fmt>", views.discovery, name="discovery"),
    path("services.<open311fmt:fmt>", views.service_list, name="services"),
    path("services/<open311id:service_code>.<open311fmt:fmt>", views.service_definition, name="service"),
    path("requests.<open311fmt:fmt>", views.requests_, name="requests"),
    path("requests/<open311id:service_request_id>.<open311fmt:fmt>", views.request_detail, name="request"),
    path("tokens/<open311id:token>.<open311fmt:fmt>", views.token, name="token"),
    path("servicerequestupdates.<open311fmt:fmt>", views.updates, name="updates"),
    path("media/<int:photo_id>.jpg", views.media, name="media"),
]
