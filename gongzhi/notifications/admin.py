"""Admin: webhook endpoints are configured here; inbox rows and deliveries can be inspected."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core import audit
from gongzhi.core.adminaudit import AuditedModelAdmin

from .models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedModelAdmin):
    list_display = ["name", "url", "event_kinds", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    fields = ["name", "url", "secret", "event_kinds", "is_active"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def audit(self, request, obj, verb: str, *, before=None, after=None, note: str = "admin") -> None:
        """The signing secret never goes into the audit log; only the fact that it changed."""
        def strip(snapshot: dict | None) -> dict | None:
            if snapshot is None:
                return None
            return {**snapshot, "secret": "***"} if "secret" in snapshot else snapshot

        if before and after and before.get("secret") != after.get("secret"):
            before, after = strip(before), {**strip(after), "secret": "*** (changed)"}
        else:
            before, after = strip(before), strip(after)
        super().audit(request, obj, verb, before=before, after=after, note=note)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "kind", "event_id", "status", "attempts", "response_status",
                    "next_attempt_at", "delivered_at", "created_at"]
    list_filter = ["status", "endpoint", "kind"]
    search_fields = ["event_id", "last_error"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_webhookdelivery")

    @admin.action(description=_("立即重试所选投递"), permissions=["retry"])
    def retry_now(self, request, queryset) -> None:
        """Give failed or waiting deliveries a fresh round of attempts, picked up by the worker."""
        count = 0
        for delivery in queryset.exclude(status=WebhookDelivery.Status.DELIVERED):
            WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
                status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now())
            audit.record(request.user, "webhookdelivery.retry", delivery, note="admin")
            count += 1
        self.message_user(request, _("已安排重试 %(n)s 条投递") % {"n": count}, messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__username", "user__display_name"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
