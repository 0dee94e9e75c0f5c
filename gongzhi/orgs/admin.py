"""Admin for people, roles and departments. Writes go through the service functions' audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedModelAdmin

from .models import Department, Membership, Role, Staff, User


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
