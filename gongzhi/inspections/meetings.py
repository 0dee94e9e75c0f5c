"""Joint meetings (联席会议) of a station: the agenda is built from escalated hazards, the minutes are
recorded, and each decision becomes a task in the closed loop — a case filed and dispatched to the
responsible department through ``cases.services`` (so it has a due time, warnings and overdue
escalation like any case). Every change is audited (``inspection.meeting.*``).

Who may: ``actor=None`` (the system); whoever's jurisdiction covers the station's community, or a
member of one of its teams. A decision becomes a task without a command-center role: whoever records
it files and dispatches the case on the meeting's behalf — the joint meeting, not one dispatcher,
decided it.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import acting_user, jurisdiction

from .models import (
    EscalationStep,
    Hazard,
    HazardEvent,
    Meeting,
    MeetingDecision,
    MeetingItem,
    Station,
    TeamMember,
)


def can_manage_meeting(user, station: Station) -> bool:
    if user is None:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if jurisdiction(user).covers_path(station.area.path):
        return True
    return TeamMember.objects.filter(user_id=user.pk, team__station=station).exists()


def _check(actor, station: Station) -> None:
    if not can_manage_meeting(actor, station):
        raise PermissionDenied(_("您不是该工作站的人员，也不管辖该社区"))


def _text(value, field: str, limit: int, *, required: str | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: [required]})
    if len(value) > limit:
        raise ValidationError({field: [_("不能超过 %(n)s 个字符") % {"n": limit}]})
    return value


def agenda_hazards(station: Station):
    """Hazards of the station's premises that stand on a rung going to the joint meeting (or were
    transferred to enforcement) and were not on the agenda of a meeting already held."""
    levels = list(EscalationStep.objects.filter(goes_to_meeting=True).values_list("level", flat=True))
    rung = Q(status=Hazard.Status.TRANSFERRED) | Q(status=Hazard.Status.ESCALATED, escalation_level__in=levels)
    held = MeetingItem.objects.filter(meeting__status=Meeting.Status.HELD, hazard__isnull=False)
    return (Hazard.objects.filter(rung, premises__area_path__startswith=station.area.path)
            .exclude(pk__in=held.values("hazard_id")).select_related("premises")
            .order_by("-escalation_level", "deadline", "pk"))


def _item_title(hazard: Hazard, names: dict[int, str]) -> str:
    rung = names.get(hazard.escalation_level) or hazard.get_status_display()
    return f"{hazard.premises.name} · {hazard.item_label}（{rung}）"[:300]


def _add_hazard_item(actor, meeting: Meeting, hazard: Hazard, sort: int, names: dict[int, str]) -> MeetingItem:
    item = MeetingItem.objects.create(meeting=meeting, hazard=hazard, title=_item_title(hazard, names), sort=sort)
    HazardEvent.objects.create(hazard=hazard, kind=HazardEvent.Kind.MEETING, level=hazard.escalation_level,
                               actor=acting_user(actor), note=meeting.title[:2000])
    return item


def create_meeting(*, actor, station: Station, title: str, scheduled_at: datetime.datetime,
                   place: str = "") -> Meeting:
    """A planned meeting with its agenda: one item per hazard of ``agenda_hazards(station)``."""
    _check(actor, station)
    title = _text(title, "title", 200, required=_("请填写会议名称"))
    place = _text(place, "place", 200)
    if not isinstance(scheduled_at, datetime.datetime):
        raise ValidationError({"scheduled_at": [_("请填写会议时间")]})
    if timezone.is_naive(scheduled_at):
        scheduled_at = timezone.make_aware(scheduled_at)
    names = dict(EscalationStep.objects.values_list("level", "name"))
    with transaction.atomic():
        meeting = Meeting.objects.create(station=station, title=title, scheduled_at=scheduled_at, place=place,
                                         created_by=acting_user(actor))
        items = [_add_hazard_item(actor, meeting, hazard, sort, names)
                 for sort, hazard in enumerate(agenda_hazards(station), start=1)]
        audit.record(actor, "inspection.meeting.create", meeting,
                     after={**audit.snapshot(meeting, ["station", "title", "scheduled_at", "place"]),
                            "hazards": [i.hazard_id for i in items]})
    return meeting


def add_item(*, actor, meeting: Meeting, title: str = "", hazard: Hazard | None = None) -> MeetingItem:
    """Add a topic (optionally a hazard of the station's premises) to a meeting not yet held."""
    _check(actor, meeting.station)
    title = _text(title, "title", 300, required=None if hazard is not None else _("请填写议题"))
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status == Meeting.Status.HELD:
            raise Conflict(_("会议已召开，不能再添加议题"))
        sort = (locked.items.aggregate(m=Max("sort"))["m"] or 0) + 1
        if hazard is not None:
            if not (hazard.premises.area_path or "").startswith(locked.station.area.path):
                raise ValidationError({"hazard": [_("该隐患不属于本工作站的场所")]})
            if locked.items.filter(hazard=hazard).exists():
                raise ValidationError({"hazard": [_("该隐患已在议程中")]})
            item = _add_hazard_item(actor, locked, hazard, sort, dict(EscalationStep.objects.values_list(
                "level", "name")))
            if title:
                item.title = title
                item.save(update_fields=["title"])
        else:
            item = MeetingItem.objects.create(meeting=locked, title=title, sort=sort)
        audit.record(actor, "inspection.meeting.add_item", locked,
                     after={"item": item.pk, "title": item.title, "hazard": item.hazard_id})
    return item


def record_minutes(*, actor, meeting: Meeting, attendees: str, minutes: str) -> Meeting:
    """The meeting was held: who attended and the minutes (纪要). Once only."""
    _check(actor, meeting.station)
    attendees = _text(attendees, "attendees", 2000, required=_("请填写参会人员"))
    minutes = _text(minutes, "minutes", 20000, required=_("请填写会议纪要"))
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status == Meeting.Status.HELD:
            raise Conflict(_("会议纪要已记录，不能重复提交"))
        before = audit.snapshot(locked, ["status"])
        locked.status, locked.attendees, locked.minutes = Meeting.Status.HELD, attendees, minutes
        locked.save(update_fields=["status", "attendees", "minutes"])
        audit.record(actor, "inspection.meeting.minutes", locked, before=before,
                     after={"status": locked.status, "attendees": attendees, "minutes_chars": len(minutes)})
    return locked


def _place(meeting: Meeting, item: MeetingItem | None) -> tuple[float | None, float | None, str]:
    """Where the task is: the item's premises, else the station's community (its label point)."""
    premises = item.hazard.premises if item is not None and item.hazard_id else None
    if premises is not None and premises.lon is not None:
        return premises.lon, premises.lat, ""
    area = meeting.station.area
    if area.label_lon is not None and area.label_lat is not None:
        return area.label_lon, area.label_lat, ""
    return None, None, (premises.address if premises is not None and premises.address else area.name)


def add_decision(*, actor, meeting: Meeting, text: str, department, item: MeetingItem | None = None,
                 category=None) -> MeetingDecision:
    """A decision of a held meeting: a task for ``department``, carried out as a case filed and
    dispatched in the closed loop (category: ``category``, else an active category whose default
    department is ``department``; one is needed to file). All or nothing."""
    from gongzhi.cases import services as case_services
    from gongzhi.cases.choices import Source, Status
    from gongzhi.cases.intake import Report, report_case
    from gongzhi.cases.models import Category

    _check(actor, meeting.station)
    text = _text(text, "text", 2000, required=_("请填写决定事项"))
    if department is None or not department.is_active:
        raise ValidationError({"department": [_("请选择有效的责任部门")]})
    if item is not None and item.meeting_id != meeting.pk:
        raise ValidationError({"item": [_("该议题不属于本次会议")]})
    if category is None:
        category = Category.objects.filter(version__is_active=True, is_active=True,
                                           default_department=department).order_by("code").first()
    if category is None:
        raise ValidationError({"category": [_("请选择案件分类")]})
    lon, lat, address = _place(meeting, item)
    title = _("联席会议决定：%(text)s") % {"text": text}
    if len(title) > 100:
        title = title[:99] + "…"
    description = f"{meeting.title}\n{item.title if item else ''}\n{text}".strip()
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status != Meeting.Status.HELD:
            raise Conflict(_("会议尚未召开，请先记录会议纪要"))
        # The joint meeting decided it: whoever records the decision files and dispatches the task on
        # the meeting's behalf — no command-center role needed (the meeting's rights were checked).
        case, _created = report_case(Report(title=title, description=description, category=category, lon=lon,
                                            lat=lat, address=address, source=Source.PATROL), reporter=actor)
        note = _("联席会议决定：%(meeting)s") % {"meeting": meeting.title}
        if case.status == Status.REPORTED:
            case = case_services.file_case(case, actor=actor, category=category, note=note[:500], check_role=False)
        if case.status in (Status.FILED, Status.RETURNED):
            case = case_services.dispatch_case(case, actor=actor, department=department, note=text[:500],
                                               check_role=False)
        elif case.department_id != department.pk:
            raise ValidationError({"category": [_("该分类按派遣规则自动派遣到了其他部门，请选择其他分类")]})
        decision = MeetingDecision.objects.create(meeting=locked, item=item, text=text, department=department,
                                                  case=case)
        audit.record(actor, "inspection.meeting.decision", locked,
                     after={"decision": decision.pk, "department": department.pk, "case": case.number,
                            "item": item.pk if item else None})
    return decision
