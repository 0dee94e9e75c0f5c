"""Admin for people, roles and departments. Writes go through the service functions' audit trail."""

from __future__ import annotations

from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedModelAdmin

from . import services
from .models import Department, LoginThrottle, Membership, Role, Staff, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["area"]
    fields = ["area", "role", "ended_on"]


class StaffInline(admin.TabularInline):
    model = Staff
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ["username", "display_name", "phone", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["display_name", "phone", "email"]}),
        (_("权限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("时间"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "display_name", "phone",
                                                              "password1", "password2"]})]
    inlines = [MembershipInline]
    actions = ["unlock_login", "reset_two_factor", "end_sessions"]

    @admin.action(description=_("解除登录锁定"))
    def unlock_login(self, request, queryset):
        cleared = sum(services.unlock_login(actor=request.user, user=u) for u in queryset)
        self.message_user(request, _("已清除 %(n)s 条登录失败记录。") % {"n": cleared}, messages.SUCCESS)

    @admin.action(description=_("重置两步验证（手机丢失时）"))
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            services.reset_two_factor(actor=request.user, user=user)
        self.message_user(request, _("已重置 %(n)s 人的两步验证，并结束其登录会话。") % {"n": queryset.count()},
                          messages.SUCCESS)

    @admin.action(description=_("结束全部登录会话"))
    def end_sessions(self, request, queryset):
        ended = sum(services.end_all_sessions(actor=request.user, user=u) for u in queryset)
        self.message_user(request, _("已结束 %(n)s 个登录会话。") % {"n": ended}, messages.SUCCESS)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    """Failed logins and lockouts: read-only; "unlock" is the one change, through the service."""

    list_display = ["scope", "key", "user", "failures", "last_failure_at", "locked_until"]
    list_filter = ["scope"]
    search_fields = ["key", "user__username", "user__phone"]
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("orgs.delete_loginthrottle") and not request.user.is_superuser:
            actions.pop("unlock", None)
        return actions

    @admin.action(description=_("解锁"))
    def unlock(self, request, queryset):
        cleared = 0
        for row in queryset:
            if row.scope == LoginThrottle.Scope.IP:
                cleared += services.unlock_login(actor=request.user, ip=row.key)
            elif row.user is not None:
                cleared += services.unlock_login(actor=request.user, user=row.user)
            else:
                from . import lockout

                cleared += lockout.unlock_key(actor=request.user, row=row)
        self.message_user(request, _("已清除 %(n)s 条登录失败记录。") % {"n": cleared}, messages.SUCCESS)


@admin.register(Role)
class RoleAdmin(AuditedModelAdmin):
    list_display = ["name", "code", "name_en", "sees_subtree", "is_command_center", "sort"]
    search_fields = ["name", "code"]


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "role", "area", "started_on", "ended_on"]
    list_filter = ["role", "ended_on"]
    search_fields = ["user__display_name", "user__username", "area__name", "area__code"]
    autocomplete_fields = ["user", "area"]


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ["name", "code", "kind", "home_area", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["home_area", "areas"]
    inlines = [StaffInline]


# django-otp's own admin pages would edit authenticators and recovery codes behind the audit log's
# back (and show secrets): the "重置两步验证" action on people is the one door.
for _label in ("otp_totp.TOTPDevice", "otp_static.StaticDevice"):
    try:
        admin.site.unregister(django_apps.get_model(_label))
    except NotRegistered:
        pass
