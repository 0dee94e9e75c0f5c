"""Admin: the escalation ladder (``EscalationStep``) is configuration data and editable here (audited);
everything else is read-only — stations, teams, visits, hazards with their timeline, notices,
re-inspections, joint meetings and findings. Those writes go through ``services``, ``followup`` and
``meetings`` (audited, checked)."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.adminaudit import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline

from .models import (
    EscalationStep,
    Hazard,
    HazardEvent,
    Meeting,
    MeetingDecision,
    MeetingItem,
    Notice,
    Reinspection,
    Station,
    Team,
    TeamMember,
    Visit,
    VisitFinding,
)


class TeamMemberInline(ReadOnlyInline):
    model = TeamMember
    fields = ("user", "department")
    readonly_fields = fields


class HazardEventInline(ReadOnlyInline):
    model = HazardEvent
    fields = ("at", "kind", "level", "actor", "note")
    readonly_fields = fields


class MeetingItemInline(ReadOnlyInline):
    model = MeetingItem
    fields = ("sort", "title", "hazard")
    readonly_fields = fields


class MeetingDecisionInline(ReadOnlyInline):
    model = MeetingDecision
    fields = ("text", "department", "case", "item")
    readonly_fields = fields


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
    inlines = [HazardEventInline]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("number", "department", "deadline", "issued_at")
    list_filter = ("department",)
    search_fields = ("number",)
    list_select_related = ("department",)


@admin.register(EscalationStep)
class EscalationStepAdmin(AuditedModelAdmin):
    """The ladder an unfixed hazard climbs: rungs ordered by level (gaps allowed; the next higher level
    is the next rung). Changes apply to the next escalation; hazards keep the level they reached."""

    list_display = ("level", "code", "name", "rectification_days", "transfers", "goes_to_meeting")
    list_display_links = ("level", "code")
    ordering = ("level",)


@admin.register(Reinspection)
class ReinspectionAdmin(ReadOnlyAdmin):
    list_display = ("notice", "round", "due_at", "status", "done_at", "done_by")
    list_filter = ("status",)
    list_select_related = ("notice", "done_by")
    date_hierarchy = "due_at"


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ("title", "station", "scheduled_at", "status")
    list_filter = ("status",)
    list_select_related = ("station",)
    inlines = [MeetingItemInline, MeetingDecisionInline]


@admin.register(VisitFinding)
class VisitFindingAdmin(ReadOnlyAdmin):
    list_display = ("visit", "case", "created_at")
    list_select_related = ("visit__premises", "case")
