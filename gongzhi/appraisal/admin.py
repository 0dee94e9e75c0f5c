"""Admin for 双向共评: read-only views of what the services wrote (changes go through the pages)."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.adminaudit import ReadOnlyAdmin

from .models import Nomination, Project, Selection, Sheet


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("title", "area", "status", "created_at")


@admin.register(Sheet)
class SheetAdmin(ReadOnlyAdmin):
    list_display = ("project", "scorer_name", "party", "total", "submitted_at")


@admin.register(Selection)
class SelectionAdmin(ReadOnlyAdmin):
    list_display = ("title", "area", "status", "vote_closes_at", "publicity_ends_at")


@admin.register(Nomination)
class NominationAdmin(ReadOnlyAdmin):
    list_display = ("name", "selection", "created_at")
