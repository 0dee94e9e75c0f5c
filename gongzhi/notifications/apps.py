from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "gongzhi.notifications"
    label = "notifications"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        from gongzhi.core import refcache

        from .models import WebhookEndpoint

        refcache.watch([WebhookEndpoint])
