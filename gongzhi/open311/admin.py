"""Admin for Open311 clients: issue a key (shown once), issue a new one, revoke; the submitted
requests and the departments' updates read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.adminaudit import AuditedModelAdmin, ReadOnlyAdmin

from . import services
from .models import ApiClient, ReceivedUpdate, SubmittedRequest


def _show_key(request, client: ApiClient, raw: str) -> None:
    messages.warning(request, format_html(
        _("客户端“{}”的 api_key（只显示这一次，请立即复制并安全地交给对方）：<code>{}</code>"), client.name, raw))


@admin.register(ApiClient)
class ApiClientAdmin(AuditedModelAdmin):
    audit_prefix = "open311.client"
    list_display = ["name", "key_prefix", "department", "batch", "rate_limit", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = ["batch", "department"]
    search_fields = ["name", "contact", "key_prefix"]
    fields = ["name", "contact", "department", "batch", "rate_limit", "key_prefix", "user", "created_at",
              "last_used_at", "revoked_at"]
    readonly_fields = ["key_prefix", "user", "created_at", "last_used_at", "revoked_at"]
    actions = ["issue_new_key", "revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            if obj.department_id is not None:
                services.attach_user(obj, actor=request.user)
            return
        try:
            client, raw = services.issue_client(actor=request.user, name=obj.name, department=obj.department,
                                                contact=obj.contact, batch=obj.batch, rate_limit=obj.rate_limit)
        except ValidationError as exc:  # the form checked the same; a race with another admin
            messages.error(request, "；".join(exc.messages))
            raise
        for f in client._meta.concrete_fields:
            setattr(obj, f.attname, getattr(client, f.attname))
        obj._state.adding, obj._state.db = False, client._state.db
        _show_key(request, client, raw)

    @admin.action(description=gettext_lazy("发放新的 api_key（旧的立即失效）"))
    def issue_new_key(self, request, queryset):
        for client in queryset:
            _show_key(request, client, services.rotate_key(client, actor=request.user))

    @admin.action(description=gettext_lazy("吊销 api_key"))
    def revoke(self, request, queryset):
        for client in queryset:
            services.revoke_client(client, actor=request.user)
        messages.success(request, _("已吊销 %(n)d 个客户端的 api_key") % {"n": queryset.count()})



@admin.register(SubmittedRequest)
class SubmittedRequestAdmin(ReadOnlyAdmin):
    list_display = ["case", "client", "created_at"]
    list_filter = ["client"]
    search_fields = ["case__number", "token"]
    raw_id_fields = ["case"]


@admin.register(ReceivedUpdate)
class ReceivedUpdateAdmin(ReadOnlyAdmin):
    list_display = ["case", "client", "update_id", "status", "received_at"]
    list_filter = ["client", "status"]
    search_fields = ["case__number", "update_id"]
    raw_id_fields = ["case", "event"]
