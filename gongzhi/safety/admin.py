"""Admin for safety grading: jurisdictions (audited), grading schemes (a new version each time, through
the services), grades and measures shown read-only (they change only through the services)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedModelAdmin, ReadOnlyAdmin

from . import grading, services
from .models import Grade, GradingScheme, Measure, PoliceArea


class PoliceAreaForm(forms.ModelForm):
    class Meta:
        model = PoliceArea
        fields = ("name", "name_en", "code", "department", "population", "geometry", "covers", "is_active")

    def clean_geometry(self):
        from gongzhi.areas import geo

        geometry = self.cleaned_data.get("geometry")
        if geometry:
            try:
                geo.parse_geometry(geometry)
            except geo.GeometryError as exc:
                raise ValidationError(str(exc)) from None
        return geometry


@admin.register(PoliceArea)
class PoliceAreaAdmin(AuditedModelAdmin):
    """A jurisdiction: its own boundary, its station, its population and the tree's areas it overlaps."""

    form = PoliceAreaForm
    audit_prefix = "safety.police_area"
    list_display = ("code", "name", "department", "population", "is_active")
    search_fields = ("code", "name")
    filter_horizontal = ("covers",)
    autocomplete_fields = ("department",)


class SchemeForm(forms.ModelForm):
    rules = forms.JSONField(label=_("规则"), initial=grading.DEFAULT_RULES,
                            help_text=_("见 docs/safety.md：每项计数的分档（count 件数或 per10k 每万人）、满意率分档、合成方式"))

    class Meta:
        model = GradingScheme
        fields = ("name", "rules", "note")

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        grading.parse_rules(rules)
        return rules


@admin.register(GradingScheme)
class GradingSchemeAdmin(admin.ModelAdmin):
    """A scheme is never edited in place: "add" makes a new version (grades keep the one they used)."""

    form = SchemeForm
    list_display = ("version", "name", "is_active", "created_at")
    actions = ["activate"]

    def get_readonly_fields(self, request, obj=None):
        return ("version", "is_active", "rules_text", "note", "name") if obj else ()

    def get_fields(self, request, obj=None):
        return ("version", "name", "is_active", "rules_text", "note") if obj else ("name", "rules", "note")

    @admin.display(description=_("规则"))
    def rules_text(self, obj):
        return json.dumps(obj.rules, ensure_ascii=False, indent=1)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = services.create_scheme(actor=request.user, name=obj.name, rules=obj.rules, note=obj.note)
        obj.pk, obj.version = created.pk, created.version

    @admin.action(description=_("启用所选方案（新填报的数据按此方案评定）"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个方案"), messages.ERROR)
            return
        try:
            services.activate_scheme(queryset.get(), actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("已启用"))



@admin.register(Grade)
class GradeAdmin(ReadOnlyAdmin):
    list_display = ("police_area", "month", "level", "status", "scheme")
    list_filter = ("status", "level", "month")


@admin.register(Measure)
class MeasureAdmin(ReadOnlyAdmin):
    list_display = ("what", "owner", "due_on", "status", "grade")
    list_filter = ("status",)
