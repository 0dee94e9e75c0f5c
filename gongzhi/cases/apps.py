from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "gongzhi.cases"
    label = "cases"
    verbose_name = _("案件闭环")

    def ready(self) -> None:
        from gongzhi.core import refcache
        from gongzhi.orgs.models import Department

        from .models import Category, DirectoryVersion, RoutingRule, TimeLimit

        # Read on every report (intake, routing, due_at): cached per process, see core.refcache.
        refcache.watch([Category, DirectoryVersion, TimeLimit, RoutingRule, Department])
