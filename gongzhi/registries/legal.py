"""Legal service and mediation (法律服务与人民调解): every write of the legal registry.

- A legal adviser per community (一村（社区）一法律顾问): a professional whose name, firm, work phone
  and office hours are public; appointing a new one ends the old one's post.
- Consultations (法律咨询): the requester's name, the question and the advice are sealed.
- Mediation cases (矛盾纠纷调解) numbered TJ-<year>-<0001…> per year: parties (sealed name and phone),
  sessions, and a conclusion — agreed (with the agreement's text), failed or withdrawn (with an
  outcome) — once.

Writers: ``rules.can_write(actor, Registry.LEGAL, area)`` (the community's party secretary, the
judicial office serving it). The mediator of a case may add parties, record its sessions and
conclude it; an adviser with an account may record consultations in their community.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import acting_user

from . import rules
from .corrections import PHONE_RE
from .models import Consultation, LegalAdviser, Mediation, MediationParty, MediationSession, Registry

MStatus = Mediation.Status
CLOSED = (MStatus.AGREED, MStatus.FAILED, MStatus.WITHDRAWN)
NUMBER_PREFIX = "TJ"
NUMBER_ATTEMPTS = 8
COMMUNITY = "community"  # the area level of a community (an adviser serves one)


def _require_writer(actor, area) -> None:
    if not rules.can_write(actor, Registry.LEGAL, area):
        raise PermissionDenied(_("您没有在该社区办理法律服务与调解的权限"))


def _phone(value, field="phone") -> str:
    value = clean_text(value, field, _("联系电话"), 20, required=False)
    if value and not PHONE_RE.match(value):
        raise ValidationError({field: _("联系电话格式不正确")})
    return value


def _not_future(value, field: str, label: str) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationError({field: _("%(label)s格式不正确") % {"label": label}})
    if value > timezone.localdate():
        raise ValidationError({field: _("%(label)s不能晚于今天") % {"label": label}})
    return value


# ------------------------------------------------------------------------------ advisers


def current_adviser(area) -> LegalAdviser | None:
    return LegalAdviser.objects.filter(area=area, ended_on__isnull=True).order_by("-started_on", "-pk").first()


def appoint_adviser(actor, *, area, name, firm="", phone="", office_hours="", user=None,
                    started_on=None) -> LegalAdviser:
    """Appoint the community's legal adviser; the one in post (if any) leaves the same day."""
    _require_writer(actor, area)
    if getattr(area.level, "slug", COMMUNITY) != COMMUNITY:
        raise ValidationError({"area": _("法律顾问按社区聘任，请选择社区")})
    name = clean_text(name, "name", _("姓名"), 64)
    firm = clean_text(firm, "firm", _("执业机构"), 100, required=False)
    phone = _phone(phone)
    office_hours = clean_text(office_hours, "office_hours", _("坐班时间"), 100, required=False)
    started_on = started_on or timezone.localdate()
    if user is not None and not user.is_active:
        raise ValidationError({"user": _("该账号已停用")})
    with transaction.atomic():
        type(area).objects.select_for_update().filter(pk=area.pk).first()  # one appointment at a time per community
        for old in LegalAdviser.objects.select_for_update().filter(area=area, ended_on__isnull=True):
            old.ended_on = max(started_on, old.started_on)
            old.save(update_fields=["ended_on"])
            audit.record(actor, "registries.adviser_end", old, after=audit.snapshot(old, ["ended_on"]),
                         note="replaced")
        adviser = LegalAdviser.objects.create(area=area, name=name, firm=firm, phone=phone,
                                              office_hours=office_hours, user=user, started_on=started_on)
        audit.record(actor, "registries.adviser_appoint", adviser, after=audit.snapshot(adviser))
    return adviser


