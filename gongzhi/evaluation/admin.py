"""Admin: evaluation schemes (indicators, weights, parameters), settings, return visits; the fact
tables are derived data and read only."""

from __future__ import annotations

from django.contrib import admin

from .models import EvaluationSettings, RecountLog, ReturnVisit, Scheme, SchemeItem


class SchemeItemInline(admin.TabularInline):
    model = SchemeItem
    extra = 0
    fields = ["indicator", "weight", "sources", "sort"]


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_default", "due_to_close", "basic_weight", "use_rating", "min_cases"]
    inlines = [SchemeItemInline]
    prepopulated_fields = {"code": ["name"]}


@admin.register(EvaluationSettings)
class EvaluationSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "recount_minutes", "recount_months", "visit_share", "visit_min_per_group",
                    "next_recount_at", "last_recount_at"]
    readonly_fields = ["last_recount_at"]

    def has_add_permission(self, request) -> bool:
        return not EvaluationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RecountLog)
class RecountLogAdmin(admin.ModelAdmin):
    list_display = ["month", "counted_at", "cases", "rows", "seconds"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReturnVisit)
class ReturnVisitAdmin(admin.ModelAdmin):
    list_display = ["case", "month", "status", "channel", "resolved", "satisfaction", "answered_at"]
    list_filter = ["status", "channel", "month"]
    raw_id_fields = ["case", "answered_by"]
    readonly_fields = ["answered_at", "answered_by"]
    search_fields = ["case__number"]
