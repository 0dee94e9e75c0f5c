from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "gongzhi.orgs"
    label = "orgs"
    verbose_name = _("人员与部门")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import sessions, twofactor

        # Every door that logs someone in (our login view, force_login in tests, …) stamps the
        # session's times, lists it under the person and sets what second factor it still owes.
        def logged_in(sender, request, user, **kwargs):
            if getattr(request, "session", None) is not None:
                sessions.on_login(request, user)
                twofactor.start(request, user)

        def logged_out(sender, request, user, **kwargs):
            if request is not None:
                sessions.on_logout(request)

        user_logged_in.connect(logged_in, weak=False, dispatch_uid="gongzhi.orgs.logged_in")
        user_logged_out.connect(logged_out, weak=False, dispatch_uid="gongzhi.orgs.logged_out")
