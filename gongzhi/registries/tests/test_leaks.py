"""What the permission matrix (the generated leak test, gongzhi/core/tests/test_permissions.py) cannot
reach: the raw columns, key rotation over every model, error messages (a bad reveal purpose, a bad
import row, a bad API body), the 403/404/500 pages, the admin, the audit log, notifications and the
generated docs. The same canary world: every sealed field a unique plaintext."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gongzhi.core import permmatrix
from gongzhi.core.models import AuditLog
from gongzhi.core.tests.test_permissions import (
    CANARY_ID,
    DIGITS,
    NAME_MARK,
    OFFICER,
    SEALED_CANARIES,
    leaks,
    registry_canaries,
)
from gongzhi.orgs.models import User
from gongzhi.registries import access, crypto, exports
from gongzhi.registries import models as rm
from gongzhi.registries.crypto import sealed_fields

SEALED_MODELS = [model for model in apps.get_app_config("registries").get_models() if sealed_fields(model)]


#: a mediation's outcome (sealed since migration 0004), set by the matrix's world
OUTCOME_CANARY = "CANARY-结果-1"


@pytest.fixture
def canaries(world):
    return registry_canaries(world)


def raw_rows(model) -> list[tuple]:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in sealed_fields(model))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")
        return cursor.fetchall()


def test_no_raw_column_holds_a_plaintext(canaries):
    """Every sealed column of every model, read with SQL: tokens only, no canary nor slice of one."""
    for model in SEALED_MODELS:
        rows = raw_rows(model)
        assert rows, f"the canary world has no {model.__name__}"
        for value in (v for row in rows for v in row if v):
            assert value.startswith(crypto.PREFIX), model.__name__
            assert not leaks(value, names=True), model.__name__
    assert "outcome" in [f.name for f in sealed_fields(rm.Mediation)]
    (outcome,) = [row[[f.name for f in sealed_fields(rm.Mediation)].index("outcome")] for row in raw_rows(rm.Mediation)]
    assert outcome.startswith(crypto.PREFIX) and rm.Mediation.objects.get().outcome.reveal() == OUTCOME_CANARY
    assert CANARY_ID not in rm.Person.objects.values_list("id_number_index", flat=True).get()


def test_key_rotation_keeps_every_record_of_every_model_readable(canaries, settings):
    before = {model: raw_rows(model) for model in SEALED_MODELS}
    plain = {model: [[getattr(obj, f.attname).reveal() for f in sealed_fields(model)]
                     for obj in model.objects.order_by("pk")] for model in SEALED_MODELS}
    new_key = Fernet.generate_key().decode()
    settings.REGISTRY_KEYS = [new_key, crypto.keys()[0]]
    call_command("rotate_keys", "--commit")
    settings.REGISTRY_KEYS = [new_key]  # the old key is gone
    for model in SEALED_MODELS:
        assert raw_rows(model) != before[model], model.__name__
        assert [[getattr(obj, f.attname).reveal() for f in sealed_fields(model)]
                for obj in model.objects.order_by("pk")] == plain[model], model.__name__
    assert rm.Person.objects.filter(id_number_index=crypto.blind_index(CANARY_ID)).count() == 1


def _officer():
    return User.objects.get(username=OFFICER)


def test_error_messages_do_not_echo_sensitive_values(world, canaries, login):
    from gongzhi.registries import resident_import

    client = login(_officer())
    person = canaries["person"]
    page = client.post(reverse("registries:reveal", args=["person", person]), {"purpose": "bogus",
                                                                               "reason": "走访前核对住址"})
    assert page.status_code == 200 and not leaks(page.content.decode(), names=False)  # the form again, masked
    api = client.post(f"/api/v1/registries/reveal/person/{person}", {"purpose": CANARY_ID, "reason": CANARY_ID},
                      content_type="application/json")
    assert api.status_code == 400 and not leaks(api.content.decode(), names=False)
    api = client.post("/api/v1/registries/people/search", {"id_number": CANARY_ID * 3},
                      content_type="application/json")
    assert api.status_code == 400 and not leaks(api.content.decode(), names=False)
    api = client.post("/api/v1/registries/people/search", {"id_number": [CANARY_ID]},
                      content_type="application/json")
    assert api.status_code == 400 and not leaks(api.content.decode(), names=False)
    bad_id = CANARY_ID[:-1] + "0"  # a wrong check digit
    csv = f"姓名,身份证号,联系电话,所在区域\n金丝雀丁,{bad_id},13877770000,{world.grid_a1.code}\n".encode()
    report = resident_import.import_people(csv, actor=world.admin, commit=False, filename="people.csv")
    text = json.dumps(report.__dict__, default=str, ensure_ascii=False)
    assert bad_id not in text and CANARY_ID[6:14] not in text
    assert "1503**********7770" in text  # the row's error names the mask


def test_error_pages_say_nothing(world, canaries, login, monkeypatch):
    person = canaries["person"]
    outsider = login(world.outsider).get(reverse("registries:reveal", args=["person", person]))
    assert outsider.status_code == 404 and not leaks(outsider.content.decode(), names=True)
    worker = login(world.worker).get(reverse("registries:reveal", args=["person", person]))
    assert worker.status_code == 403 and not leaks(worker.content.decode(), names=False)

    def broken(user, obj, **kwargs):  # a bug that puts a plaintext into an exception
        raise RuntimeError(obj.id_number.reveal())

    monkeypatch.setattr(access, "reveal", broken)
    client = Client(raise_request_exception=False)
    client.force_login(_officer())
    page = client.post(reverse("registries:reveal", args=["person", person]), {"purpose": "visit",
                                                                               "reason": "走访前核对住址"})
    assert page.status_code == 500 and not leaks(page.content.decode(), names=False)
    api = client.post(f"/api/v1/registries/reveal/person/{person}", {"purpose": "visit", "reason": "走访前核对住址"},
                      content_type="application/json")
    assert api.status_code == 500 and not leaks(api.content.decode(), names=False)


def test_the_admin_shows_masks_only(world, canaries, login):
    client = login(world.admin)
    for model in [*SEALED_MODELS, rm.AccessLog, rm.ExportRequest]:
        meta = model._meta
        obj = model.objects.order_by("pk").first()
        for url in (reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
                    reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])):
            response = client.get(url)
            assert response.status_code == 200, url
            assert not leaks(response.content.decode(), names=False), url
    page = client.get(reverse("admin:registries_person_change", args=[canaries["person"]])).content.decode()
    assert "1503**********7777" in page
    assert client.post(reverse("admin:registries_person_change", args=[canaries["person"]]),
                       {"name": "改名"}).status_code == 403  # read-only: services write people


def test_reference_data_in_the_admin_is_audited(world, login):
    client = login(world.admin)
    rule, _ = rm.RetentionRule.objects.get_or_create(registry="legal", defaults={"years": 5})
    response = client.post(reverse("admin:registries_retentionrule_change", args=[rule.pk]),
                           {"registry": "legal", "years": "7"})
    assert response.status_code == 302 and rm.RetentionRule.objects.get(registry="legal").years == 7
    assert AuditLog.objects.filter(action="retentionrule.update").exists()


def test_audit_rows_and_notifications_hold_no_plaintext(world, canaries, login, settings):
    from gongzhi.notifications.models import Notification
    from gongzhi.registries import corrections, keypersons

    officer = _officer()
    approver = User.objects.create(username="approver2")
    approver.user_permissions.add(*apps.get_model("auth", "Permission").objects.filter(codename="approve_export"))
    from gongzhi.orgs import services as org_services
    from gongzhi.orgs.models import Role

    org_services.assign_role(actor=None, user=approver, area=world.street_a, role=Role.objects.get(code="leader"))
    approver = User.objects.get(pk=approver.pk)
    person = rm.Person.objects.get(pk=canaries["person"])
    request = exports.request_export(officer, registry="", area=None, purpose="", reason="本人书面申请导出",
                                     person=person)
    exports.decide(approver, request, approve=True)
    exports.download(officer, request)
    login(officer).post(reverse("registries:reveal", args=["person", person.pk]),
                        {"purpose": "visit", "reason": "走访前核对住址"})
    later = timezone.now() + datetime.timedelta(days=2)
    keypersons.remind_due(later)
    corrections.remind_due(later)
    assert Notification.objects.exists()
    for row in AuditLog.objects.all():
        text = json.dumps([row.before, row.after, row.object_repr, row.note], ensure_ascii=False, default=str)
        assert not leaks(text, names=False), row.action
    for note in Notification.objects.all():
        assert not leaks(f"{note.title} {note.body} {note.url}", names=False), note.kind
        assert CANARY_ID[:6] not in note.url


def test_the_generated_permission_docs_hold_no_canary():
    text = permmatrix.render(permmatrix.load())
    assert not any(c in text for c in SEALED_CANARIES)
    assert not any(d[3:9] in text for d in DIGITS)
    assert NAME_MARK in text  # the objects are described (by name only)


def test_the_leak_detector_itself():
    assert CANARY_ID in leaks(f"<td>{CANARY_ID}</td>", names=False)
    assert leaks("身份证 …19800101… 号", names=False)  # a slice in clear text
    assert leaks("电话 877770", names=False)  # a slice of the phone
    assert not leaks("<td>1503**********7777</td><td>138****0000</td>", names=False)  # the masks
    token = "aB3x" + CANARY_ID[2:8] + "Qz9LmNpRsTuVwYz0123"  # a random token that happens to hold a slice
    assert not leaks(f'<input name="csrfmiddlewaretoken" value="{token}">', names=False)
    assert leaks("金丝雀甲", names=True) and not leaks("金丝雀甲", names=False)


def test_every_kind_revealed_leaves_exactly_one_access_log_row(canaries, login):
    """Every record kind the reveal door serves, as an officer who sees them all (领导 of street A)."""
    client = login(_officer())
    for kind, model in access.REVEALABLE.items():
        obj = model.objects.order_by("pk").first()
        before = rm.AccessLog.objects.count()
        page = client.post(reverse("registries:reveal", args=[kind, obj.pk]),
                           {"purpose": "other", "reason": "权限矩阵核对"})
        assert page.status_code == 200 and 'id="revealed"' in page.content.decode(), kind
        assert rm.AccessLog.objects.count() == before + 1, kind
        row = rm.AccessLog.objects.order_by("-pk").first()
        assert row.object_type == model._meta.label_lower and row.object_id == str(obj.pk), kind
        assert row.fields == [f.name for f in sealed_fields(model)], kind
        if model is rm.Mediation:
            assert OUTCOME_CANARY in page.content.decode() and "outcome" in row.fields
