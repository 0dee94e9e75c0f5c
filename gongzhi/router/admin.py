"""Admin for smart dispatch: the settings (one row, with per-category thresholds), the trained models
(read-only, with an action to activate a version), and the suggestion log (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedInlinesMixin, AuditedModelAdmin

from . import services
from .models import CategoryThreshold, RouterModel, RouterSettings, Suggestion


class ThresholdForm(forms.ModelForm):
    class Meta:
        model = CategoryThreshold
        fields = ["category_code", "threshold"]

    def clean_category_code(self):
        code = (self.cleaned_data.get("category_code") or "").strip()
        if services.label_object("category", code) is None:
            raise ValidationError(_("当前分类目录中没有编码为 %(code)s 的分类") % {"code": code})
        return code


class CategoryThresholdInline(admin.TabularInline):
    model = CategoryThreshold
    form = ThresholdForm
    extra = 0
    fields = ["category_code", "threshold"]


@admin.register(RouterSettings)
class RouterSettingsAdmin(AuditedInlinesMixin, AuditedModelAdmin):
    audit_prefix = "router.settings"
    inlines = [CategoryThresholdInline]
    list_display = ["__str__", "suggestions_enabled", "auto_dispatch_enabled", "default_threshold", "retrain_hours",
                    "next_train_at", "last_train_at"]
    readonly_fields = ["last_train_at"]
    fieldsets = [
        (_("建议与自动派遣"), {"fields": ["suggestions_enabled", "auto_dispatch_enabled", "default_threshold"]}),
        (_("训练"), {"fields": ["retrain_hours", "min_examples", "correction_weight", "history_days", "auto_activate",
                              "next_train_at", "last_train_at"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not RouterSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RouterModel)
class RouterModelAdmin(AuditedModelAdmin):
    """Models come from ``gongzhi router train`` or the worker's schedule; here they are activated."""

    audit_prefix = "router.model"
    list_display = ["__str__", "source", "examples", "corrections", "labels", "accuracy", "macro_f1", "top3",
                    "created_at", "is_active"]
    list_filter = ["target", "source", "is_active"]
    fields = ["target", "version", "source", "created_at", "examples", "corrections", "labels", "data_from",
              "data_to", "metrics", "train_seconds", "is_active", "activated_at", "notes"]
    readonly_fields = [f for f in fields if f != "notes"]
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("blob")

    @admin.display(description=_("准确率"))
    def accuracy(self, obj: RouterModel):
        return obj.figure("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: RouterModel):
        return obj.figure("macro_f1")

    @admin.display(description=_("前三命中"))
    def top3(self, obj: RouterModel):
        return obj.figure("top3")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The suggestion log points at its model: a model that made suggestions, or is in use, stays.
        if obj is not None and (obj.is_active or obj.suggestions.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        self.delete_queryset(request, RouterModel.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        from django.db import transaction

        from gongzhi.core import audit

        with transaction.atomic():
            for obj in queryset.filter(is_active=False, suggestions__isnull=True).defer("blob"):
                audit.record(request.user, "router.model.delete", obj, before=services._snapshot(obj), note="admin")
                obj.delete()

    def save_model(self, request, obj, form, change):
        # only the notes are editable; audit them without the model bytes
        from gongzhi.core import audit

        before = RouterModel.objects.filter(pk=obj.pk).values("notes").first() if obj.pk else None
        obj.save(update_fields=["notes"] if change else None)
        audit.record(request.user, "router.model.update", obj, before=before, after={"notes": obj.notes}, note="admin")

    @admin.action(description=_("启用此版本"), permissions=["change"])
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个版本"), messages.ERROR)
            return
        model = queryset.get()
        services.activate_model(model, actor=request.user)
        self.message_user(request, _("已启用 %(model)s") % {"model": model}, messages.SUCCESS)


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["case", "target", "model", "label1", "p1", "auto_dispatched", "created_at"]
    list_filter = ["target", "auto_dispatched", "model"]
    search_fields = ["case__number", "label1"]
    list_select_related = ["case", "model"]
    readonly_fields = ["case", "target", "model", "top", "label1", "label2", "label3", "p1", "reported_category",
                       "auto_dispatched", "created_at"]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model__blob")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
