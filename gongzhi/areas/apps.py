from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AreasConfig(AppConfig):
    name = "gongzhi.areas"
    label = "areas"
    verbose_name = _("区划与网格")

    def ready(self) -> None:
        from gongzhi.core import refcache

        from .models import Area, AreaLevel

        refcache.watch([Area, AreaLevel])  # inherited area classes, district codes (core.refcache)
