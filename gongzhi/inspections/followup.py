"""Follow-up of the joint inspections (回头看): re-inspections, the escalation ladder, findings
outside the premises' scope. Every change checks who may make it, writes an audit row
(``inspection.*``) and — where a hazard changes — a ``HazardEvent`` row.

- ``schedule_reinspection(notice, round, due_at)`` — one row per (notice, round), never doubled
  (``get_or_create`` on the unique constraint: of two callers at once one inserts, the other
  waits for it on the unique index, gets the ``IntegrityError`` inside a savepoint and reads the
  row the first one committed).
- ``reinspect(actor=, reinspection=, fixed=, note=)`` — the hazards in ``fixed`` close; every other
  hazard of the notice still open or escalated is "not fixed" and climbs one rung (``escalate``).
  The re-inspection is done; if hazards remain open, the next round is scheduled at the earliest
  new deadline. A done or cancelled re-inspection again → ``Conflict`` (the row is locked: of two
  people submitting at once, one wins).
- ``escalate(actor=, hazard=, note=)`` — the next rung of the ladder (``EscalationStep``, data: the
  next higher level, levels need not be contiguous): new deadline in working days; a rung that
  ``transfers`` ends the follow-up (status transferred); past the last rung → ``Conflict``.
- ``report_finding(actor=, visit=, title=, …)`` — something seen outside the premises' scope
  becomes a case in the closed loop (``cases.intake.report_case``, source patrol).
- ``repeat_offenders`` — see ``queries.repeat_offenders`` (re-exported here).

Who may follow up a notice (re-inspect, escalate): ``actor=None`` (the system), a member of a team
of the premises' station, staff of the notice's (hazard's) department, or whoever's jurisdiction
covers the premises.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit, calendar
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import acting_user, jurisdiction
from gongzhi.orgs.models import Staff

from . import services
from .models import EscalationStep, Hazard, HazardEvent, Notice, Reinspection, TeamMember, VisitFinding
from .queries import repeat_offenders  # noqa: F401 - part of this module's interface (see the docstring)

#: Hazards the follow-up still acts on.
ACTIVE = (Hazard.Status.OPEN, Hazard.Status.ESCALATED)


def path_ids(path: str) -> list[int]:
    """The area ids on a materialised path like ``/1/4/9/``."""
    return [int(part) for part in (path or "").strip("/").split("/") if part.isdigit()]


def is_station_member(user, premises) -> bool:
    """Is ``user`` a member of a team of the station whose community holds ``premises``?"""
    if user is None or not premises.area_id:
        return False
    return TeamMember.objects.filter(user_id=user.pk, team__station__area_id__in=path_ids(premises.area_path)).exists()


def can_follow_up(user, premises, department_id: int) -> bool:
    if user is None:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if Staff.objects.filter(department_id=department_id, user_id=user.pk).exists():
        return True
    if premises.area_id and jurisdiction(user).covers_path(premises.area_path):
        return True
    return is_station_member(user, premises)


def can_reinspect(user, notice: Notice) -> bool:
    return can_follow_up(user, notice.visit.premises, notice.department_id)


def can_escalate(user, hazard: Hazard) -> bool:
    return can_follow_up(user, hazard.premises, hazard.department_id)


def step_names() -> dict[int, str]:
    """Ladder level → the rung's name (for pages: "已升级：提醒")."""
    return dict(EscalationStep.objects.values_list("level", "name"))


# --------------------------------------------------------------------------------------------
# Re-inspections
# --------------------------------------------------------------------------------------------


def status_label(hazard: Hazard, names: dict[int, str]) -> str:
    """"已整改", "待整改", "已升级：提醒", "已移交执法" (``names``: ``step_names()``)."""
    if hazard.status == Hazard.Status.ESCALATED and hazard.escalation_level in names:
        return _("%(status)s：%(step)s") % {"status": hazard.get_status_display(),
                                           "step": names[hazard.escalation_level]}
    return hazard.get_status_display()


def schedule_reinspection(notice: Notice, round: int, due_at: datetime.datetime, *, actor=None) -> Reinspection:  # noqa: A002
    """The re-inspection of ``notice`` in ``round`` at ``due_at``; an existing one (whatever its
    status) is returned unchanged, so scheduling twice — even at the same moment — never doubles."""
    if actor is not None and not can_reinspect(actor, notice):
        raise PermissionDenied(_("您无权安排该整改通知书的复查"))
    if not isinstance(round, int) or round < 1:
        raise ValidationError({"round": [_("复查轮次必须是正整数")]})
    with transaction.atomic():
        reinspection, created = Reinspection.objects.get_or_create(notice=notice, round=round,
                                                                  defaults={"due_at": due_at})
        if created:
            audit.record(actor, "inspection.reinspection.schedule", reinspection,
                         after={"notice": notice.pk, "round": round, "due_at": due_at.isoformat()})
    return reinspection


