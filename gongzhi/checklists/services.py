"""Checklists: create, upload a version (checked, stored), activate it — each leaves an audit row —
and the Python interface the inspections build on:

- ``validate_answers(version, answers) -> (cleaned, errors)``
- ``failed_items(version, answers) -> list[Item]`` (``Item``: name, label, department_code, severity,
  rectification_days, legal_basis, plus the failing answer)
- ``active_version(code) -> ChecklistVersion | None``

See ``answers.py`` for the exact rules and docs/checklists.md for the workbook format.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict

from .answers import Item, failed_items, items, validate_answers
from .models import Checklist, ChecklistVersion
from .xlsform import CellError, WorkbookError, parse_workbook

__all__ = ["CellError", "Item", "WorkbookError", "activate_version", "active_version", "can_manage",
           "create_checklist", "failed_items", "items", "upload_version", "validate_answers"]

MANAGE_PERMISSION = "checklists.add_checklistversion"


def can_manage(user) -> bool:
    """Upload and activate versions: admins, or whoever was given the permission in the admin."""
    return user is None or bool(getattr(user, "is_authenticated", False) and user.has_perm(MANAGE_PERMISSION))


def _check_manage(actor) -> None:
    if not can_manage(actor):
        raise PermissionDenied(_("没有管理检查表的权限"))


def active_version(code: str) -> ChecklistVersion | None:
    return ChecklistVersion.objects.select_related("checklist").filter(
        checklist__code=code, status=ChecklistVersion.Status.ACTIVE).first()


def create_checklist(*, actor, code: str, name: str, description: str = "") -> Checklist:
    _check_manage(actor)
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not code:
        errors["code"] = [_("代码不能为空")]
    elif Checklist.objects.filter(code=code).exists():
        errors["code"] = [_("代码 %(code)s 已存在") % {"code": code}]
    if not name:
        errors["name"] = [_("名称不能为空")]
    if errors:
        raise ValidationError(errors)
    checklist = Checklist(code=code, name=name, description=description)
    checklist.full_clean()
    with transaction.atomic():
        checklist.save()
        audit.record(actor, "checklist.create", checklist, after=audit.snapshot(checklist))
    return checklist


def upload_version(checklist: Checklist, data: bytes, *, actor, filename: str = "") -> ChecklistVersion:
    """Check a workbook and store it as the checklist's next version (status "checked", not active).

    Raises ``WorkbookError`` (``.errors``: sheet, cell, reason for every problem) for a bad workbook;
    nothing is stored then.
    """
    _check_manage(actor)
    definition = parse_workbook(data)
    with transaction.atomic():
        Checklist.objects.select_for_update().get(pk=checklist.pk)  # numbers are given one at a time
        number = (checklist.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = ChecklistVersion.objects.create(
            checklist=checklist, number=number, title=definition["title"][:200],
            form_id=definition["form_id"][:100], form_version=definition["version"][:100], definition=definition,
            source=data, source_name=(filename or "")[:200],
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "checklist.upload", checklist, after={"version": number, "file": version.source_name,
                                                                 "items": len(items(version))})
    return version


def activate_version(version: ChecklistVersion, *, actor) -> ChecklistVersion:
    """Make ``version`` the checklist's active one; the previously active one is retired. Visits
    filled in with an earlier version keep pointing at it."""
    _check_manage(actor)
    with transaction.atomic():
        Checklist.objects.select_for_update().get(pk=version.checklist_id)
        version = ChecklistVersion.objects.select_for_update().get(pk=version.pk)
        if version.status == ChecklistVersion.Status.ACTIVE:
            raise Conflict(_("该版本已在启用中"))
        previous = ChecklistVersion.objects.filter(checklist_id=version.checklist_id,
                                                   status=ChecklistVersion.Status.ACTIVE).first()
        if previous is not None:
            previous.status = ChecklistVersion.Status.RETIRED
            previous.save(update_fields=["status"])
        version.status = ChecklistVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["status", "activated_at"])
        audit.record(actor, "checklist.activate", version.checklist,
                     before={"version": previous.number if previous else None}, after={"version": version.number})
    return version
