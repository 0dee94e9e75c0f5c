"""Intake: a report from any channel becomes a case (web page, API, 12345 import, device webhook).

A client-supplied idempotency key makes a retried submission return the first case. The location
is placed in its grid; a point outside the city is a clear error; an address without a point goes
to the dispatcher's "to be located" queue. A trusted grid worker's report whose category routes to
exactly one department is filed and dispatched at once (auto-dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.services import area_at
from gongzhi.core import rows

from . import notify, numbers, photos, routing, rules, services
from .choices import LocateStatus, Source, Status
from .models import Case, CasePhoto, Category


@dataclass
class Report:
    """What a channel hands over. ``photos`` are uploaded files (already size-limited by the server)."""

    title: str
    description: str = ""
    category: Category | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    source: str = Source.RESIDENT
    urgent: bool = False
    idempotency_key: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    extra: dict = field(default_factory=dict)
    photos: list = field(default_factory=list)


def _clean(report: Report) -> dict:
    errors: dict[str, list[str]] = {}
    title = (report.title or "").strip()
    if not title:
        errors["title"] = [_("请填写标题")]
    elif len(title) > 100:
        errors["title"] = [_("标题不能超过 100 个字符")]
    if len(report.description or "") > 5000:
        errors["description"] = [_("描述不能超过 5000 个字符")]
    if report.category is not None and (not report.category.is_active or not report.category.version.is_active):
        errors["category"] = [_("该分类已停用，请重新选择")]
    elif report.category is not None and report.category.extra_fields:
        # The category's extra fields (extra_fields.py; no query: the category is loaded). The
        # checked values (trimmed, numbers as numbers, empty ones dropped) replace report.extra,
        # which is what gets stored; checking them again gives the same result.
        from .extra_fields import clean_values

        report.extra, extra_errors = clean_values(report.category, report.extra, source=report.source)
        errors.update(extra_errors)
    if report.source not in Source.values:
        errors["source"] = [_("未知的来源")]
    key = (report.idempotency_key or "").strip() or None
    if key is not None and len(key) > 100:
        errors["idempotency_key"] = [_("幂等键不能超过 100 个字符")]
    area = None
    if (report.lon is None) != (report.lat is None):
        errors["lon"] = [_("经度和纬度需同时提供")]
    elif report.lon is not None:
        if not (-180 <= report.lon <= 180 and -90 <= report.lat <= 90):
            errors["lon"] = [_("经纬度超出范围")]
        else:
            area = area_at(report.lon, report.lat)
            if area is None:
                errors["lon"] = [_("该位置不在本市网格范围内，请在地图上重新选点")]
    elif not (report.address or "").strip():
        errors["address"] = [_("请在地图上选点或填写地址")]
    try:
        photos.check_uploads(report.photos)
    except ValidationError as exc:
        errors["photos"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return {"title": title, "key": key, "area": area}


def report_case(report: Report, *, reporter) -> tuple[Case, bool]:
    """Create the case (or return the one made by an earlier try with the same key).

    Returns ``(case, created)``. Everything is written in one transaction: case, photos, timeline,
    and — for a trusted reporter — filing and dispatch.
    """
    reporter = reporter if getattr(reporter, "is_authenticated", False) else None
    key = (report.idempotency_key or "").strip() or None
    if key is not None and reporter is not None:
        existing = _earlier_case(reporter, key)
        if existing is not None:
            return existing, False
    clean = _clean(report)
    area = clean["area"]
    now = timezone.now()
    case = Case(
        title=clean["title"], description=report.description or "",
        category=report.category, source=report.source, urgent=bool(report.urgent),
        lon=report.lon, lat=report.lat, address=(report.address or "")[:200],
        area=area, area_path=area.path if area else "",
        locate_status=LocateStatus.LOCATED if area else LocateStatus.TO_LOCATE,
        reporter=reporter, reporter_name=(report.reporter_name or "")[:64],
        reporter_phone=(report.reporter_phone or "")[:32], idempotency_key=key if reporter else None,
        extra=report.extra or {}, created_at=now,
    )
    department = _auto_dispatch_to(case, reporter)
    plan = _router_plan(case) if department is None else None
    if plan is not None:
        case.category, department = plan.category, plan.department
    case.number = numbers.next_number(area)  # outside the transaction: the counter row is locked only briefly
    try:
        with photos.removed_on_error(), transaction.atomic():
            events = [services.new_event(case, reporter, "report", at=now,
                                         note=report.description[:500] if report.description else "")]
            if department is not None:
                events[0].notified_at = now  # told by the auto-dispatch event: nothing waits on a dispatcher
                events += _auto_dispatch(case, department, now) if plan is None else _auto_dispatch(
                    case, department, now, file_note=_("智能分派自动立案"), dispatch_note=plan.note,
                    data={"router_p": plan.probability})
            # What case.save(force_insert=True) and services.save_events(events) do, in two INSERTs
            # whose SQL is built once per process (core.rows; no signal listens to these models).
            rows.insert([case])
            rows.insert(events)
            notify.events_saved([event.pk for event in events if event.notified_at is None])
            if plan is not None:
                from gongzhi.router.services import record_plan

                record_plan(case, plan)
            for upload in report.photos:
                photos.save_photo(case, upload, stage=CasePhoto.Stage.REPORT, actor=reporter, event=events[0])
    except IntegrityError:
        # Two tries with the same key raced: the other one won; answer with its case.
        if key is not None and reporter is not None:
            existing = _earlier_case(reporter, key)
            if existing is not None:
                return existing, False
        raise
    return case, True


def _earlier_case(reporter, key: str) -> Case | None:
    """The reporter's case made with this idempotency key, if any. Asked on every report that has
    a key, nearly always in vain: one index probe for the id, in SQL written once (the ORM's query
    building would cost more than the probe itself); the case is loaded only when there is one."""
    alias = router.db_for_read(Case)
    with connections[alias].cursor() as cursor:
        cursor.execute(_earlier_sql(alias), [reporter.pk, key])
        row = cursor.fetchone()
    return Case.objects.using(alias).filter(pk=row[0]).first() if row else None


def _earlier_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    meta = Case._meta
    return (f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.get_field('reporter').column)} = %s "
            f"AND {quote(meta.get_field('idempotency_key').column)} = %s LIMIT 1")


def _auto_dispatch_to(case: Case, reporter):
    """The department a trusted grid worker's report goes to at once, or None (a dispatcher decides)."""
    if not settings.CASE_AUTO_DISPATCH or reporter is None or case.category_id is None or case.area_id is None:
        return None
    if not rules.is_trusted_reporter(reporter):
        return None
    return routing.resolve(case)


