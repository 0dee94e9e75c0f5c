from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from gongzhi.areas.api import router as areas_router
from gongzhi.cases.api import router as cases_router
from gongzhi.core import views as core_views
from gongzhi.core.api import api
from gongzhi.orgs import account_views
from gongzhi.orgs.api import router as orgs_router
from gongzhi.premises.api import router as premises_router
from gongzhi.router.api import router as router_router

api.add_router("/areas", areas_router)
api.add_router("/cases", cases_router)
api.add_router("/router", router_router)
api.add_router("/premises", premises_router)
api.add_router("/evaluation", "gongzhi.evaluation.api.router")
api.add_router("/inspections", "gongzhi.inspections.api.router")
api.add_router("/deliberation", "gongzhi.deliberation.api.router")
api.add_router("/registries", "gongzhi.registries.api.router")
api.add_router("/points", "gongzhi.points.api.router")
api.add_router("/portal", "gongzhi.portal.api.router")
api.add_router("/safety", "gongzhi.safety.api.router")
api.add_router("", orgs_router)

admin.site.site_header = "共治 Gongzhi"
admin.site.site_title = "共治 Gongzhi"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon),
    path("accounts/", include("gongzhi.orgs.account_urls")),  # login, logout, 2FA, sessions, password
    path("i18n/setlang/", set_language, name="set_language"),
    path("areas/", include("gongzhi.areas.urls")),
    path("cases/", include("gongzhi.cases.urls")),
    path("report/", include("gongzhi.cases.report_urls")),
    path("hooks/", include("gongzhi.cases.hook_urls")),
    path("inbox/", include("gongzhi.notifications.urls")),
    path("router/", include("gongzhi.router.urls")),
    path("evaluation/", include("gongzhi.evaluation.urls")),
    path("open311/v2/", include("gongzhi.open311.urls")),  # Open311 GeoReport v2 (docs/api.md)
    path("safety/", include("gongzhi.safety.urls")),  # 平安等级 (docs/safety.md)
    path("appraisal/", include("gongzhi.appraisal.urls")),  # 双向共评 (docs/appraisal.md)
    path("screen/", include("gongzhi.screen.urls")),  # 指挥大屏与月报 (docs/screen.md)
    path("premises/", include("gongzhi.premises.urls")),  # 场所 (docs/premises.md)
    path("checklists/", include("gongzhi.checklists.urls")),  # XLSForm 检查表 (docs/checklists.md)
    path("inspections/", include("gongzhi.inspections.urls")),  # 联合检查 星火工作站 (docs/inspections.md)
    path("points/", include("gongzhi.points.urls")),  # 喜邻 积分 (docs/points.md)
    path("deliberation/", include("gongzhi.deliberation.urls")),  # 共商共决 (docs/deliberation.md)
    path("registries/", include("gongzhi.registries.urls")),  # 人员台账 (docs/registries.md)
    path("portal/", include("gongzhi.portal.urls")),  # 社区门户 (docs/portal.md)
    path("", include("gongzhi.orgs.urls")),
    path("admin/login/", account_views.admin_login),  # one login door, with the second factor
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler404 = "gongzhi.core.views.not_found"
handler500 = "gongzhi.core.views.server_error"