def end_adviser(actor, adviser: LegalAdviser, on=None) -> LegalAdviser:
    _require_writer(actor, adviser.area)
    on = on or timezone.localdate()
    with transaction.atomic():
        adviser = LegalAdviser.objects.select_for_update().get(pk=adviser.pk)
        if adviser.ended_on is not None:
            raise ValidationError(_("该法律顾问已解聘"))
        if on < adviser.started_on:
            raise ValidationError({"on": _("解聘日期不能早于聘任日期")})
        adviser.ended_on = on
        adviser.save(update_fields=["ended_on"])
        audit.record(actor, "registries.adviser_end", adviser, after=audit.snapshot(adviser, ["ended_on"]))
    return adviser


# ------------------------------------------------------------------------------ consultations


def advised_areas(user):
    """Areas where the user is the adviser in post."""
    if acting_user(user) is None:
        return LegalAdviser.objects.none()
    return LegalAdviser.objects.filter(user=user, ended_on__isnull=True)


def may_consult(actor, area) -> bool:
    return rules.can_write(actor, Registry.LEGAL, area) or (
        acting_user(actor) is not None and advised_areas(actor).filter(area=area).exists())


def record_consultation(actor, *, area, topic, requester, question, advice="", adviser=None, person=None,
                        on=None) -> Consultation:
    if not may_consult(actor, area):
        raise PermissionDenied(_("您没有在该社区登记法律咨询的权限"))
    topic = clean_text(topic, "topic", _("事项类别"), 32)
    requester = clean_text(requester, "requester", _("咨询人姓名"), 64)
    question = clean_text(question, "question", _("咨询内容"), 4000)
    advice = clean_text(advice, "advice", _("解答意见"), 4000, required=False)
    on = _not_future(on or timezone.localdate(), "on", _("日期"))
    if adviser is None and acting_user(actor) is not None:
        adviser = advised_areas(actor).filter(area=area).first()
    if adviser is not None and adviser.area_id != area.pk:
        raise ValidationError({"adviser": _("请选择本社区的法律顾问")})
    if person is not None and not person.area.path.startswith(area.path):
        raise ValidationError({"person": _("咨询人不在该社区")})
    with transaction.atomic():
        row = Consultation.objects.create(area=area, topic=topic, requester=requester, question=question,
                                          advice=advice, adviser=adviser, person=person, on=on,
                                          recorded_by=acting_user(actor))
        audit.record(actor, "registries.consultation", row,
                     after=audit.snapshot(row, ["area", "adviser", "person", "topic", "requester", "on"]))
    return row


# ------------------------------------------------------------------------------ mediation


def _is_mediator(actor, mediation: Mediation) -> bool:
    return acting_user(actor) is not None and mediation.mediator_id == actor.pk


def may_handle(actor, mediation: Mediation) -> bool:
    """Writers of the community, and the case's own mediator."""
    return rules.can_write(actor, Registry.LEGAL, mediation.area) or _is_mediator(actor, mediation)


def _require_handler(actor, mediation: Mediation) -> None:
    if not may_handle(actor, mediation):
        raise PermissionDenied(_("只有调解员或本社区的调解组织可以办理该案件"))


def next_number(year: int) -> str:
    prefix = f"{NUMBER_PREFIX}-{year}-"
    last = (Mediation.objects.filter(number__startswith=prefix)
            .order_by(Length("number").desc(), "-number").values_list("number", flat=True).first())
    seq = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    return f"{prefix}{seq:04d}"


def open_mediation(actor, *, area, kind, summary, mediator=None, case=None, received_on=None) -> Mediation:
    """A new mediation case with the year's next number (unique; a clash with a concurrent opening is
    retried inside a savepoint)."""
    _require_writer(actor, area)
    if kind not in Mediation.Kind.values:
        raise ValidationError({"kind": _("请选择纠纷类型")})
    summary = clean_text(summary, "summary", _("纠纷概况"), 4000)
    received_on = _not_future(received_on or timezone.localdate(), "received_on", _("受理日期"))
    if mediator is not None and not mediator.is_active:
        raise ValidationError({"mediator": _("该账号已停用")})
    with transaction.atomic():
        for _attempt in range(NUMBER_ATTEMPTS):
            try:
                with transaction.atomic():
                    mediation = Mediation.objects.create(
                        area=area, number=next_number(received_on.year), kind=kind, summary=summary,
                        mediator=mediator, received_on=received_on, case=case)
                break
            except IntegrityError:
                continue
        else:
            raise ValidationError(_("编号生成冲突，请重试"))
        audit.record(actor, "registries.mediation_open", mediation,
                     after=audit.snapshot(mediation, ["area", "number", "kind", "summary", "mediator", "case",
                                                      "received_on"]))
    return mediation


