"""Admin: premises types are configuration (audited by AuditedModelAdmin); premises are written
through ``services`` so the admin leaves the same audit rows as the pages."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.adminaudit import AuditedModelAdmin

from . import services
from .models import Licence, Premises, PremisesType


@admin.register(PremisesType)
class PremisesTypeAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "name_en", "sort", "is_active")
    list_editable = ("sort", "is_active")
    search_fields = ("code", "name", "name_en")
    audit_prefix = "premises_type"


class LicenceInline(admin.TabularInline):
    model = Licence
    extra = 0
    fields = ("kind", "number", "valid_until")
    readonly_fields = ("kind", "number", "valid_until")  # edited on the premises page (audited there)
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Premises)
class PremisesAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "risk_level", "area", "operator_name", "contact_phone", "is_active")
    list_filter = ("type", "risk_level", "is_active")
    search_fields = ("name", "code", "address", "operator_name")
    raw_id_fields = ("created_by",)
    readonly_fields = ("area", "created_by", "created_at", "updated_at")
    fields = ("code", "name", "type", "address", "lon", "lat", "area", "operator_name", "contact_phone",
              "risk_level", "notes", "is_active", "created_by", "created_at", "updated_at")
    inlines = [LicenceInline]

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in services.EDITABLE if f in form.cleaned_data}
        if change:
            changed = {f: v for f, v in values.items() if f in form.changed_data}
            saved = services.update_premises(obj, actor=request.user, **changed)
        else:
            name, kind = values.pop("name"), values.pop("type")
            saved = services.create_premises(actor=request.user, name=name, type=kind, **values)
        obj.pk, obj.area_id, obj.area_path = saved.pk, saved.area_id, saved.area_path

    def delete_model(self, request, obj):
        from gongzhi.core import audit

        audit.record(request.user, "premises.delete", obj, before=audit.snapshot(obj), note="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
