"""Key persons (重点人员): listing, level, the responsible grid worker, the visit rhythm and its reminders.

Categories are data (``KeyCategory``). An entry's next visit is due ``visit_every_days`` (the
entry's own, else the category's) after the last visit, or after the listing when there was none.
``remind_due`` (the worker, ``tasks.reminder_job``) tells the responsible grid worker once per due
date: each entry is claimed with a conditional UPDATE on ``alerted_for`` (ARCHITECTURE pattern 4),
so two workers never send the same reminder. Reminders name the person, never the category or the
details (a category such as 严重精神障碍患者 is itself health information).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import jurisdiction

from . import rules
from .models import KeyCategory, KeyPerson, Person, Registry

#: area roles that may be responsible for a key person (the registry's area audience)
RESPONSIBLE_ROLES = rules.AUDIENCE[Registry.KEY_PERSONS][0]
MAX_EVERY_DAYS = 365
DETAILS_MAX = 2000
REASON_MAX = 64
AUDITED = ["person", "category", "level", "responsible", "visit_every_days", "details", "listed_on",
           "last_visit_on", "next_visit_due", "ended_on", "end_reason"]


def every_days(entry: KeyPerson) -> int:
    """The entry's visit interval: its own, else its category's."""
    return entry.visit_every_days or entry.category.visit_every_days


def next_due(entry: KeyPerson) -> datetime.date:
    """(last visit, or the listing when there was none) + the interval."""
    return (entry.last_visit_on or entry.listed_on) + datetime.timedelta(days=every_days(entry))


def _check_write(actor, person: Person) -> None:
    if not rules.can_write(actor, Registry.KEY_PERSONS, person.area):
        raise PermissionDenied(_("您无权管理该区域的重点人员"))


def _check_level(level) -> str:
    if level not in KeyPerson.Level.values:
        raise ValidationError({"level": _("请选择关注程度")})
    return level


def _check_responsible(responsible, person: Person):
    """The responsible worker must hold a role over the person's area (and so see the entry)."""
    if responsible is None:
        return None
    if not getattr(responsible, "is_active", False) or not jurisdiction(responsible).holds_role_over(
            RESPONSIBLE_ROLES, person.area.path):
        raise ValidationError({"responsible": _("责任人须是该人员所在区域的网格员或社区干部")})
    return responsible


def _check_every_days(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"visit_every_days": _("走访周期须为天数")}) from None
    if not 1 <= value <= MAX_EVERY_DAYS:
        raise ValidationError({"visit_every_days": _("走访周期须在 1 到 %(n)s 天之间") % {"n": MAX_EVERY_DAYS}})
    return value


def list_person(actor, person: Person, *, category: KeyCategory, level: str = KeyPerson.Level.NORMAL,
                responsible=None, visit_every_days: int | None = None, details: str = "",
                listed_on: datetime.date | None = None) -> KeyPerson:
    """Put a person on the key-person list under one category (one open entry per person and category)."""
    _check_write(actor, person)
    if person.closed_at is not None or person.anonymised_at is not None:
        raise ValidationError(_("该人员已注销，不能列管"))
    if category is None or not category.is_active:
        raise ValidationError({"category": _("请选择启用的重点人员类别")})
    level = _check_level(level)
    responsible = _check_responsible(responsible, person)
    visit_every_days = _check_every_days(visit_every_days)
    details = clean_text(details, "details", _("具体情况"), DETAILS_MAX, required=False)
    entry = KeyPerson(person=person, category=category, level=level, responsible=responsible,
                      visit_every_days=visit_every_days, details=details,
                      listed_on=listed_on or timezone.localdate())
    entry.next_visit_due = next_due(entry)
    duplicate = ValidationError({"category": _("该人员已在此类别下列管")})
    if KeyPerson.objects.filter(person=person, category=category, ended_on__isnull=True).exists():
        raise duplicate
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
            audit.record(actor, "registries.key_person_list", entry, after=audit.snapshot(entry, AUDITED))
    except IntegrityError:
        raise duplicate from None  # a concurrent listing of the same person and category won
    return entry


def _locked_open(entry: KeyPerson) -> KeyPerson:
    locked = KeyPerson.objects.select_for_update().select_related("person__area", "category").get(pk=entry.pk)
    if locked.ended_on is not None:
        raise ValidationError(_("该人员已解除列管"))
    return locked


def change_level(actor, entry: KeyPerson, level: str) -> KeyPerson:
    _check_write(actor, entry.person)
    level = _check_level(level)
    with transaction.atomic():
        entry = _locked_open(entry)
        before = audit.snapshot(entry, ["level"])
        entry.level = level
        entry.save(update_fields=["level"])
        audit.record(actor, "registries.key_person_level", entry, before=before,
                     after=audit.snapshot(entry, ["level"]))
    return entry