def _hazard_ids(fixed: Iterable, allowed: set[int]) -> set[int]:
    ids: set[int] = set()
    for value in fixed or ():
        if isinstance(value, Hazard):
            pk = value.pk
        else:
            try:
                pk = int(value)
            except (TypeError, ValueError):
                raise ValidationError({"fixed": [_("所选隐患无效")]}) from None
        if pk not in allowed:
            raise ValidationError({"fixed": [_("所选隐患不属于该整改通知书")]})
        ids.add(pk)
    return ids


def _close(hazard: Hazard, actor, now, note: str) -> None:
    """Close a locked hazard found fixed (as services.mark_fixed, inside the caller's transaction)."""
    before = audit.snapshot(hazard, ["status", "fixed_at", "fixed_by"])
    hazard.status, hazard.fixed_at, hazard.fixed_by = Hazard.Status.FIXED, now, acting_user(actor)
    hazard.save(update_fields=["status", "fixed_at", "fixed_by"])
    HazardEvent.objects.create(hazard=hazard, kind=HazardEvent.Kind.FIXED, level=hazard.escalation_level, at=now,
                               actor=acting_user(actor), note=note[:2000])
    audit.record(actor, "inspection.hazard.fix", hazard, before=before,
                 after=audit.snapshot(hazard, ["status", "fixed_at", "fixed_by"]), note=note[:500])


def reinspect(*, actor, reinspection: Reinspection, fixed, note: str = "") -> Reinspection:
    """Record a re-inspection's outcome (see the module's docstring). ``fixed``: the notice's hazards
    (objects or primary keys) found fixed. Returns the re-inspection, now done."""
    notice = Notice.objects.select_related("visit__premises").get(pk=reinspection.notice_id)
    if not can_reinspect(actor, notice):
        raise PermissionDenied(_("您不是该场所工作站的检查人员、责任部门人员，也不管辖该场所"))
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": [_("复查说明不能超过 2000 个字符")]})
    fixed_ids = _hazard_ids(fixed, set(notice.hazards.values_list("pk", flat=True)))
    now = timezone.now()
    with transaction.atomic():
        locked = Reinspection.objects.select_for_update().get(pk=reinspection.pk)
        if locked.status == Reinspection.Status.DONE:
            raise Conflict(_("该复查已于 %(at)s 完成，不能重复提交") % {
                "at": timezone.localtime(locked.done_at).strftime("%Y-%m-%d %H:%M") if locked.done_at else ""})
        if locked.status == Reinspection.Status.CANCELLED:
            raise Conflict(_("该复查已取消"))
        hazards = list(Hazard.objects.select_for_update(of=("self",)).filter(notices=notice).order_by("pk"))
        outcome = {"fixed": [], "not_fixed": []}
        for hazard in hazards:
            if hazard.status not in ACTIVE:
                continue  # fixed or transferred earlier: nothing to re-inspect
            if hazard.pk in fixed_ids:
                _close(hazard, actor, now, note)
                outcome["fixed"].append(hazard.pk)
            else:
                HazardEvent.objects.create(hazard=hazard, kind=HazardEvent.Kind.NOT_FIXED,
                                           level=hazard.escalation_level, at=now, actor=acting_user(actor),
                                           note=note[:2000])
                outcome["not_fixed"].append(hazard.pk)
                _climb(actor, hazard, "", now, locked.pk)  # the note is on the not-fixed row
        before = audit.snapshot(locked, ["status", "done_at", "done_by", "note"])
        locked.status, locked.done_at, locked.done_by, locked.note = Reinspection.Status.DONE, now, acting_user(actor), note
        locked.save(update_fields=["status", "done_at", "done_by", "note"])
        remaining = [h for h in hazards if h.status in ACTIVE]
        nxt = None
        if remaining:
            nxt = schedule_reinspection(notice, locked.round + 1, min(h.deadline for h in remaining))
        audit.record(actor, "inspection.reinspection.done", locked, before=before,
                     after={**audit.snapshot(locked, ["status", "done_at", "done_by"]), **outcome,
                            "next": nxt.pk if nxt else None}, note=note[:500])
    return locked


