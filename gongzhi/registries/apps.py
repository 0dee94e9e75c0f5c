from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistriesConfig(AppConfig):
    name = "gongzhi.registries"
    label = "registries"
    verbose_name = _("人员台账")

    def ready(self):
        from . import checks  # noqa: F401  (registers the key checks)
