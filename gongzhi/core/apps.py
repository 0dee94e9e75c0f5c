from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gongzhi.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from . import checks, refcache  # noqa: F401  (checks registers the system checks)
        from .models import CalendarDay, OfficePeriod

        refcache.watch([CalendarDay, OfficePeriod])
