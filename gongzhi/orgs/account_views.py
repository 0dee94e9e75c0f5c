"""Logging in (password, then the second factor), two-factor set-up, recovery codes, the person's
own security page (sessions, "logout everywhere", password change)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core import audit

from . import sessions, twofactor
from .forms import CodeForm, LoginForm

RECOVERY_SESSION_KEY = "gz_new_recovery_codes"


def _next(request, default: str = "") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default or reverse("home")


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)  # logs in: the signal sets the session's 2FA state
        user = form.get_user()
        audit.record(user, "login.success", user)
        owed = twofactor.pending(self.request)
        if owed:
            target = "two_factor_verify" if owed == twofactor.VERIFY else "two_factor_setup"
            return HttpResponseRedirect(reverse(target) + "?" + urlencode({"next": self.get_success_url()}))
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_message:
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit.record(request.user, "logout", request.user)
        return super().post(request, *args, **kwargs)


def second_factor_done(view):
    """For pages under /accounts/2fa/ that a session still owing its code must not use."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if twofactor.pending(request):
            return redirect("two_factor_verify" if twofactor.pending(request) == twofactor.VERIFY
                            else "two_factor_setup")
        return view(request, *args, **kwargs)

    return wrapper


def admin_login(request):
    """The admin's own login form would skip the second factor: send it to ours."""
    return redirect(reverse("login") + "?" + urlencode({"next": _next(request, reverse("admin:index"))}))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    user = request.user
    if twofactor.pending(request) != twofactor.VERIFY:
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        if twofactor.throttled(user):
            error, status = _("尝试过于频繁，请稍候再试。"), 429
        elif twofactor.verify(request, user, form.cleaned_data["code"]):
            return redirect(_next(request))
        else:
            error = _("验证码不正确，请重试。")
    return render(request, "orgs/two_factor_verify.html", {
        "form": form, "error": error, "next": _next(request)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    user = request.user
    owed = twofactor.pending(request)
    if owed == twofactor.VERIFY:
        return redirect(reverse("two_factor_verify") + "?" + urlencode({"next": request.get_full_path()}))
    device = twofactor.pending_device(user)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_enrolment(request, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            request.session[RECOVERY_SESSION_KEY] = codes
            return redirect(reverse("recovery_codes") + "?" + urlencode({"next": _next(request)}))
        error = _("验证码不正确，请核对手机时间后重试。")
    return render(request, "orgs/two_factor_setup.html", {
        "form": form, "error": error, "next": _next(request), "required": owed == twofactor.ENROL,
        "qr": twofactor.qr_svg_data_uri(device.config_url), "secret": twofactor.secret_base32(device),
        "replacing": twofactor.has_authenticator(user),
    })


@login_required
@second_factor_done
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    user = request.user
    if request.method == "POST":
        if not twofactor.has_authenticator(user):
            return redirect("two_factor_setup")
        codes = twofactor.regenerate_recovery_codes(actor=user, user=user)
    else:
        codes = request.session.pop(RECOVERY_SESSION_KEY, None)
    return render(request, "orgs/recovery_codes.html", {
        "codes": codes, "left": twofactor.recovery_codes_left(user), "next": _next(request, reverse("account_security")),
        "enrolled": twofactor.has_authenticator(user),
    })


@login_required
def security(request):
    user = request.user
    return render(request, "orgs/security.html", {
        "enrolled": twofactor.has_authenticator(user),
        "required": twofactor.required_for(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "sessions": sessions.active_sessions(user),
        "current_key": request.session.session_key,
    })


@login_required
@require_POST
def logout_others(request):
    count = sessions.end_other_sessions(request)
    messages.success(request, _("已退出其他 %(count)s 个登录会话。") % {"count": count})
    return redirect("account_security")


@login_required
@second_factor_done
@require_POST
def two_factor_disable(request):
    if twofactor.disable(request):
        messages.success(request, _("两步验证已停用。"))
    else:
        messages.error(request, _("您的岗位要求启用两步验证，不能停用。"))
    return redirect("account_security")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "orgs/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("account_security")

    def form_valid(self, form):
        response = super().form_valid(form)  # other sessions end: their auth hash no longer matches
        audit.record(self.request.user, "user.password_change", self.request.user)
        messages.success(self.request, _("密码已修改，其他设备上的登录已失效。"))
        return response
