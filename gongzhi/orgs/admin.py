"""Admin for people, roles and departments. Writes go through the service functions' audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from gongzhi.core import audit

from .models import Department, Membership, Role, Staff, User


class AuditedAdmin(admin.ModelAdmin):
    """Every admin save and delete leaves an audit row with before/after."""

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.model_name}.{'update' if change else 'create'}"
        audit.record(request.user, action, obj, before=before, after=audit.snapshot(obj), note="admin")

    def delete_model(self, request, obj):
        audit.record(request.user, f"{obj._meta.model_name}.delete", obj, before=audit.snapshot(obj), note="admin")
        super().delete_model(request, obj)


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
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
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
class RoleAdmin(AuditedAdmin):
    list_display = ["name", "code", "name_en", "sees_subtree", "is_command_center", "sort"]
    search_fields = ["name", "code"]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "role", "area", "started_on", "ended_on"]
    list_filter = ["role", "ended_on"]
    search_fields = ["user__display_name", "user__username", "area__name", "area__code"]
    autocomplete_fields = ["user", "area"]


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["name", "code", "kind", "home_area", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["home_area", "areas"]
    inlines = [StaffInline]
