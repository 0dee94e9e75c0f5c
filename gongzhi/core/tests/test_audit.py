"""The audit log is append-only, and only superusers may read it in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from gongzhi.core import audit
from gongzhi.core.models import AppendOnlyError, AuditLog, CalendarDay
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/core/auditlog/"


def make_row() -> AuditLog:
    day = CalendarDay.objects.first()
    return audit.record(None, "calendar.update", day, before={"is_workday": True}, after={"is_workday": False})


def test_a_row_cannot_be_edited_or_deleted():
    row = make_row()
    row.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    row.refresh_from_db()
    assert row.note == "" and row.actor_name == "system"
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_superuser_sees_the_changelist_and_cannot_change_anything(client):
    row = make_row()
    root = org_services.create_user(actor=None, username="root", password=None, is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert row.object_repr in response.content.decode()
    assert client.get(f"{CHANGELIST}{row.pk}/change/").status_code == 200  # a read-only view
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{CHANGELIST}{row.pk}/change/", {"note": "x"}).status_code == 403
    assert AuditLog.objects.get(pk=row.pk).note == ""


def test_staff_without_superuser_cannot_see_it_even_with_the_permission(client):
    make_row()
    staff = org_services.create_user(actor=None, username="clerk", password=None, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_auditlog"))
    client.force_login(staff)
    assert client.get(CHANGELIST).status_code == 403
    assert "auditlog" not in client.get("/admin/").content.decode()