def assign_responsible(actor, entry: KeyPerson, responsible) -> KeyPerson:
    _check_write(actor, entry.person)
    responsible = _check_responsible(responsible, entry.person)
    with transaction.atomic():
        entry = _locked_open(entry)
        before = audit.snapshot(entry, ["responsible"])
        entry.responsible = responsible
        entry.alerted_for = None  # a new responsible worker hears about the current due date
        entry.save(update_fields=["responsible", "alerted_for"])
        audit.record(actor, "registries.key_person_assign", entry, before=before,
                     after=audit.snapshot(entry, ["responsible"]))
    return entry


def change_rhythm(actor, entry: KeyPerson, visit_every_days: int | None) -> KeyPerson:
    """Set the entry's own visit interval (None: the category's) and recompute the due date."""
    _check_write(actor, entry.person)
    value = _check_every_days(visit_every_days)
    with transaction.atomic():
        entry = _locked_open(entry)
        before = audit.snapshot(entry, ["visit_every_days", "next_visit_due"])
        entry.visit_every_days = value
        entry.next_visit_due = next_due(entry)
        entry.save(update_fields=["visit_every_days", "next_visit_due"])
        audit.record(actor, "registries.key_person_rhythm", entry, before=before,
                     after=audit.snapshot(entry, ["visit_every_days", "next_visit_due"]))
    return entry


def end_listing(actor, entry: KeyPerson, reason: str, *, on: datetime.date | None = None) -> KeyPerson:
    """解除列管: the entry closes (its retention starts) and no more visits fall due."""
    _check_write(actor, entry.person)
    reason = clean_text(reason, "reason", _("解除原因"), REASON_MAX)
    on = on or timezone.localdate()
    with transaction.atomic():
        entry = _locked_open(entry)
        if on < entry.listed_on:
            raise ValidationError({"on": _("解除日期不能早于列管日期")})
        entry.ended_on, entry.end_reason = on, reason
        entry.save(update_fields=["ended_on", "end_reason"])
        audit.record(actor, "registries.key_person_end", entry, after=audit.snapshot(entry, ["ended_on", "end_reason"]))
    return entry


def record_visit_done(entry: KeyPerson, on: datetime.date) -> KeyPerson:
    """A visit happened on ``on`` (called by ``visits.record_visit`` inside its transaction): the next
    one falls due an interval later, and the alert for the old due date is cleared."""
    locked = _locked_open(entry)
    if locked.last_visit_on is None or on >= locked.last_visit_on:
        locked.last_visit_on = on
        locked.next_visit_due = next_due(locked)
        locked.alerted_for = None
        locked.save(update_fields=["last_visit_on", "next_visit_due", "alerted_for"])
    return locked


def due_for(user, *, within_days: int = 0):
    """Open entries the user is responsible for, due within ``within_days`` from today."""
    limit = timezone.localdate() + datetime.timedelta(days=within_days)
    return KeyPerson.objects.filter(responsible=user, ended_on__isnull=True, next_visit_due__lte=limit)


def remind_due(now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Tell each responsible grid worker of the visits due today or overdue, once per due date.
    Returns the number of reminders written."""
    from django.urls import reverse

    from gongzhi.notifications.models import Notification

    today = timezone.localdate(now or timezone.now())
    due = (KeyPerson.objects.filter(ended_on__isnull=True, responsible__isnull=False, next_visit_due__lte=today)
           .exclude(alerted_for=F("next_visit_due")).order_by("next_visit_due", "pk")
           .values_list("pk", "next_visit_due"))
    told = 0
    for pk, due_on in list(due[:limit]):
        with transaction.atomic():
            if KeyPerson.objects.filter(pk=pk, ended_on__isnull=True, next_visit_due=due_on).exclude(
                    alerted_for=due_on).update(alerted_for=due_on) != 1:
                continue  # another worker claimed it, or a visit moved the date meanwhile
            entry = KeyPerson.objects.select_related("person").get(pk=pk)
            if entry.responsible_id is None:
                continue
            if due_on < today:
                body = _("重点人员走访应于 %(due)s 前完成，已逾期 %(days)s 天") % {
                    "due": due_on.isoformat(), "days": (today - due_on).days}
            else:
                body = _("重点人员走访应于 %(due)s 前完成") % {"due": due_on.isoformat()}
            Notification.objects.create(
                user_id=entry.responsible_id, kind="registries_key_person_due",
                title=(_("走访提醒：%(name)s") % {"name": entry.person.name})[:200], body=body,
                url=reverse("registries:key_person", args=[pk]))
            told += 1
    return told
