"""Every write of the joint inspections; each leaves an audit row (``inspection.*``) and checks who
may do it. Pages, the API and commands (later slices) call these and nothing else.

- ``create_station(actor, area, name)`` — one 星火工作站 per community.
- ``create_team(actor, station, name, members=())`` / ``add_member(actor, team, user, department)`` —
  one member per participating department; the member must be staff of that department.
  ``remove_member(actor, team, member)``, ``set_team_active(actor, team, active)``.
- ``record_visit(actor, team, premises, version, answers, …)`` — checks the answers with
  ``checklists.services.validate_answers`` (errors → ``ValidationError`` with the messages, nothing
  stored), then in one transaction: the visit, one ``Hazard`` per failed item (owned by the team's
  member department of the item's kind), one numbered ``Notice`` per department involved.
- ``mark_fixed(actor, hazard)`` — at re-inspection.

Who may: ``actor=None`` is the system (commands, the demo). Stations and teams: whoever's
jurisdiction covers the community. A visit: a member of the team, or whoever's jurisdiction covers
the premises. ``mark_fixed``: staff of the hazard's department, or whoever covers the premises.
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.cases import photos as case_photos
from gongzhi.checklists.models import ChecklistVersion
from gongzhi.checklists.services import failed_items, validate_answers
from gongzhi.core import audit, calendar
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import jurisdiction
from gongzhi.orgs.models import Department, Staff

from . import plans
from .models import (
    Hazard,
    HazardEvent,
    Notice,
    NoticeSequence,
    Reinspection,
    Station,
    Team,
    TeamMember,
    Visit,
    VisitPhoto,
)

COMMUNITY_LEVEL = "community"
#: Used only if a checklist item carries no rectification days (the workbook check requires them).
DEFAULT_RECTIFICATION_DAYS = 5


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def can_manage_station(user, area) -> bool:
    return user is None or jurisdiction(user).covers_path(area.path)


def _check_manage_station(actor, area) -> None:
    if not can_manage_station(actor, area):
        raise PermissionDenied(_("该社区不在您的管辖范围内"))


def can_record_visit(user, team: Team, premises) -> bool:
    if user is None:
        return True
    if team.members.filter(user_id=user.pk).exists():
        return True
    return bool(premises.area_id) and jurisdiction(user).covers_path(premises.area_path)


def can_mark_fixed(user, hazard: Hazard) -> bool:
    if user is None:
        return True
    if Staff.objects.filter(department_id=hazard.department_id, user_id=user.pk).exists():
        return True
    premises = hazard.premises
    return bool(premises.area_id) and jurisdiction(user).covers_path(premises.area_path)


# --------------------------------------------------------------------------------------------
# Stations and teams
# --------------------------------------------------------------------------------------------


def create_station(*, actor, area, name: str = "") -> Station:
    """A 星火工作站 for a community (one each); ``name`` defaults to "<community>星火工作站"."""
    _check_manage_station(actor, area)
    if area.level.slug != COMMUNITY_LEVEL:
        raise ValidationError({"area": [_("工作站只能设在社区")]})
    name = (name or "").strip() or _("%(area)s星火工作站") % {"area": area.name}
    if len(name) > 100:
        raise ValidationError({"name": [_("名称不能超过 100 个字符")]})
    if Station.objects.filter(area=area).exists():
        raise ValidationError({"area": [_("%(area)s 已有工作站") % {"area": area.name}]})
    with transaction.atomic():
        station = Station.objects.create(area=area, name=name)
        audit.record(actor, "inspection.station.create", station, after=audit.snapshot(station))
    return station


def create_team(*, actor, station: Station, name: str, members=()) -> Team:
    """A team of the station; ``members``: ``(user, department)`` pairs, added with ``add_member``."""
    _check_manage_station(actor, station.area)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("名称不能为空")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("名称不能超过 100 个字符")]})
    if station.teams.filter(name=name).exists():
        raise ValidationError({"name": [_("本工作站已有名为 %(name)s 的小组") % {"name": name}]})
    with transaction.atomic():
        team = Team.objects.create(station=station, name=name)
        audit.record(actor, "inspection.team.create", team, after=audit.snapshot(team))
        for user, department in members:
            add_member(actor=actor, team=team, user=user, department=department)
    return team


def add_member(*, actor, team: Team, user, department: Department) -> TeamMember:
    """Add ``user`` for ``department``: one member per department, and the user must be its staff."""
    _check_manage_station(actor, team.station.area)
    if not Staff.objects.filter(department=department, user=user).exists():
        raise ValidationError({"user": [_("%(user)s 不是 %(department)s 的人员") % {
            "user": user.get_full_name() or user.get_username(), "department": department.name}]})
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # members are added one at a time
        if team.members.filter(department=department).exists():
            raise ValidationError({"department": [_("小组中已有 %(department)s 的成员，每个部门只能有一名成员") % {
                "department": department.name}]})
        if team.members.filter(user=user).exists():
            raise ValidationError({"user": [_("该人员已在小组中")]})
        member = TeamMember.objects.create(team=team, user=user, department=department)
        audit.record(actor, "inspection.team.add_member", team,
                     after={"user": user.pk, "department": department.pk})
    return member


def remove_member(*, actor, team: Team, member: TeamMember) -> None:
    """Take ``member`` out of ``team`` (the team's visits and notices stay as they were)."""
    _check_manage_station(actor, team.station.area)
    if member.team_id != team.pk:
        raise ValidationError({"member": [_("该人员不是本小组成员")]})
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        deleted, _rows = TeamMember.objects.filter(pk=member.pk, team=team).delete()
        if not deleted:
            raise ValidationError({"member": [_("该人员已不在小组中")]})
        audit.record(actor, "inspection.team.remove_member", team,
                     before={"user": member.user_id, "department": member.department_id})


def set_team_active(*, actor, team: Team, active: bool) -> Team:
    """Stop (``active=False``) or restart a team; a stopped team gets no week's list and no new visits
    from the week page. Setting the state it already has changes nothing and writes no row."""
    _check_manage_station(actor, team.station.area)
    active = bool(active)
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        if locked.is_active != active:
            locked.is_active = active
            locked.save(update_fields=["is_active"])
            audit.record(actor, "inspection.team.activate" if active else "inspection.team.deactivate", locked,
                         before={"is_active": not active}, after={"is_active": active})
    team.is_active = active
    return team


# --------------------------------------------------------------------------------------------
# Visits
# --------------------------------------------------------------------------------------------


def notice_number(department: Department, year: int, serial: int) -> str:
    """E.g. 凤凰岭派出所〔2026〕第0001号."""
    return f"{department.name}〔{year}〕第{serial:04d}号"


def next_serial(department: Department, year: int) -> int:
    """Take the department's next notice serial for ``year`` in one statement (UPDATE … RETURNING).
    Called inside the visit's transaction: the counter row stays locked until it commits, so a
    rolled-back visit leaves no gap and two visits never get the same number."""
    table = connection.ops.quote_name(NoticeSequence._meta.db_table)
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE department_id = %s AND year = %s "
                           "RETURNING last", [department.pk, year])
            row = cursor.fetchone()
        if row:
            return row[0]
        try:
            with transaction.atomic():
                NoticeSequence.objects.create(department=department, year=year, last=1)
            return 1
        except IntegrityError:
            continue  # another visit created the row first: increment that one
    raise RuntimeError(f"could not take a notice number for department {department.pk} in {year}")


