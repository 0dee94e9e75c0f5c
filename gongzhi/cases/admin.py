"""Admin for the category directory and its rules; cases are read-only here (changes go through the
service functions: the pages, the API and the commands)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from gongzhi.core.adminaudit import AuditedInlinesMixin, AuditedModelAdmin

from . import directory
from .models import Case, CaseEvent, Category, DirectoryVersion, RoutingRule, TimeLimit


@admin.register(DirectoryVersion)
class DirectoryVersionAdmin(AuditedModelAdmin):
    """Versions are loaded by ``load_directory`` and switched with the action; only notes are edited."""

    audit_prefix = "directory"
    list_display = ["name", "source", "loaded_at", "activated_at", "is_active", "category_count"]
    list_filter = ["is_active"]
    search_fields = ["name", "source"]
    readonly_fields = ["name", "source", "loaded_at", "activated_at", "is_active"]
    fields = ["name", "source", "loaded_at", "activated_at", "is_active", "notes"]
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_categories=Count("categories"))

    @admin.display(description=_("分类数"), ordering="n_categories")
    def category_count(self, obj: DirectoryVersion) -> int:
        return obj.n_categories

    def has_add_permission(self, request) -> bool:
        return False  # loaded from a file: manage.py load_directory

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cases keep the categories they were filed under

    @admin.action(description=_("启用此版本"), permissions=["change"])
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个版本"), messages.ERROR)
            return
        try:
            result = directory.activate_version(queryset.get(), actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, result.summary(), messages.SUCCESS)
        for warning in result.warnings:
            self.message_user(request, warning, messages.WARNING)


class TimeLimitInline(admin.TabularInline):
    model = TimeLimit
    extra = 0
    fields = ["step", "area_class", "urgent", "amount", "unit"]


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    fields = ["area", "department", "priority"]
    autocomplete_fields = ["area", "department"]


@admin.register(Category)
class CategoryAdmin(AuditedInlinesMixin, AuditedModelAdmin):
    list_display = ["code", "name", "kind", "major_name", "default_department", "is_active", "is_public", "version"]
    list_filter = ["version", "kind", "is_active", "is_public", "major_name"]
    search_fields = ["code", "name", "keywords"]
    list_select_related = ["version", "default_department"]
    autocomplete_fields = ["default_department"]
    fields = ["version", "code", "name", "kind", "major_code", "major_name", "keywords", "default_department",
              "closing_condition", "extra_fields", "is_active", "is_public"]
    inlines = [TimeLimitInline, RoutingRuleInline]

    def get_readonly_fields(self, request, obj=None):
        # A category stays in its version under its code: old cases point at it.
        return ["version", "code", "kind"] if obj is not None else []

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        current = directory.active_version()
        if current is not None:
            initial.setdefault("version", current.pk)
        initial.setdefault("kind", Category.Kind.LOCAL)
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class CheckedForm(form):
            def clean(self):
                data = super().clean()
                if obj is None and data.get("code") and data.get("kind"):
                    problem = directory.code_problem(data["kind"], data["code"])
                    if problem:
                        self.add_error("code", problem)
                if "extra_fields" in data:
                    try:
                        data["extra_fields"] = directory.clean_extra_fields(data["extra_fields"])
                    except ValidationError as exc:
                        self.add_error("extra_fields", exc)
                return data

        return CheckedForm

    def has_delete_permission(self, request, obj=None) -> bool:
        # Never delete a category cases were filed under; unused local ones may go.
        if obj is not None and obj.cases.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedModelAdmin):
    list_display = ["category", "area", "department", "priority"]
    list_filter = ["category__version", "department"]
    search_fields = ["category__code", "category__name", "area__name", "area__code", "department__name"]
    list_select_related = ["category", "area", "department"]
    autocomplete_fields = ["category", "area", "department"]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ["at", "actor_name", "action", "from_status", "to_status", "department", "note"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: every change to a case is a named transition in ``cases.services``."""

    list_display = ["number", "title", "status", "category", "department", "due_at", "overdue"]
    list_filter = ["status", "source", "overdue", "urgent", "locate_status"]
    search_fields = ["number", "title", "address"]
    list_select_related = ["category", "department"]
    show_full_result_count = False  # no second COUNT(*) over a million cases
    inlines = [CaseEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