def _router_plan(case: Case):
    """Smart dispatch (gongzhi.router): when the admin turned its auto-dispatch on and the rules did
    not decide, the category and department the model is sure enough about — or None. Off by
    default; when off this costs one cached settings read."""
    from gongzhi.router.services import auto_dispatch_plan

    return auto_dispatch_plan(case)


def _auto_dispatch(case: Case, department, now, *, file_note: str | None = None, dispatch_note: str | None = None,
                   data: dict | None = None) -> list:
    """File and dispatch a new case before its INSERT: the fields ``file_case`` and ``dispatch_case``
    set and the timeline rows they write, with the system as actor. Nobody else can see the row
    before the transaction commits, so there is nothing to lock and no state to re-check.

    Only the dispatch event is fanned out (kind ``auto_dispatch``: the department, the command
    center's webhooks); the report and file events are written as already notified, so no
    dispatcher is asked to triage a case that is dispatched already."""
    events = []
    case.status, case.filed_at = Status.FILED, now  # no dispatch clock: dispatch starts the handling one now
    events.append(services.new_event(case, None, "file", from_status=Status.REPORTED, at=now,
                                     note=file_note or _("网格员上报，自动立案")))
    events[-1].notified_at = now
    services.apply_dispatch(case, department, now)
    events.append(services.new_event(case, None, "dispatch", from_status=Status.FILED, at=now,
                                     note=dispatch_note or _("按派遣规则自动派遣"),
                                     data={"department": department.pk, "via": "auto_dispatch", **(data or {})}))
    return events
