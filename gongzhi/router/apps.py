from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RouterConfig(AppConfig):
    name = "gongzhi.router"
    label = "router"
    verbose_name = _("智能分派")
