from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreenConfig(AppConfig):
    name = "gongzhi.screen"
    label = "screen"
    verbose_name = _("指挥大屏与月报")