def _climb(actor, hazard: Hazard, note: str, now, keep: int) -> None:
    """A locked hazard not fixed at re-inspection climbs one rung. At the top of a ladder without a
    transfer rung it stays there with a new deadline of that rung's days (it cannot climb further)."""
    try:
        _escalate_locked(actor, hazard, note, now, keep)
    except Conflict:
        step = EscalationStep.objects.filter(level=hazard.escalation_level).first()
        days = step.rectification_days if step else hazard.rectification_days
        before = audit.snapshot(hazard, ["deadline"])
        hazard.deadline = calendar.add_working_days(now, days)
        hazard.save(update_fields=["deadline"])
        audit.record(actor, "inspection.hazard.extend", hazard, before=before, after=audit.snapshot(hazard, ["deadline"]),
                     note=_("已在升级阶梯的最高一级，重新给予整改期限"))


# --------------------------------------------------------------------------------------------
# The ladder
# --------------------------------------------------------------------------------------------


def next_step(hazard: Hazard) -> EscalationStep | None:
    return EscalationStep.objects.filter(level__gt=hazard.escalation_level).order_by("level").first()


def escalate(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """One rung up the ladder for an open or escalated hazard (see the module's docstring)."""
    if not can_escalate(actor, hazard):
        raise PermissionDenied(_("您不是责任部门人员，也不管辖该场所"))
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": [_("说明不能超过 2000 个字符")]})
    with transaction.atomic():
        locked = Hazard.objects.select_for_update().get(pk=hazard.pk)
        _escalate_locked(actor, locked, note, timezone.now())
    return locked


def _escalate_locked(actor, hazard: Hazard, note: str, now, keep: int | None = None) -> None:
    if hazard.status == Hazard.Status.FIXED:
        raise Conflict(_("该隐患已整改，不能升级"))
    if hazard.status == Hazard.Status.TRANSFERRED:
        raise Conflict(_("该隐患已移交执法，不能再升级"))
    step = next_step(hazard)
    if step is None:
        raise Conflict(_("该隐患已在升级阶梯的最高一级，不能再升级"))
    fields = ["status", "escalation_level", "deadline"]
    before = audit.snapshot(hazard, fields)
    hazard.escalation_level = step.level
    text = step.name + (f"：{note}" if note else "")
    if step.transfers:
        hazard.status = Hazard.Status.TRANSFERRED
        kind = HazardEvent.Kind.TRANSFERRED
    else:
        hazard.status = Hazard.Status.ESCALATED
        hazard.deadline = calendar.add_working_days(now, step.rectification_days)
        kind = HazardEvent.Kind.ESCALATED
    hazard.save(update_fields=fields)
    HazardEvent.objects.create(hazard=hazard, kind=kind, level=step.level, at=now, actor=acting_user(actor),
                               note=text[:2000])
    audit.record(actor, "inspection.hazard.transfer" if step.transfers else "inspection.hazard.escalate", hazard,
                 before=before, after={**audit.snapshot(hazard, fields), "step": step.code}, note=note[:500])
    _tell_department(hazard, step)
    if step.transfers:
        _cancel_settled(actor, hazard, keep)


def remind_due(now: datetime.datetime | None = None, limit: int = 200) -> int:
    """The worker: each re-inspection that has fallen due is announced once — a message (消息) to the
    visiting team's members and the notice's department staff, linking to the re-inspection form.
    Claimed with a conditional UPDATE, so two workers never send it twice. Returns how many."""
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    now = now or timezone.now()
    due = list(Reinspection.objects.filter(status=Reinspection.Status.DUE, due_at__lte=now, reminded_at__isnull=True)
               .order_by("due_at", "pk").values_list("pk", flat=True)[:limit])
    told = 0
    for pk in due:
        with transaction.atomic():
            if Reinspection.objects.filter(pk=pk, status=Reinspection.Status.DUE,
                                           reminded_at__isnull=True).update(reminded_at=now) != 1:
                continue  # another worker took it, or it was done meanwhile
            due_one = Reinspection.objects.select_related("notice__visit__premises").get(pk=pk)
            notice = due_one.notice
            users = set(Staff.objects.filter(department_id=notice.department_id, user__is_active=True)
                        .values_list("user_id", flat=True))
            users |= set(TeamMember.objects.filter(team_id=notice.visit.team_id, user__is_active=True)
                         .values_list("user_id", flat=True))
            title = (_("待复查：%(premises)s") % {"premises": notice.visit.premises.name})[:200]
            body = _("%(number)s 的整改期限已到（%(deadline)s），请回头看复查") % {
                "number": notice.number, "deadline": timezone.localtime(due_one.due_at).strftime("%Y-%m-%d %H:%M")}
            url = reverse("inspections:reinspection", args=[pk])
            Notification.objects.bulk_create([Notification(user_id=u, kind="inspection_reinspection_due", title=title,
                                                           body=body, url=url) for u in sorted(users)])
            told += 1
    return told


def reminder_job(now: datetime.datetime | None = None) -> str | None:
    """For the worker's loop (``gongzhi worker``): ``remind_due``'s one-line summary, or None."""
    told = remind_due(now)
    return f"inspections: {told} re-inspections announced" if told else None


def _tell_department(hazard: Hazard, step: EscalationStep) -> None:
    """An inbox message (消息) for every active staff member of the hazard's department: it climbed a
    rung, with its new deadline — in the same transaction as the change."""
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    premises = hazard.premises
    if step.transfers:
        body = _("%(premises)s · %(item)s：已移交执法") % {"premises": premises.name, "item": hazard.item_label}
    else:
        body = _("%(premises)s · %(item)s：新的整改期限 %(deadline)s") % {
            "premises": premises.name, "item": hazard.item_label,
            "deadline": timezone.localtime(hazard.deadline).strftime("%Y-%m-%d %H:%M")}
    title = (_("隐患升级：%(step)s") % {"step": step.name})[:200]
    url = reverse("inspections:hazard", args=[hazard.pk])
    users = Staff.objects.filter(department_id=hazard.department_id, user__is_active=True).values_list(
        "user_id", flat=True).distinct()
    Notification.objects.bulk_create([Notification(user_id=u, kind="inspection_escalated", title=title,
                                                   body=body[:2000], url=url) for u in users])


def _cancel_settled(actor, hazard: Hazard, keep: int | None) -> None:
    """A transferred hazard is no longer re-inspected: a due re-inspection of a notice with nothing
    left to look at is cancelled (``keep``: the one being submitted, which its caller marks done)."""
    for notice in hazard.notices.all():
        if notice.hazards.filter(status__in=ACTIVE).exists():
            continue
        # skip_locked: one being submitted right now is its submitter's (no lock-order deadlock with reinspect).
        for due in Reinspection.objects.select_for_update(skip_locked=True).filter(
                notice=notice, status=Reinspection.Status.DUE):
            if due.pk != keep:
                due.status = Reinspection.Status.CANCELLED
                due.save(update_fields=["status"])
                audit.record(actor, "inspection.reinspection.cancel", due, after={"status": due.status},
                             note=_("隐患均已整改或移交执法"))


# --------------------------------------------------------------------------------------------
# Findings outside the premises' scope
# --------------------------------------------------------------------------------------------


def report_finding(*, actor, visit, title: str, description: str = "", category=None, lon=None, lat=None,
                   photos=()):
    """A problem seen during ``visit`` outside the premises' scope (an abandoned car outside) becomes
    a case in the closed loop (source: patrol), located at the premises' point unless ``lon``/``lat``
    are given. Returns the case. Bad input → ``ValidationError`` in Chinese, nothing stored."""
    from gongzhi.cases.choices import Source
    from gongzhi.cases.intake import Report, report_case

    premises = visit.premises
    if not services.can_record_visit(actor, visit.team, premises):
        raise PermissionDenied(_("您不是该检查小组成员，且该场所不在您的管辖范围内"))
    if lon is None and lat is None:
        lon, lat = premises.lon, premises.lat
    for name, value in (("lon", lon), ("lat", lat)):
        if value is not None and not isinstance(value, int | float):
            raise ValidationError({name: [_("经纬度必须是数字")]})
    report = Report(title=title or "", description=description or "", category=category, lon=lon, lat=lat,
                    address=premises.address if lon is None else "", source=Source.PATROL, photos=list(photos or ()))
    if not report.address and lon is None:
        report.address = premises.name
    with transaction.atomic():
        case, _created = report_case(report, reporter=actor)
        finding = VisitFinding.objects.create(visit=visit, case=case)
        audit.record(actor, "inspection.finding.report", finding,
                     after={"visit": visit.pk, "case": case.number, "title": case.title})
    return case
