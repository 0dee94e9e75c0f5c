"""Exports of sensitive data (docs/registries.md#exports): the two-person rule.

``request_export`` → ``decide`` (a *different* person with ``registries.approve_export``; the
database constraint ``export_two_persons`` says it too) → ``download`` by the requester, once,
within 24 hours of the approval. The file is an xlsx with the full values; every step leaves an
audit row and the download leaves access-log rows (one per person exported, one per exported record
that is about no one person). A subject export (``person`` set) is a person's own data across every
registry, exported for them on their request (PIPL art. 45).

Masked list exports need no approval and are not built here.
"""

from __future__ import annotations

import datetime
import io
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import signed_in

from . import access, queries, rules
from . import models as m
from .crypto import Sealed
from .models import ExportRequest, Registry

VALID_FOR = datetime.timedelta(hours=24)
Status = ExportRequest.Status
Purpose = m.AccessLog.Purpose

#: never exported: the blind index (a keyed hash that only helps whoever holds the key) and files
SKIPPED = {"id_number_index", "signature", "anonymised_at"}


def _snapshot(request: ExportRequest) -> dict:
    return audit.snapshot(request, ["registry", "area", "person", "purpose", "reason", "status", "decided_by",
                                    "decision_note", "expires_at", "downloaded_at"])


def _sees_subject(user, person) -> bool:
    return queries.visible_people(user).filter(pk=person.pk).exists()


def may_see_request(user, request: ExportRequest) -> bool:
    """The request's scope is in the user's sight (the requester's or an approver's)."""
    if request.person_id:
        return _sees_subject(user, request.person)
    return rules.can_see(user, request.registry, request.area)


def request_export(actor, *, registry, area, purpose, reason, person=None) -> ExportRequest:
    """Ask to export ``registry`` over ``area`` with full values (or, with ``person``, that person's
    own data on their request: purpose "subject")."""
    if not rules.may_request_export(actor):
        raise PermissionDenied(_("您没有申请导出敏感信息的权限"))
    if person is not None:
        if not _sees_subject(actor, person):
            raise PermissionDenied(_("该人员不在您的管辖范围内"))
        registry, area, purpose = Registry.RESIDENTS, person.area, Purpose.SUBJECT
    elif registry not in Registry.values:
        raise ValidationError({"registry": _("请选择台账")})
    elif area is None:
        raise ValidationError({"area": _("请选择导出范围")})
    elif purpose == Purpose.SUBJECT:
        raise ValidationError({"purpose": _("本人数据导出须从该人员的页面申请")})
    purpose, reason = access.check_purpose(purpose, reason)
    if person is None and not rules.can_see(actor, registry, area):
        raise PermissionDenied(_("该范围不在您的管辖范围内"))
    with transaction.atomic():
        request = ExportRequest.objects.create(registry=registry, area=area, person=person, purpose=purpose,
                                               reason=reason, requested_by=actor)
        audit.record(actor, "registries.export_request", request, after=_snapshot(request))
    return request


def decide(actor, request: ExportRequest, *, approve: bool, note: str = "") -> ExportRequest:
    """Approve (valid 24 hours) or refuse a pending request. Never the requester."""
    if not rules.may_approve_export(actor):
        raise PermissionDenied(_("您没有审批敏感信息导出的权限"))
    if actor.pk == request.requested_by_id:
        raise PermissionDenied(_("不能审批自己的导出申请（须由另一人审批）"))
    if not may_see_request(actor, request):
        raise PermissionDenied(_("该导出范围不在您的管辖范围内"))
    note = clean_text(note, "note", _("审批意见"), 200, required=not approve)
    with transaction.atomic():
        locked = ExportRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != Status.PENDING:
            raise Conflict(_("该申请已处理（%(status)s）") % {"status": locked.get_status_display()})
        before = _snapshot(locked)
        now = timezone.now()
        locked.status = Status.APPROVED if approve else Status.REFUSED
        locked.decided_by, locked.decided_at, locked.decision_note = actor, now, note
        locked.expires_at = now + VALID_FOR if approve else None
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "expires_at"])
        audit.record(actor, "registries.export_approve" if approve else "registries.export_refuse", locked,
                     before=before, after=_snapshot(locked))
    return locked