def _department_for(kind: str, team_departments: dict[str, Department], premises) -> Department | None:
    """The team's member department of that kind, else an active one of that kind serving the
    premises' area or one above it."""
    if kind in team_departments:
        return team_departments[kind]
    if not premises.area_id:
        return None
    ids = [premises.area_id, *premises.area.ancestors().values_list("pk", flat=True)]
    return (Department.objects.filter(kind=kind, is_active=True, areas__in=ids).order_by("pk").first())


def _validation_error(errors: dict[str, str]) -> ValidationError:
    return ValidationError({name: [message] for name, message in errors.items()})


def record_visit(*, actor, team: Team, premises, version: ChecklistVersion, answers: dict,
                 started_at: datetime.datetime | None = None, finished_at: datetime.datetime | None = None,
                 acknowledged_by: str = "", signature=None, photos: dict | None = None) -> Visit:
    """Store a finished visit with its hazards and notices (see the module's docstring).

    ``photos`` maps a ``photo`` question's name to its upload; each is checked (a bad one refuses the
    visit), re-encoded without EXIF into a ``VisitPhoto``, and the answer becomes ``photo:<its id>``.
    Each hazard records how often the same item failed at the premises in the 12 months before
    (``earlier_failures``: the repeat-offender rule) and gets its "found" timeline row; each notice gets
    its first re-inspection (回头看) at its deadline.

    Raises ``PermissionDenied`` if ``actor`` may not record it, ``ValidationError`` for bad answers
    (``{question name: [message]}``), a premises outside the station's community, a retired-before-use
    checklist version or an item whose department cannot be found. Nothing is stored then.
    """
    if not can_record_visit(actor, team, premises):
        raise PermissionDenied(_("您不是该检查小组成员，且该场所不在您的管辖范围内"))
    if not team.is_active:
        raise ValidationError({"team": [_("该检查小组已停用")]})
    station_path = team.station.area.path
    if not premises.area_id or not premises.area_path.startswith(station_path):
        raise ValidationError({"premises": [_("场所不在本工作站所在社区")]})
    if version.status == ChecklistVersion.Status.CHECKED:
        raise ValidationError({"version": [_("该检查表版本尚未启用")]})
    if not isinstance(answers, dict):
        raise ValidationError({"answers": [_("检查结果格式不正确")]})
    acknowledged_by = (acknowledged_by or "").strip()
    if len(acknowledged_by) > 100:
        raise ValidationError({"acknowledged_by": [_("签收人不能超过 100 个字符")]})
    photos = dict(photos or {})
    images = {}
    for name, upload in photos.items():
        try:
            images[name] = case_photos.check_upload(upload)
        except ValidationError as error:
            raise ValidationError({name: error.messages}) from None
        answers = {**answers, name: f"upload:{getattr(upload, 'name', name)}"[:300]}
    cleaned, errors = validate_answers(version, answers)
    if errors:
        raise _validation_error(errors)
    unknown = [name for name in images if cleaned.get(name) is None or version.form.questions.get(
        name, {}).get("type") != "photo"]
    if unknown:
        raise ValidationError({unknown[0]: [_("该项不需要照片")]})
    items = failed_items(version, answers)

    finished_at = finished_at or timezone.now()
    started_at = started_at or finished_at
    if started_at > finished_at:
        raise ValidationError({"started_at": [_("开始时间不能晚于结束时间")]})
    team_departments: dict[str, Department] = {}
    for member in team.members.select_related("department"):
        team_departments.setdefault(member.department.kind, member.department)
    departments: dict[str, Department] = {}
    for item in items:
        department = _department_for(item.department_code, team_departments, premises)
        if department is None:
            raise ValidationError({item.name: [_("找不到负责“%(item)s”的部门（%(kind)s）") % {
                "item": item.label, "kind": item.department_code}]})
        departments[item.department_code] = department

    year = timezone.localtime(finished_at).year
    earlier = dict(Hazard.objects.filter(
        premises=premises, item_name__in=[i.name[:100] for i in items],
        created_at__gte=finished_at - datetime.timedelta(days=365), created_at__lt=finished_at,
    ).values_list("item_name").annotate(n=Count("pk")).values_list("item_name", "n"))
    with case_photos.removed_on_error(), transaction.atomic():
        visit = Visit(team=team, premises=premises, checklist_version=version, answers=cleaned,
                      started_at=started_at, finished_at=finished_at,
                      recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
                      acknowledged_by=acknowledged_by)
        if signature is not None:
            visit.signature = signature
        visit.save()
        for name, image in images.items():
            photo = VisitPhoto(visit=visit, question=name)
            stem = f"{visit.pk}-{uuid.uuid4().hex[:12]}"
            case_photos.write_jpeg(photo.image, f"{stem}.jpg", image, max_side=1600, quality=85)
            case_photos.write_jpeg(photo.thumbnail, f"{stem}-thumb.jpg", image, max_side=320, quality=75)
            photo.save()
            cleaned[name] = f"photo:{photo.pk}"
        if images:
            visit.answers = cleaned
            visit.save(update_fields=["answers"])
        by_department: dict[int, list[Hazard]] = {}
        for item in items:
            department = departments[item.department_code]
            days = item.rectification_days if item.rectification_days is not None else DEFAULT_RECTIFICATION_DAYS
            hazard = Hazard.objects.create(
                visit=visit, premises=premises, item_name=item.name[:100], item_label=item.label[:500],
                answer=list(item.answer), department=department,
                severity=item.severity if item.severity in Hazard.Severity.values else Hazard.Severity.MINOR,
                legal_basis=item.legal_basis, rectification_days=days,
                deadline=calendar.add_working_days(finished_at, days), created_at=finished_at,
                earlier_failures=min(earlier.get(item.name[:100], 0), 32767))
            HazardEvent.objects.create(hazard=hazard, kind=HazardEvent.Kind.FOUND, at=finished_at,
                                       actor=visit.recorded_by)
            by_department.setdefault(department.pk, []).append(hazard)
        notices = []
        for hazards in by_department.values():
            department = hazards[0].department
            serial = next_serial(department, year)
            notice = Notice.objects.create(
                visit=visit, department=department, year=year, serial=serial,
                number=notice_number(department, year, serial),
                deadline=max(h.deadline for h in hazards), issued_at=finished_at)
            notice.hazards.set(hazards)
            notices.append(notice)
            Reinspection.objects.create(notice=notice, round=1, due_at=notice.deadline)
            audit.record(actor, "inspection.notice.issue", notice,
                         after={"number": notice.number, "visit": visit.pk, "department": department.pk,
                                "deadline": notice.deadline.isoformat(), "hazards": [h.pk for h in hazards]})
        plans.mark_visited(visit)  # a planned premises: its target on the team's plan is done
        audit.record(actor, "inspection.visit.record", visit,
                     after={"team": team.pk, "premises": premises.pk, "version": version.pk,
                            "failed": [i.name for i in items], "notices": [n.number for n in notices]})
    return visit


def mark_fixed(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """Close a hazard found fixed at re-inspection (open or escalated → fixed)."""
    if not can_mark_fixed(actor, hazard):
        raise PermissionDenied(_("只有责任部门人员可以确认整改"))
    with transaction.atomic():
        hazard = Hazard.objects.select_for_update().get(pk=hazard.pk)
        if hazard.status == Hazard.Status.FIXED:
            raise Conflict(_("该隐患已整改完毕"))
        before = audit.snapshot(hazard, ["status", "fixed_at", "fixed_by"])
        hazard.status = Hazard.Status.FIXED
        hazard.fixed_at = timezone.now()
        hazard.fixed_by = actor if getattr(actor, "is_authenticated", False) else None
        hazard.save(update_fields=["status", "fixed_at", "fixed_by"])
        audit.record(actor, "inspection.hazard.fix", hazard, before=before,
                     after=audit.snapshot(hazard, ["status", "fixed_at", "fixed_by"]), note=(note or "")[:500])
    return hazard
