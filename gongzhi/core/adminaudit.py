"""One audited ModelAdmin for every app: admin saves and deletes leave audit rows; and one read-only
ModelAdmin and inline for what only the services write.

Admin is a door for configuration data (levels, roles, calendar days …); like every other door it
writes the audit log. Models with real business rules (areas) call their service functions instead.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from . import audit


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes ``<prefix>.create|update|delete`` rows with before/after snapshots."""

    #: The action prefix; defaults to the model's name (e.g. "role" → "role.update").
    audit_prefix: str | None = None

    def audit(self, request, obj, verb: str, *, before=None, after=None, note: str = "admin") -> None:
        prefix = self.audit_prefix or obj._meta.model_name
        audit.record(request.user, f"{prefix}.{verb}", obj, before=before, after=after, note=note)

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        self.audit(request, obj, "update" if change else "create", before=before, after=audit.snapshot(obj))

    def delete_model(self, request, obj):
        self.audit(request, obj, "delete", before=audit.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.audit(request, obj, "delete", before=audit.snapshot(obj))
            super().delete_queryset(request, queryset)


class AuditedInlinesMixin:
    """Audit rows for the changes made in inlines too (AuditedModelAdmin covers the parent only)."""

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            instances = formset.save(commit=False)
            for obj in formset.deleted_objects:
                audit.record(request.user, f"{obj._meta.model_name}.delete", obj, before=audit.snapshot(obj),
                             note="admin")
                obj.delete()
            for obj in instances:
                before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if obj.pk else None
                obj.save()
                audit.record(request.user, f"{obj._meta.model_name}.{'update' if before else 'create'}", obj,
                             before=before, after=audit.snapshot(obj), note="admin")
            formset.save_m2m()


class ReadOnlyMixin:
    """No add, change or delete: records that only services write (ballots, ledgers, results …)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
