"""/accounts/: login and logout (URL names "login" and "logout"), two-factor, the security page."""

from django.urls import path

from . import account_views as views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("2fa/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("2fa/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("security/", views.security, name="account_security"),
    path("security/logout-others/", views.logout_others, name="logout_others"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]