# --------------------------------------------------------------------------- the workbook


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in SKIPPED]


def _cell(obj, field: models.Field):
    value = getattr(obj, field.attname)
    if isinstance(value, Sealed):
        return value.reveal()  # approved export: the full value (the download is logged)
    if field.is_relation:
        related = getattr(obj, field.name) if value is not None else None
        return str(related) if related is not None else ""
    if field.choices and value not in (None, ""):
        return str(getattr(obj, f"get_{field.name}_display")())
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, list | dict):
        return str(value)
    return value


def _sheet_title(model, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "", str(model._meta.verbose_name_plural))[:28] or model._meta.model_name
    while title in used:
        title += "+"
    used.add(title)
    return title


def _workbook(sheets: list[tuple[type, list]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for model, rows in sheets:
        sheet = book.create_sheet(_sheet_title(model, used))
        columns = _columns(model)
        sheet.append([str(f.verbose_name) for f in columns])
        for obj in rows:
            sheet.append([_cell(obj, f) for f in columns])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def registry_models(registry: str) -> list[type]:
    found = [m.Person] if registry == Registry.RESIDENTS else []
    return found + [model for model, spec in queries.SPECS.items() if spec.registry == registry]


def _related(model) -> list[str]:
    """What a sheet of ``model`` follows, fetched with its rows (the file's and the log's queries do
    not grow with the number of rows): its relations' columns, the ones their names are made of, and
    the person the record is about."""
    found = []
    for f in _columns(model):
        if f.many_to_one or f.one_to_one:
            found.append(f.name)
            found += [f"{f.name}__{g.name}" for g in f.related_model._meta.concrete_fields
                      if (g.many_to_one or g.one_to_one) and g.related_model is not model
                      and g.related_model.__module__ == model.__module__]
    spec = queries.SPECS.get(model)
    if spec is not None and spec.person:
        found.append(spec.person)
    return sorted(set(found))


def _registry_sheets(user, request: ExportRequest) -> list[tuple[type, list]]:
    sheets = []
    for model in registry_models(request.registry):
        lookup = "area" if model is m.Person else queries.SPECS[model].area
        qs = queries.visible(model, user).filter(**{f"{lookup}__path__startswith": request.area.path})
        sheets.append((model, list(qs.select_related(*_related(model)).order_by("pk"))))
    return sheets


def subject_sheets(person) -> list[tuple[type, list]]:
    """Everything the registries hold about one person (their own data; others' contact details
    — the correction team's phones — are left out)."""
    household = person.household_id
    sheets = [
        (m.Person, [person]),
        (m.Household, list(m.Household.objects.filter(pk=household))),
        (m.FloatingRegistration, list(person.stays.order_by("pk"))),
        (m.KeyPerson, list(person.key_entries.order_by("pk"))),
        (m.Correction, list(person.corrections.order_by("pk"))),
        (m.CorrectionReport, list(m.CorrectionReport.objects.filter(correction__person=person).order_by("pk"))),
        (m.RiskAssessment, list(m.RiskAssessment.objects.filter(correction__person=person).order_by("pk"))),
        (m.ServiceHours, list(m.ServiceHours.objects.filter(correction__person=person).order_by("pk"))),
        (m.NeedCase, list(m.NeedCase.objects.filter(household_id=household).order_by("pk")) if household else []),
        (m.HelpRecord, list(m.HelpRecord.objects.filter(case__household_id=household).order_by("pk"))
         if household else []),
        (m.ReliefRecipient, list(m.ReliefRecipient.objects.filter(household_id=household).order_by("pk"))
         if household else []),
        (m.Consultation, list(person.consultations.order_by("pk"))),
        (m.MediationParty, list(person.mediation_parties.order_by("pk"))),
        (m.Visit, list(person.visits.order_by("pk"))),
        (m.AccessLog, list(person.access_logs.order_by("pk"))),  # who looked at my data, and why
    ]
    return [(model, rows) for model, rows in sheets if rows or model is m.Person]


def _log_download(user, request: ExportRequest, sheets) -> int:
    """One access-log row per person exported, one per exported record about no one person."""
    purpose = Purpose.SUBJECT if request.person_id else Purpose.EXPORT
    reason = (_("导出申请 #%(pk)s：") % {"pk": request.pk} + request.reason)[:200]
    people: dict[int, tuple[object, set[str]]] = {}
    rows_to_log = []
    for model, rows in sheets:
        sealed = [f.name for f in _columns(model) if isinstance(f, m.SealedField)]
        if not sealed or model is m.AccessLog:
            continue
        for obj in rows:
            person = queries.person_of(obj) if model in queries.SPECS or model is m.Person else None
            if person is not None:
                people.setdefault(person.pk, (person, set()))[1].update(f"{model._meta.model_name}.{n}"
                                                                       for n in sealed)
                continue
            rows_to_log.append(access.log_row(user, obj, purpose=purpose, reason=reason, fields=sealed,
                                              registry=request.registry))
    for person, fields in people.values():
        rows_to_log.append(access.log_row(user, person, purpose=purpose, reason=reason, fields=sorted(fields),
                                          registry=request.registry, person=person))
    # one INSERT (in batches): AccessLog is append-only through save(); bulk_create only adds rows
    m.AccessLog.objects.bulk_create(rows_to_log, batch_size=500)
    return len(rows_to_log)


def download(actor, request: ExportRequest) -> tuple[str, bytes]:
    """The approved file, for its requester, once, before it expires."""
    if actor.pk != request.requested_by_id:
        raise PermissionDenied(_("只有申请人可以下载"))
    if not rules.may_request_export(actor) or not may_see_request(actor, request):
        raise PermissionDenied(_("您已没有导出该范围敏感信息的权限"))
    now = timezone.now()
    if not ExportRequest.objects.filter(pk=request.pk, status=Status.APPROVED, expires_at__gt=now).exists():
        ExportRequest.objects.filter(pk=request.pk, status=Status.APPROVED, expires_at__lte=now).update(
            status=Status.EXPIRED)
        request.refresh_from_db()
        raise Conflict(_("该申请不可下载（%(status)s）：只能在批准后 24 小时内下载一次")
                       % {"status": request.get_status_display()})
    with transaction.atomic():
        claimed = ExportRequest.objects.filter(pk=request.pk, status=Status.APPROVED, expires_at__gt=now).update(
            status=Status.USED, downloaded_at=now)
        if claimed != 1:  # someone (a second click) claimed it first
            raise Conflict(_("该申请不可下载：只能在批准后 24 小时内下载一次"))
        request.refresh_from_db()
        sheets = subject_sheets(request.person) if request.person_id else _registry_sheets(actor, request)
        content = _workbook(sheets)
        logged = _log_download(actor, request, sheets)
        audit.record(actor, "registries.export_download", request, after={
            **_snapshot(request), "rows": sum(len(rows) for _model, rows in sheets), "access_log_rows": logged})
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    name = f"subject-{request.person_id}" if request.person_id else f"{request.registry}-{request.area.code or 'area'}"
    return f"registries-{name}-{stamp}.xlsx", content


def visible_requests(user):
    """Requests the user made, and pending ones the user may decide (not their own)."""
    mine = list(ExportRequest.objects.filter(requested_by=user).select_related("area", "person", "decided_by")
                [:200]) if signed_in(user) else []
    to_decide = []
    if rules.may_approve_export(user):
        pending = (ExportRequest.objects.filter(status=Status.PENDING).exclude(requested_by=user)
                   .select_related("area", "person", "requested_by")[:500])
        to_decide = [r for r in pending if may_see_request(user, r)]
    return mine, to_decide


def get_for(user, pk) -> ExportRequest:
    """One request, for its requester or someone who may decide it; 404 otherwise."""
    from django.http import Http404

    try:
        request = ExportRequest.objects.select_related("area", "person").get(pk=int(pk))
    except (ExportRequest.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    if request.requested_by_id == getattr(user, "pk", None):
        return request
    if rules.may_approve_export(user) and may_see_request(user, request):
        return request
    raise Http404
