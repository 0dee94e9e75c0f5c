"""Community corrections (社区矫正): every write of the corrections registry (docs/registries.md).

The practice follows the "12345" model: the pre-sentence assessment and the entry announcement
(调查评估关, 入矫宣告关), three kinds of bases (公益活动, 警示教育, 过渡性安置), a periodic risk
assessment, and the five-member team of each person (五个一: a family member, a volunteer, a
community worker, a police officer and a judicial-office worker).

Life of a record: ``open_correction`` (status ASSESSMENT) → ``set_team_member`` for the five roles →
``announce`` (ACTIVE; the reporting rhythm starts) → ``record_report`` / ``assess_risk`` /
``record_service_hours`` → ``release`` or ``revoke`` (closed; no further reports).

Writers are the judicial office's staff serving the person's area (``rules.can_write``); a team
member with an account may also record reports. ``remind_due`` is called by the worker
(``tasks.reminder_job``): once per due date, claimed with a conditional UPDATE on ``alerted_for``.
Notifications and audit rows carry the person's name only, never the offence or a note.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core import audit
from gongzhi.core.forms import clean_text

from . import rules
from .models import (
    Correction,
    CorrectionReport,
    PlacementBase,
    Registry,
    RiskAssessment,
    ServiceHours,
    TeamMember,
)

Status = Correction.Status
Role = TeamMember.Role

#: the five roles of the team (五个一); all of them must be filled before the entry announcement
FIVE_ROLES: tuple[str, ...] = tuple(Role.values)

#: report kinds that meet the reporting duty (move ``next_report_due`` forward)
DUTY_KINDS = frozenset({CorrectionReport.Kind.CHECK_IN, CorrectionReport.Kind.PHONE})

MAX_TERM_YEARS = 10
MAX_REPORT_EVERY_DAYS = 90

#: The risk-assessment table (rules are data, ARCHITECTURE pattern 7). Each factor is scored from 0
#: (no risk) to its maximum; the maxima add up to 100. The total decides the level:
#:   total < 30          → low    (低风险: the usual reporting rhythm)
#:   30 <= total < 60    → medium (中风险: closer supervision, more frequent contact)
#:   total >= 60         → high   (高风险: intensive supervision, case conference)
RISK_FACTORS: dict[str, tuple[object, int]] = {
    "offence": (gettext_lazy("犯罪类型与情节"), 20),
    "prior": (gettext_lazy("前科劣迹"), 15),
    "family": (gettext_lazy("家庭支持"), 15),
    "employment": (gettext_lazy("就业与生活来源"), 15),
    "attitude": (gettext_lazy("认罪悔罪态度"), 20),
    "mental": (gettext_lazy("心理与精神状态"), 15),
}
#: (lowest total, level), highest first
RISK_LEVELS: tuple[tuple[int, str], ...] = (
    (60, RiskAssessment.Level.HIGH),
    (30, RiskAssessment.Level.MEDIUM),
    (0, RiskAssessment.Level.LOW),
)

#: legal grounds for revocation (收监执行), stored as a code in the audit row — never free text
REVOKE_REASONS: dict[str, object] = {
    "violation": gettext_lazy("违反监督管理规定，情节严重"),
    "prohibition": gettext_lazy("违反禁止令，情节严重"),
    "absconded": gettext_lazy("脱离监管"),
    "new_offence": gettext_lazy("重新犯罪或发现漏罪"),
    "medical": gettext_lazy("暂予监外执行情形消失"),
    "other": gettext_lazy("其他法定情形"),
}

PHONE_RE = re.compile(r"^[0-9+\-\s]{5,20}$")

_FIELDS = ["person", "department", "kind", "offence", "term_start", "term_end", "status", "announced_on",
           "report_every_days", "next_report_due", "closed_on"]


# ------------------------------------------------------------------------------ guards


def _today() -> datetime.date:
    return timezone.localdate()


def _require_writer(actor, area) -> None:
    if not rules.can_write(actor, Registry.CORRECTIONS, area):
        raise PermissionDenied(_("只有服务该区域的司法所工作人员可以办理社区矫正"))


def _is_team_member(actor, correction: Correction) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False)
                and correction.team.filter(user=actor).exists())


def may_write(actor, correction: Correction) -> bool:
    return rules.can_write(actor, Registry.CORRECTIONS, correction.person.area)


def may_report(actor, correction: Correction) -> bool:
    return may_write(actor, correction) or _is_team_member(actor, correction)


def _date(value, field: str, label: str) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationError({field: _("%(label)s格式不正确") % {"label": label}})
    return value


def _not_future(value: datetime.date, field: str, label: str) -> datetime.date:
    _date(value, field, label)
    if value > _today():
        raise ValidationError({field: _("%(label)s不能晚于今天") % {"label": label}})
    return value


def _locked(correction: Correction) -> Correction:
    return Correction.objects.select_for_update().select_related("person__area").get(pk=correction.pk)


def _open_statuses(correction: Correction, allowed, message) -> None:
    if correction.status not in allowed:
        raise ValidationError(message)


def serves(department, area) -> bool:
    """Does an active judicial department serve this area (one of its areas at or above it)?"""
    if department is None or department.kind != "judicial" or not department.is_active:
        return False
    return any(area.path.startswith(p) for p in department.areas.values_list("path", flat=True))


# ------------------------------------------------------------------------------ the record


def open_correction(actor, person, *, department, kind, offence, term_start, term_end,
                    report_every_days=7) -> Correction:
    """Register a person under community correction (status 调查评估 until the entry announcement)."""
    _require_writer(actor, person.area)
    if not serves(department, person.area):
        raise ValidationError({"department": _("请选择服务该人员所在区域的司法所")})
    if kind not in Correction.Kind.values:
        raise ValidationError({"kind": _("请选择矫正类别")})
    offence = clean_text(offence, "offence", _("罪名与刑期"), 2000)
    _date(term_start, "term_start", _("矫正起始日"))
    _date(term_end, "term_end", _("矫正期满日"))
    if term_end < term_start:
        raise ValidationError({"term_end": _("矫正期满日不能早于起始日")})
    if (term_end - term_start).days > MAX_TERM_YEARS * 366:
        raise ValidationError({"term_end": _("矫正期限过长，请核对日期")})
    try:
        every = int(report_every_days)
    except (TypeError, ValueError):
        every = 0
    if not 1 <= every <= MAX_REPORT_EVERY_DAYS:
        raise ValidationError({"report_every_days": _("报到周期应为 1 至 %(n)s 天") % {"n": MAX_REPORT_EVERY_DAYS}})
    with transaction.atomic():
        type(person).objects.select_for_update().filter(pk=person.pk).first()  # one opening at a time per person
        if Correction.objects.filter(person=person, status__in=[Status.ASSESSMENT, Status.ACTIVE]).exists():
            raise ValidationError(_("该人员已有未结束的社区矫正记录"))
        correction = Correction.objects.create(
            person=person, department=department, kind=kind, offence=offence, term_start=term_start,
            term_end=term_end, report_every_days=every)
        audit.record(actor, "registries.correction_open", correction, after=audit.snapshot(correction, _FIELDS))
    return correction


def set_team_member(actor, correction: Correction, *, role, name, user=None, phone="") -> TeamMember:
    """Fill (or replace) one of the five roles of the correction team."""
    _require_writer(actor, correction.person.area)
    if role not in FIVE_ROLES:
        raise ValidationError({"role": _("请选择小组角色")})
    name = clean_text(name, "name", _("姓名"), 64)
    phone = clean_text(phone, "phone", _("联系电话"), 20, required=False)
    if phone and not PHONE_RE.match(phone):
        raise ValidationError({"phone": _("联系电话格式不正确")})
    if user is not None and not user.is_active:
        raise ValidationError({"user": _("该账号已停用")})
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ASSESSMENT, Status.ACTIVE), _("矫正已结束，不能再调整矫正小组"))
        member, created = TeamMember.objects.update_or_create(
            correction=correction, role=role, defaults={"name": name, "user": user, "phone": phone})
        audit.record(actor, "registries.correction_team_set", member,
                     after=audit.snapshot(member, ["correction", "role", "name", "user", "phone"]),
                     note="" if created else "replaced")
    return member


def missing_roles(correction: Correction) -> list[str]:
    filled = set(correction.team.values_list("role", flat=True))
    return [r for r in FIVE_ROLES if r not in filled]


def announce(actor, correction: Correction, *, on, record) -> Correction:
    """The entry announcement (入矫宣告): only with all five team roles filled; reporting starts."""
    _require_writer(actor, correction.person.area)
    _not_future(on, "on", _("宣告日期"))
    record = clean_text(record, "record", _("宣告记录"), 4000)
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ASSESSMENT,), _("只有调查评估中的对象可以入矫宣告"))
        missing = missing_roles(correction)
        if missing:
            labels = "、".join(str(Role(r).label) for r in missing)
            raise ValidationError(_("矫正小组（五个一）尚未配齐：缺少%(roles)s") % {"roles": labels})
        if on < correction.term_start - datetime.timedelta(days=30) or on > correction.term_end:
            raise ValidationError({"on": _("宣告日期应在矫正期限内")})
        correction.status = Status.ACTIVE
        correction.announced_on = on
        correction.announcement = record
        correction.next_report_due = on + datetime.timedelta(days=correction.report_every_days)
        correction.save(update_fields=["status", "announced_on", "announcement", "next_report_due"])
        audit.record(actor, "registries.correction_announce", correction,
                     after=audit.snapshot(correction, ["status", "announced_on", "announcement", "next_report_due"]))
    return correction


def record_report(actor, correction: Correction, *, kind, on, note="") -> CorrectionReport:
    """A duty met (报到, 电话报告, 思想汇报, 外出请假). A check-in or phone report moves the next
    due date to ``on`` + the reporting period (never backwards)."""
    if not may_report(actor, correction):
        raise PermissionDenied(_("只有司法所工作人员或矫正小组成员可以登记报到"))
    if kind not in CorrectionReport.Kind.values:
        raise ValidationError({"kind": _("请选择报到类型")})
    _not_future(on, "on", _("日期"))
    note = clean_text(note, "note", _("内容"), 4000, required=False)
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ACTIVE,), _("只有在矫对象可以登记报到"))
        if correction.announced_on and on < correction.announced_on:
            raise ValidationError({"on": _("日期不能早于入矫宣告日")})
        report = CorrectionReport.objects.create(correction=correction, kind=kind, on=on, note=note,
                                                 recorded_by=actor if getattr(actor, "is_authenticated", False)
                                                 else None)
        if kind in DUTY_KINDS:
            due = on + datetime.timedelta(days=correction.report_every_days)
            if correction.next_report_due is None or due > correction.next_report_due:
                correction.next_report_due = due
                correction.save(update_fields=["next_report_due"])
        audit.record(actor, "registries.correction_report", report,
                     after={**audit.snapshot(report, ["correction", "kind", "on", "note"]),
                            "next_report_due": correction.next_report_due.isoformat()
                            if correction.next_report_due else None})
    return report


# ------------------------------------------------------------------------------ risk


def risk_level(total: int) -> str:
    for lowest, level in RISK_LEVELS:
        if total >= lowest:
            return level
    return RiskAssessment.Level.LOW


def check_scores(scores) -> dict[str, int]:
    """Every factor of ``RISK_FACTORS`` scored with a whole number from 0 to its maximum."""
    if not isinstance(scores, dict):
        raise ValidationError({"scores": _("评分格式不正确")})
    unknown = sorted(str(k) for k in scores if k not in RISK_FACTORS)
    if unknown:
        raise ValidationError({"scores": _("未知的评估因素：%(names)s") % {"names": "、".join(unknown)[:100]}})
    clean: dict[str, int] = {}
    for code, (label, top) in RISK_FACTORS.items():
        if code not in scores or scores[code] in (None, ""):
            raise ValidationError({"scores": _("请为“%(label)s”评分") % {"label": label}})
        value = scores[code]
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError({"scores": _("“%(label)s”的得分应为整数") % {"label": label}}) from None
        if not 0 <= number <= top:
            raise ValidationError({"scores": _("“%(label)s”的得分应在 0 至 %(max)s 之间") % {"label": label, "max": top}})
        clean[code] = number
    return clean


def assess_risk(actor, correction: Correction, *, on, scores, note="") -> RiskAssessment:
    """A periodic risk assessment: factor scores, their sum, the level by ``RISK_LEVELS``."""
    _require_writer(actor, correction.person.area)
    _not_future(on, "on", _("评估日期"))
    clean = check_scores(scores)
    note = clean_text(note, "note", _("评估意见"), 4000, required=False)
    total = sum(clean.values())
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ASSESSMENT, Status.ACTIVE), _("矫正已结束，不能再评估"))
        assessment = RiskAssessment.objects.create(
            correction=correction, assessed_on=on, scores=clean, total=total, level=risk_level(total), note=note,
            assessed_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "registries.correction_assess", assessment,
                     after=audit.snapshot(assessment, ["correction", "assessed_on", "scores", "total", "level"]))
    return assessment


# ------------------------------------------------------------------------------ public service


def month_hours(correction: Correction, year: int, month: int) -> Decimal:
    total = (correction.service_hours.filter(on__year=year, on__month=month)
             .aggregate(total=Sum("hours"))["total"])
    return total or Decimal("0")


def hours_this_month(correction: Correction, today: datetime.date | None = None) -> tuple[Decimal, Decimal]:
    """(hours done this month, hours required per month)."""
    today = today or _today()
    return month_hours(correction, today.year, today.month), correction.service_hours_monthly


def record_service_hours(actor, correction: Correction, *, base, on, hours, activity="") -> ServiceHours:
    _require_writer(actor, correction.person.area)
    _not_future(on, "on", _("日期"))
    try:
        hours = Decimal(str(hours)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"hours": _("时长格式不正确")}) from None
    if not Decimal("0") < hours <= Decimal("24"):
        raise ValidationError({"hours": _("时长应大于 0 且不超过 24 小时")})
    activity = clean_text(activity, "activity", _("活动内容"), 100, required=False)
    if base is not None:
        if not base.is_active:
            raise ValidationError({"base": _("该基地已停用")})
        if not rules.can_write(actor, Registry.CORRECTIONS, base.area):
            raise ValidationError({"base": _("请选择本辖区的基地")})
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ACTIVE,), _("只有在矫对象可以登记公益活动"))
        done = month_hours(correction, on.year, on.month)
        if done + hours > Decimal("24") * 31:
            raise ValidationError({"hours": _("本月时长不合理，请核对")})
        row = ServiceHours.objects.create(correction=correction, base=base, on=on, hours=hours, activity=activity,
                                          recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "registries.correction_hours", row,
                     after=audit.snapshot(row, ["correction", "base", "on", "hours", "activity"]))
    return row


def create_base(actor, *, area, name, kind, address="", contact="") -> PlacementBase:
    """A base (公益活动基地, 警示教育基地, 过渡性安置基地): an organisation's details, not a person's."""
    _require_writer(actor, area)
    if kind not in PlacementBase.Kind.values:
        raise ValidationError({"kind": _("请选择基地类型")})
    name = clean_text(name, "name", _("名称"), 100)
    address = clean_text(address, "address", _("地址"), 200, required=False)
    contact = clean_text(contact, "contact", _("联系人"), 64, required=False)
    with transaction.atomic():
        base = PlacementBase.objects.create(area=area, name=name, kind=kind, address=address, contact=contact)
        audit.record(actor, "registries.base_create", base, after=audit.snapshot(base))
    return base


# ------------------------------------------------------------------------------ closing


def _close(actor, correction: Correction, on, status: str, verb: str, extra: dict | None = None) -> Correction:
    _require_writer(actor, correction.person.area)
    _not_future(on, "on", _("日期"))
    with transaction.atomic():
        correction = _locked(correction)
        _open_statuses(correction, (Status.ACTIVE,), _("只有在矫对象可以解除矫正或收监执行"))
        if correction.announced_on and on < correction.announced_on:
            raise ValidationError({"on": _("日期不能早于入矫宣告日")})
        correction.status = status
        correction.closed_on = on
        correction.next_report_due = None
        correction.save(update_fields=["status", "closed_on", "next_report_due"])
        audit.record(actor, f"registries.correction_{verb}", correction,
                     after={**audit.snapshot(correction, ["status", "closed_on"]), **(extra or {})})
    return correction


def release(actor, correction: Correction, on) -> Correction:
    """解除矫正 (the term served): closed, no further reports or reminders."""
    return _close(actor, correction, on, Status.RELEASED, "release")


def revoke(actor, correction: Correction, on, reason) -> Correction:
    """收监执行 for one of the legal grounds in ``REVOKE_REASONS`` (kept as its code)."""
    if reason not in REVOKE_REASONS:
        raise ValidationError({"reason": _("请选择收监执行的法定事由")})
    return _close(actor, correction, on, Status.REVOKED, "revoke", {"reason": reason})


# ------------------------------------------------------------------------------ the worker


def _recipients(correction: Correction) -> list[int]:
    from gongzhi.orgs.models import Staff

    staff = Staff.objects.filter(department_id=correction.department_id, user__is_active=True)
    ids = set(staff.values_list("user_id", flat=True))
    ids.update(correction.team.filter(user__isnull=False, user__is_active=True).values_list("user_id", flat=True))
    return sorted(ids)


def remind_due(now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Active corrections whose report is due (``next_report_due`` <= today) and not yet alerted for
    that date: one notification to the judicial office's staff and the team members with accounts.
    Two workers never send twice: each row is claimed with a conditional UPDATE on ``alerted_for``."""
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    today = timezone.localdate(now or timezone.now())
    due = (Correction.objects.filter(status=Status.ACTIVE, next_report_due__lte=today)
           .exclude(alerted_for=F("next_report_due"))
           .order_by("next_report_due", "pk").values_list("pk", "next_report_due")[:limit])
    told = 0
    for pk, due_on in list(due):
        with transaction.atomic():
            claimed = (Correction.objects.filter(pk=pk, status=Status.ACTIVE, next_report_due=due_on)
                       .exclude(alerted_for=due_on).update(alerted_for=due_on))
            if claimed != 1:
                continue
            correction = Correction.objects.select_related("person").get(pk=pk)
            users = _recipients(correction)
            name = correction.person.name
            title = _("社区矫正报到提醒：%(name)s") % {"name": name}
            body = _("%(name)s 的报到截止日为 %(date)s，请督促其按时报到并登记。") % {
                "name": name, "date": due_on.isoformat()}
            url = reverse("registries:correction", args=[pk])
            Notification.objects.bulk_create([
                Notification(user_id=u, kind="registries.correction_due", title=title[:200], body=body[:2000], url=url)
                for u in users])
            told += 1
    return told

