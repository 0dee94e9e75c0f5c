"""Every change to a case is one of these named transitions (ARCHITECTURE pattern 1).

Each one: checks who may do it (``rules``) and from which state, locks the row
(``select_for_update``), re-checks the state under the lock (so of two dispatchers acting at once
one wins and the other gets a clear message), writes, appends a timeline event, and schedules
notifications with ``transaction.on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.errors import Conflict

from . import deadlines, notify, rules
from .choices import STEP_OF_STATE, TRANSITIONS, LimitUnit, LocateStatus, Rating, Status
from .models import Case, CaseEvent, CaseFollower, Extension


class TransitionError(Conflict):
    """The case is not in a state that allows this (often: someone else acted first)."""


ACTION_LABELS = {
    "report": gettext_lazy("上报"), "check": gettext_lazy("核实"), "file": gettext_lazy("立案"), "not_file": gettext_lazy("不予立案"), "withdraw": gettext_lazy("撤回"),
    "dispatch": gettext_lazy("派遣"), "accept": gettext_lazy("签收"), "return": gettext_lazy("退回"), "request_extension": gettext_lazy("申请延期"),
    "decide_extension": gettext_lazy("审批延期"), "handle": gettext_lazy("处置完成"), "verify": gettext_lazy("核查"), "rate": gettext_lazy("评价"),
    "merge": gettext_lazy("合并"), "locate": gettext_lazy("定位"), "set_urgent": gettext_lazy("标记紧急"), "warn": gettext_lazy("预警"),
    "overdue": gettext_lazy("超期"), "escalate": gettext_lazy("督办"), "reopen": gettext_lazy("重新办理"), "auto_dispatch": gettext_lazy("自动派遣"),
}


def _actor_name(actor) -> str:
    if actor is None:
        return _("系统")
    return str(actor)[:64]


def new_event(case: Case, actor, action: str, *, from_status: str = "", note: str = "",
              data: dict | None = None, department=None, at=None) -> CaseEvent:
    """A timeline row, not yet saved (``record_event`` saves one, intake saves several at once)."""
    return CaseEvent(
        case=case, actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor), action=action, from_status=from_status, to_status=case.status,
        department=department if department is not None else case.department, note=note, data=data or {},
        at=at or timezone.now(),
    )


def save_events(events: list[CaseEvent]) -> list[CaseEvent]:
    """Write timeline rows (one INSERT) and have them fanned out to the people concerned.

    Notifications are written by the worker from the unnotified events (``notifications.outbox``),
    after this transaction commits; with ``NOTIFY_INLINE`` (tests, a deployment without a worker)
    they are written right after the commit, in this process.
    """
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        CaseEvent.objects.bulk_create(events)
    notify.events_saved([event.pk for event in events if event.notified_at is None])
    return events


def record_event(case: Case, actor, action: str, *, from_status: str = "", note: str = "",
                 data: dict | None = None, department=None) -> CaseEvent:
    """Append a timeline row and notify after commit. Used by transitions and by the sweeper."""
    return save_events([new_event(case, actor, action, from_status=from_status, note=note, data=data,
                                  department=department)])[0]


def _transition(case: Case, actor, action: str, change: Callable[[Case], None], *, note: str = "",
                data: dict | None = None, check_role: bool = True) -> tuple[Case, CaseEvent]:
    """The skeleton every transition shares. ``change`` mutates the locked case (status and fields)."""
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).select_related("area", "category").get(pk=case.pk)
        # Checked on the locked row: the department or area may have changed since the caller read it.
        if check_role and not rules.allowed_by_role(actor, action, locked):
            raise PermissionDenied(_("你无权对该案件执行“%(action)s”") % {"action": ACTION_LABELS.get(action, action)})
        if locked.status not in TRANSITIONS[action]:
            raise TransitionError(
                _("案件 %(number)s 当前为“%(status)s”，不能%(action)s（可能已被他人处理，请刷新）") % {
                    "number": locked.number, "status": locked.get_status_display(),
                    "action": ACTION_LABELS.get(action, action)})
        from_status = locked.status
        change(locked)
        locked.save()
        event = record_event(locked, actor, action, from_status=from_status, note=note, data=data)
    return locked, event


def start_clock(case: Case, now) -> None:
    step = STEP_OF_STATE.get(case.status)
    if step is None:
        deadlines.stop(case)
    else:
        deadlines.schedule(case, step, now)


def _required(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: [message]})
    return text[:2000]


# --------------------------------------------------------------------------- triage


def check_case(case: Case, *, actor, confirmed: bool, note: str = "") -> Case:
    """核实: a supervisor confirms on site that a public report is real (or not)."""
    def change(c: Case) -> None:
        c.extra = {**c.extra, "checked": bool(confirmed), "checked_at": timezone.now().isoformat()}
    return _transition(case, actor, "check", change, note=note, data={"confirmed": bool(confirmed)})[0]


def file_case(case: Case, *, actor, category=None, note: str = "", urgent: bool | None = None,
              check_role: bool = True) -> Case:
    """立案: accept the report as a case; the dispatch clock starts. ``check_role=False``: the caller
    has decided who may (a joint meeting's decision, filed by whoever records it)."""
    def change(c: Case) -> None:
        if category is not None:
            c.category = category
        if c.category_id is None:
            raise ValidationError({"category": [_("立案前请选择案件分类")]})
        if urgent is not None:
            c.urgent = urgent
        now = timezone.now()
        c.status, c.filed_at = Status.FILED, now
        start_clock(c, now)
    return _transition(case, actor, "file", change, note=note, check_role=check_role)[0]


def not_file_case(case: Case, *, actor, reason: str) -> Case:
    """不予立案, with the reason the reporter will see."""
    reason = _required(reason, "reason", _("请填写不予立案的理由"))

    def change(c: Case) -> None:
        c.status = Status.NOT_FILED
        c.closed_at = timezone.now()
        deadlines.stop(c)
    return _transition(case, actor, "not_file", change, note=reason)[0]


def withdraw_case(case: Case, *, actor, reason: str = "") -> Case:
    """The reporter takes the report back before it is filed."""
    def change(c: Case) -> None:
        c.status = Status.WITHDRAWN
        c.closed_at = timezone.now()
        deadlines.stop(c)
    return _transition(case, actor, "withdraw", change, note=reason)[0]


def merge_case(case: Case, *, actor, master: Case, note: str = "") -> Case:
    """Merge a duplicate into a master case; the duplicate stops, its reporter follows the master."""
    if master.pk == case.pk or master.master_id is not None or master.status in (Status.MERGED,):
        raise ValidationError({"master": [_("不能合并到该案件")]})
    if not rules.allowed_by_role(actor, "merge", master):
        raise PermissionDenied(_("你无权处理目标案件"))

    def change(c: Case) -> None:
        c.status, c.master, c.closed_at = Status.MERGED, master, timezone.now()
        deadlines.stop(c)
        _carry_followers(c, master, actor)  # the duplicate's reporter and followers follow the master
    return _transition(case, actor, "merge", change, note=note, data={"master": master.number})[0]


def locate_case(case: Case, *, actor, area, lon: float | None = None, lat: float | None = None) -> Case:
    """Place a case from the "to be located" queue in its grid."""
    def change(c: Case) -> None:
        c.area, c.area_path, c.locate_status = area, area.path, LocateStatus.LOCATED
        if lon is not None and lat is not None:
            c.lon, c.lat = lon, lat
    return _transition(case, actor, "locate", change, data={"area": area.pk})[0]


def set_urgent(case: Case, *, actor, urgent: bool, note: str = "") -> Case:
    def change(c: Case) -> None:
        c.urgent = bool(urgent)
        if c.step_started_at and STEP_OF_STATE.get(c.status):
            deadlines.schedule(c, STEP_OF_STATE[c.status], c.step_started_at)
    return _transition(case, actor, "set_urgent", change, note=note, data={"urgent": bool(urgent)})[0]


# --------------------------------------------------------------------------- dispatch and handling


def dispatch_case(case: Case, *, actor, department, note: str = "", action: str = "dispatch",
                  check_role: bool = True) -> Case:
    """派遣 to a department; the handling clock starts (due_at in working time)."""
    if department is None or not department.is_active:
        raise ValidationError({"department": [_("请选择有效的处置部门")]})

    def change(c: Case) -> None:
        apply_dispatch(c, department, timezone.now())
    case, _event = _transition(case, actor, "dispatch", change, note=note,
                               data={"department": department.pk, "via": action}, check_role=check_role)
    return case


def apply_dispatch(case: Case, department, now) -> None:
    """The fields a dispatch sets (shared with intake's auto-dispatch of a case not yet saved)."""
    case.status, case.department, case.dispatched_at = Status.DISPATCHED, department, now
    start_clock(case, now)


def accept_case(case: Case, *, actor, note: str = "") -> Case:
    """签收: the department takes the case on; the handling clock keeps running."""
    def change(c: Case) -> None:
        c.status = Status.IN_PROGRESS
    return _transition(case, actor, "accept", change, note=note)[0]


def return_case(case: Case, *, actor, reason: str) -> Case:
    """退回: not ours (a wrong dispatch) — back to the dispatcher to re-dispatch. Counted."""
    reason = _required(reason, "reason", _("请填写退回理由"))

    def change(c: Case) -> None:
        c.status, c.department, c.return_count = Status.RETURNED, None, c.return_count + 1
        start_clock(c, timezone.now())
    return _transition(case, actor, "return", change, note=reason)[0]


def request_extension(case: Case, *, actor, amount, unit: str = LimitUnit.WORKING_DAYS, reason: str) -> Extension:
    reason = _required(reason, "reason", _("请填写延期理由"))
    try:
        amount = Decimal(str(amount))
    except (ArithmeticError, ValueError):
        raise ValidationError({"amount": [_("延期时长必须是数字")]}) from None
    if not (Decimal(0) < amount <= Decimal(365)) or unit not in LimitUnit.values:
        raise ValidationError({"amount": [_("延期时长须大于 0，最多 365")]})
    created: list[Extension] = []

    def change(c: Case) -> None:
        if c.extensions.filter(decided_at__isnull=True).exists():
            raise TransitionError(_("已有待审批的延期申请"))
        created.append(Extension.objects.create(case=c, requested_by=actor, amount=amount, unit=unit, reason=reason))
    _transition(case, actor, "request_extension", change, note=reason,
                data={"amount": str(amount), "unit": unit})
    return created[0]


def decide_extension(case: Case, *, actor, approve: bool, note: str = "") -> Case:
    """Approve (the due time moves by the amount asked) or deny a pending extension."""
    def change(c: Case) -> None:
        pending = c.extensions.select_for_update().filter(decided_at__isnull=True).first()
        if pending is None:
            raise TransitionError(_("没有待审批的延期申请"))
        pending.decided_by, pending.decided_at, pending.approved = actor, timezone.now(), bool(approve)
        if approve:
            c.due_at = deadlines.add(max(c.due_at or timezone.now(), timezone.now()), pending.amount, pending.unit)
            c.warn_at, c.warned, c.overdue = None, True, False
            c.escalation_level, c.next_escalation_at = 0, c.due_at
            pending.new_due_at = c.due_at
        pending.save()
    return _transition(case, actor, "decide_extension", change, note=note, data={"approved": bool(approve)})[0]


def handle_case(case: Case, *, actor, note: str, photos=()) -> Case:
    """处置完成: the department reports back, with photos attached to the event in the same transaction
    (every photo is checked before anything is written; a failure leaves no file behind)."""
    from . import photos as photo_store
    from .models import CasePhoto

    note = _required(note, "note", _("请填写处置情况"))
    photo_store.check_uploads(photos)

    def change(c: Case) -> None:
        now = timezone.now()
        c.status, c.handled_at = Status.HANDLED, now
        start_clock(c, now)
    with photo_store.removed_on_error(), transaction.atomic():
        case, event = _transition(case, actor, "handle", change, note=note)
        for upload in photos:
            photo_store.save_photo(case, upload, stage=CasePhoto.Stage.HANDLE, actor=actor, event=event)
    return case


def verify_case(case: Case, *, actor, passed: bool, note: str = "") -> Case:
    """核查: passed → closed 结案; failed → back to the department as rework 返工 (counted)."""
    if not passed:
        note = _required(note, "note", _("核查不通过时请说明原因"))

    def change(c: Case) -> None:
        now = timezone.now()
        if passed:
            c.status, c.closed_at = Status.CLOSED, now
        else:
            c.status, c.rework_count, c.handled_at = Status.IN_PROGRESS, c.rework_count + 1, None
        start_clock(c, now)
    return _transition(case, actor, "verify", change, note=note, data={"passed": bool(passed)})[0]


def rate_case(case: Case, *, actor, rating: str, comment: str = "", reopen: bool = False) -> Case:
    """评价 by the reporter. An unsatisfied rating may reopen the case once (CASE_REOPEN_LIMIT)."""
    from django.conf import settings

    if rating not in Rating.values:
        raise ValidationError({"rating": [_("请选择满意、基本满意或不满意")]})
    if reopen and rating != Rating.UNSATISFIED:
        raise ValidationError({"reopen": [_("只有不满意时可以要求重新办理")]})

    def change(c: Case) -> None:
        if c.rated_at is not None:
            raise TransitionError(_("该案件已评价"))
        c.rating, c.rating_comment, c.rated_at = rating, (comment or "")[:2000], timezone.now()
        if reopen:
            if c.reopen_count >= settings.CASE_REOPEN_LIMIT or c.department_id is None:
                raise ValidationError({"reopen": [_("该案件已重新办理过，不能再次重办")]})
            c.status, c.reopen_count, c.closed_at = Status.IN_PROGRESS, c.reopen_count + 1, None
            c.rating, c.rated_at = rating, None  # the final rating comes after the second round
            start_clock(c, timezone.now())
    return _transition(case, actor, "rate", change, note=comment,
                       data={"rating": rating, "reopen": bool(reopen)})[0]


# --------------------------------------------------------------------------- following (关注)

#: Follows one account may hold (merges add theirs regardless): a guard against scripted abuse.
MAX_FOLLOWS = 500


def _forget_followed(user) -> None:
    if user is not None and hasattr(user, "_gongzhi_followed"):
        del user._gongzhi_followed  # models.followed_case_ids reads it again


def _carry_followers(duplicate: Case, master: Case, actor) -> None:
    """Inside merge_case's transaction: the duplicate's reporter and its followers now follow the
    master (told of its progress, see it), except the master's own reporter."""
    from gongzhi.core import audit

    users = set(CaseFollower.objects.filter(case=duplicate).values_list("user_id", flat=True))
    if duplicate.reporter_id:
        users.add(duplicate.reporter_id)
    users.discard(master.reporter_id)
    users.discard(None)
    existing = set(CaseFollower.objects.filter(case=master, user_id__in=users).values_list("user_id", flat=True))
    new = sorted(users - existing)
    if not new:
        return
    CaseFollower.objects.bulk_create([CaseFollower(case=master, user_id=u) for u in new], ignore_conflicts=True)
    audit.record(actor, "case.follow", master, after={"users": new, "via": "merge", "from": duplicate.number},
                 note=_("合并后关注主案件"))


def follow_case(case: Case, *, user, via: str = "") -> CaseFollower:
    """关注: ``user`` follows ``case`` — sees it and is told of its progress. Idempotent.

    Who may: anybody signed in, for a case they were shown — the caller decides that (the report
    page's nearby search, the API's ``follow`` with a point near the case, or a case they already
    see). Here: the case must still be open (not ended or merged), and the reporter doesn't follow
    their own case (they are told anyway). An audit row is written; the timeline is not (nobody
    else needs to know who follows); the case page shows how many do.
    """
    from gongzhi.core import audit

    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("请先登录"))
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        existing = CaseFollower.objects.filter(case=locked, user=user).first()
        if existing is not None:
            return existing
        if locked.reporter_id == user.pk:
            raise ValidationError({"case": [_("这是你上报的案件，办理进展会通知你")]})
        if not locked.is_open:
            raise TransitionError(_("案件 %(number)s 已“%(status)s”，不能再关注") % {
                "number": locked.number, "status": locked.get_status_display()})
        if CaseFollower.objects.filter(user=user).count() >= MAX_FOLLOWS:
            raise ValidationError({"case": [_("关注的案件已达上限（%(n)s 件），请先取消一些关注") % {"n": MAX_FOLLOWS}]})
        follower = CaseFollower.objects.create(case=locked, user=user)
        audit.record(user, "case.follow", locked, after={"user": user.pk, "via": via[:20]})
    _forget_followed(user)
    return follower


def unfollow_case(case: Case, *, user) -> bool:
    """取消关注. True when a follow was removed (False: there was none). Audited."""
    from gongzhi.core import audit

    with transaction.atomic():
        deleted, _rows = CaseFollower.objects.filter(case=case, user=user).delete()
        if deleted:
            audit.record(user, "case.unfollow", case, before={"user": user.pk})
    _forget_followed(user)
    return bool(deleted)
