"""Admin: read-only views of stations, teams, visits, hazards and notices. Every write goes through
``services`` (audited, checked); pages for them come in a later slice (docs/inspections.md)."""

from __future__ import annotations

from django.contrib import admin

from .models import Hazard, Notice, Station, Team, TeamMember, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    fields = ("user", "department")
    readonly_fields = ("user", "department")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Station)
class StationAdmin(ReadOnlyAdmin):
    list_display = ("name", "area", "created_at")
    search_fields = ("name",)


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "station", "is_active")
    list_filter = ("is_active",)
    inlines = [TeamMemberInline]


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("premises", "team", "checklist_version", "started_at", "finished_at")
    list_select_related = ("premises", "team__station", "checklist_version__checklist")
    date_hierarchy = "started_at"


@admin.register(Hazard)
class HazardAdmin(ReadOnlyAdmin):
    list_display = ("premises", "item_label", "department", "severity", "deadline", "status", "escalation_level")
    list_filter = ("status", "severity", "department")
    list_select_related = ("premises", "department")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("number", "department", "deadline", "issued_at")
    list_filter = ("department",)
    search_fields = ("number",)
    list_select_related = ("department",)