def add_party(actor, mediation: Mediation, *, side, name, phone="", person=None) -> MediationParty:
    _require_handler(actor, mediation)
    if side not in MediationParty.Side.values:
        raise ValidationError({"side": _("请选择当事人身份")})
    name = clean_text(name, "name", _("姓名"), 64)
    phone = _phone(phone)
    if person is not None and not person.area.path.startswith(mediation.area.path):
        raise ValidationError({"person": _("该人员不在本社区")})
    with transaction.atomic():
        mediation = Mediation.objects.select_for_update().get(pk=mediation.pk)
        if mediation.status in CLOSED:
            raise ValidationError(_("案件已结案"))
        party = MediationParty.objects.create(mediation=mediation, side=side, name=name, phone=phone, person=person)
        audit.record(actor, "registries.mediation_party", party,
                     after=audit.snapshot(party, ["mediation", "side", "name", "phone", "person"]))
    return party


def record_session(actor, mediation: Mediation, *, on, place="", note="") -> MediationSession:
    """A mediation session; the first one moves the case from 受理 to 调解中."""
    _require_handler(actor, mediation)
    _not_future(on, "on", _("日期"))
    place = clean_text(place, "place", _("地点"), 100, required=False)
    note = clean_text(note, "note", _("调解记录"), 4000)
    with transaction.atomic():
        mediation = Mediation.objects.select_for_update().get(pk=mediation.pk)
        if mediation.status in CLOSED:
            raise ValidationError(_("案件已结案"))
        if on < mediation.received_on:
            raise ValidationError({"on": _("调解日期不能早于受理日期")})
        session = MediationSession.objects.create(mediation=mediation, on=on, place=place, note=note,
                                                  recorded_by=acting_user(actor))
        if mediation.status == MStatus.RECEIVED:
            mediation.status = MStatus.MEDIATING
            mediation.save(update_fields=["status"])
        audit.record(actor, "registries.mediation_session", session,
                     after=audit.snapshot(session, ["mediation", "on", "place", "note"]))
    return session


def conclude(actor, mediation: Mediation, *, status, agreement="", outcome="", on=None) -> Mediation:
    """结案: agreed (the agreement's text is required), failed or withdrawn (an outcome is required); once."""
    _require_handler(actor, mediation)
    if status not in CLOSED:
        raise ValidationError({"status": _("请选择结案方式")})
    agreement = clean_text(agreement, "agreement", _("调解协议"), 8000, required=status == MStatus.AGREED)
    outcome = clean_text(outcome, "outcome", _("结果"), 200, required=status != MStatus.AGREED)
    on = _not_future(on or timezone.localdate(), "on", _("结案日期"))
    with transaction.atomic():
        mediation = Mediation.objects.select_for_update().get(pk=mediation.pk)
        if mediation.status in CLOSED:
            raise ValidationError(_("案件已结案，不能重复结案"))
        if on < mediation.received_on:
            raise ValidationError({"on": _("结案日期不能早于受理日期")})
        mediation.status = status
        mediation.agreement = agreement if status == MStatus.AGREED else ""
        mediation.outcome = outcome
        mediation.closed_on = on
        mediation.save(update_fields=["status", "agreement", "outcome", "closed_on"])
        audit.record(actor, "registries.mediation_conclude", mediation,
                     after=audit.snapshot(mediation, ["status", "agreement", "outcome", "closed_on"]))
    return mediation
