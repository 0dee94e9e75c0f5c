"""Admin for the shared kernel: working calendar, office hours, audit log (read-only), API tokens.

Every admin write to the calendar leaves an audit row ("calendar.update" with before/after).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from . import audit, calendar
from .adminaudit import AuditedModelAdmin
from .models import ApiToken, AuditLog, CalendarDay, OfficePeriod


class CalendarAuditMixin(AuditedModelAdmin):
    """Calendar rows are audited as "calendar.create|update|delete"."""

    audit_prefix = "calendar"

    def _record(self, request, obj, *, before, after, note: str) -> None:
        self.audit(request, obj, "update", before=before, after=after, note=note)


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAuditMixin):
    list_display = ["date", "is_workday", "name", "source"]
    list_filter = ["is_workday", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]
    readonly_fields = ["source"]
    actions = ["generate_next_year", "mark_rest_day", "mark_workday"]
    # Actions that work on the whole calendar, so they run even with no row ticked.
    actions_without_selection = {"generate_next_year"}

    def save_model(self, request, obj, form, change):
        obj.source = "admin"  # an admin's word outranks the seed: re-seeding never overwrites it
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        if (
            request.method == "POST"
            and request.POST.get("action") in self.actions_without_selection
            and not request.POST.getlist(ACTION_CHECKBOX_NAME)
        ):
            # Django refuses actions with nothing ticked; tick "all rows" on the admin's behalf.
            post = request.POST.copy()
            post["select_across"] = "1"
            post.setlist(ACTION_CHECKBOX_NAME, ["0"])
            request.POST = post
        return super().changelist_view(request, extra_context)

    @admin.action(description=_lazy("生成下一年（周一至周五）"), permissions=["add"])
    def generate_next_year(self, request, queryset):
        """Create a Monday–Friday year after the latest year that has rows (or this year)."""
        latest = CalendarDay.objects.aggregate(latest=Max("date"))["latest"]
        year = latest.year + 1 if latest else timezone.localdate().year
        with transaction.atomic():
            created = calendar.generate_weekday_year(year)
            audit.record(request.user, "calendar.generate", object_type=CalendarDay._meta.label_lower,
                         object_id=str(year), after={"year": year, "created": created}, note="admin")
        self.message_user(
            request,
            _("已按周一至周五生成 %(year)s 年的工作日历（新增 %(count)s 天），请逐日修改节假日和调休上班日。")
            % {"year": year, "count": created},
            messages.SUCCESS,
        )

    def _mark(self, request, queryset, *, is_workday: bool) -> int:
        changed = 0
        with transaction.atomic():
            for day in queryset.select_for_update():
                if day.is_workday == is_workday and day.source == "admin":
                    continue
                before = audit.snapshot(day)
                day.is_workday = is_workday
                day.source = "admin"
                day.save(update_fields=["is_workday", "source"])
                self._record(request, day, before=before, after=audit.snapshot(day), note="admin action")
                changed += 1
        return changed

    @admin.action(description=_lazy("设为休息日"), permissions=["change"])
    def mark_rest_day(self, request, queryset):
        count = self._mark(request, queryset, is_workday=False)
        self.message_user(request, _("已将 %(count)s 天设为休息日。") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_lazy("设为工作日"), permissions=["change"])
    def mark_workday(self, request, queryset):
        count = self._mark(request, queryset, is_workday=True)
        self.message_user(request, _("已将 %(count)s 天设为工作日。") % {"count": count}, messages.SUCCESS)


@admin.register(OfficePeriod)
class OfficePeriodAdmin(CalendarAuditMixin):
    list_display = ["start", "end"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only, and for superusers only: the log may hold personal data of every user."""

    list_display = ["at", "actor_name", "action", "object_type", "object_repr", "request_id", "ip", "seq"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_name", "request_id"]
    date_hierarchy = "at"
    actions = ["export_csv", "export_jsonl"]

    def _export(self, request, queryset, fmt: str):
        import io

        from django.http import HttpResponse

        buffer = io.StringIO()
        count = audit.export(queryset, buffer, fmt)
        with transaction.atomic():
            audit.record(request.user, "audit.export", object_type=AuditLog._meta.label_lower,
                         after={"format": fmt, "rows": count}, note="admin")
        content_type = "text/csv" if fmt == "csv" else "application/x-ndjson"
        response = HttpResponse(("\ufeff" if fmt == "csv" else "") + buffer.getvalue(),
                                content_type=f"{content_type}; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
        return response

    @admin.action(description=_lazy("导出所选记录（CSV）"), permissions=["view"])
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_lazy("导出所选记录（JSON Lines）"), permissions=["view"])
    def export_jsonl(self, request, queryset):
        return self._export(request, queryset, "jsonl")

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created through orgs.services.create_api_token (the clear text is shown once)."""

    list_display = ["user", "name", "prefix", "scope", "expires_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username", "user__display_name"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "digest", "scope", "created_at", "expires_at", "last_used_at",
                       "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the history stays

    @admin.action(description=_lazy("吊销所选令牌"), permissions=["change"])
    def revoke(self, request, queryset):
        from gongzhi.orgs.services import revoke_api_token

        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_api_token(token, actor=request.user)
            count += 1
        self.message_user(request, _("已吊销 %(count)s 个令牌。") % {"count": count}, messages.SUCCESS)
