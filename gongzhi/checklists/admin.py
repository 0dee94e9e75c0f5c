"""Admin: checklists and their versions. A version is added by uploading a workbook (checked by
``services.upload_version``: a bad one is refused with sheet, cell and reason) and activated with the
"activate" action; versions are never edited after upload."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedModelAdmin

from . import services
from .models import Checklist, ChecklistVersion
from .xlsform import WorkbookError


@admin.register(Checklist)
class ChecklistAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "created_at")
    search_fields = ("code", "name")
    audit_prefix = "checklist"


class VersionUploadForm(forms.ModelForm):
    file = forms.FileField(label=_("XLSForm 工作簿（.xlsx）"))

    class Meta:
        model = ChecklistVersion
        fields = ("checklist",)

    def clean(self):
        data = super().clean()
        upload, checklist = data.get("file"), data.get("checklist")
        if upload is None or checklist is None:
            return data
        self.source = upload.read()
        self.source_name = upload.name
        from .xlsform import parse_workbook

        try:
            parse_workbook(self.source)
        except WorkbookError as exc:
            raise ValidationError([str(e) for e in exc.errors]) from None
        return data


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(admin.ModelAdmin):
    list_display = ("checklist", "number", "title", "form_version", "status", "uploaded_at", "activated_at")
    list_filter = ("status", "checklist")
    readonly_fields = ("checklist", "number", "status", "title", "form_id", "form_version", "source_name",
                       "uploaded_by", "uploaded_at", "activated_at")
    actions = ["activate"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = VersionUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ("checklist", "file") if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # visits keep the version they were filled in with

    def save_model(self, request, obj, form, change):
        version = services.upload_version(form.cleaned_data["checklist"], form.source, actor=request.user,
                                          filename=form.source_name)
        obj.pk = version.pk
        obj.__dict__.update({k: v for k, v in version.__dict__.items() if not k.startswith("_")})

    @admin.action(description=_("启用所选版本"))
    def activate(self, request, queryset):
        for version in queryset:
            try:
                services.activate_version(version, actor=request.user)
                self.message_user(request, _("已启用 %(v)s") % {"v": version}, messages.SUCCESS)
            except ValidationError as exc:
                self.message_user(request, "；".join(exc.messages), messages.ERROR)
