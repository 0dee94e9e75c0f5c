"""Every write to safety grading is one of these functions (ARCHITECTURE pattern 1): check who may,
check the state, lock, write, append a ``GradeEvent`` and an audit row.

grade → measures → feedback: ``record_figures`` (draft, graded with the active scheme) →
``publish_grade`` (frozen) → ``add_measure`` (red and black grades only) → ``record_feedback``.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict

from . import grading, rules
from .models import COUNT_INDICATORS, Feedback, Grade, GradeEvent, GradingScheme, Measure, PoliceArea

MONTH_RE = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?\s*$")


def parse_month(value) -> datetime.date:
    """'2026-11', '2026/11', '2026年11月' or a date → the first day of that month."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    match = MONTH_RE.match(str(value or ""))
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationError(_("月份格式应为 2026-11"))
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


def _name(actor) -> str:
    return str(actor)[:64] if actor is not None else _("系统")


def _event(grade: Grade, actor, action: str, *, note: str = "", data: dict | None = None) -> GradeEvent:
    return GradeEvent.objects.create(
        grade=grade, actor=actor if getattr(actor, "is_authenticated", False) else None, actor_name=_name(actor),
        action=action, note=note, data=data or {})


# ----------------------------------------------------------------------------------- schemes


def active_scheme() -> GradingScheme:
    scheme = GradingScheme.objects.filter(is_active=True).first()
    if scheme is None:
        raise ValidationError(_("尚未启用等级评定方案，请管理员先启用一个方案"))
    return scheme


@transaction.atomic
def create_scheme(*, actor, name: str, rules: dict, note: str = "", activate: bool = False) -> GradingScheme:
    """A new version of the thresholds (older versions stay, with the grades computed by them)."""
    grading.parse_rules(rules)
    # lock the existing versions (PostgreSQL refuses FOR UPDATE with an aggregate), then number the new one
    version = max(GradingScheme.objects.select_for_update().values_list("version", flat=True), default=0) + 1
    scheme = GradingScheme.objects.create(version=version, name=name, rules=rules, note=note)
    audit.record(actor, "safety.scheme.create", scheme, after=audit.snapshot(scheme))
    if activate:
        activate_scheme(scheme, actor=actor)
    return scheme


@transaction.atomic
def activate_scheme(scheme: GradingScheme, *, actor) -> GradingScheme:
    """Make this the scheme new figures are graded with. Grades already computed keep theirs."""
    grading.parse_rules(scheme.rules)
    previous = GradingScheme.objects.select_for_update().filter(is_active=True).exclude(pk=scheme.pk)
    for old in previous:
        old.is_active = False
        old.save(update_fields=["is_active"])
    scheme.is_active = True
    scheme.save(update_fields=["is_active"])
    audit.record(actor, "safety.scheme.activate", scheme, note=f"v{scheme.version}")
    return scheme


# ----------------------------------------------------------------------------------- figures


def _count(value, label: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({label: _("应为不小于 0 的整数")})
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({label: _("应为不小于 0 的整数")}) from None
    if not number.is_finite() or number < 0 or number != number.to_integral_value() or number > 10**9:
        raise ValidationError({label: _("应为不小于 0 的整数")})
    return int(number)


def _percent(value) -> Decimal:
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"satisfaction": _("满意率应为 0 到 100 之间的数")}) from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValidationError({"satisfaction": _("满意率应为 0 到 100 之间的数")})
    return number.quantize(Decimal("0.01"))


def survey_satisfaction(surveyed, satisfied) -> Decimal:
    """Satisfaction (%) from a survey: satisfied / surveyed × 100, rounded half up to 0.01."""
    errors = {}
    try:
        surveyed = _count(surveyed, "surveyed")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        satisfied = _count(satisfied, "satisfied")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors and surveyed == 0:
        errors["surveyed"] = [_("受访人数应大于 0")]
    if not errors and satisfied > surveyed:
        errors["satisfied"] = [_("满意人数不能多于受访人数")]
    if errors:
        raise ValidationError(errors)
    return (Decimal(satisfied) * 100 / Decimal(surveyed)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _given(value) -> bool:
    return value is not None and str(value).strip() != ""


def clean_figures(values: dict, population: int) -> grading.Figures:
    """The four counts and satisfaction from user input, checked (errors keyed by field).
    Satisfaction is the percentage given, or — when ``surveyed`` and ``satisfied`` are given instead
    — computed from the survey's counts."""
    errors: dict[str, list] = {}
    counts = {}
    for name in COUNT_INDICATORS:
        try:
            counts[name] = _count(values.get(name), name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        if not _given(values.get("satisfaction")) and (_given(values.get("surveyed"))
                                                       or _given(values.get("satisfied"))):
            satisfaction = survey_satisfaction(values.get("surveyed"), values.get("satisfied"))
        else:
            satisfaction = _percent(values.get("satisfaction"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return grading.Figures(satisfaction=satisfaction, population=population, **counts)


def _survey(values: dict) -> dict | None:
    if _given(values.get("satisfaction")) or not _given(values.get("surveyed")):
        return None
    return {"surveyed": int(Decimal(str(values["surveyed"]).strip())),
            "satisfied": int(Decimal(str(values["satisfied"]).strip()))}


def _apply(grade: Grade, figures: grading.Figures, scheme: GradingScheme) -> None:
    result = grading.grade(figures, scheme.rules)
    for name in COUNT_INDICATORS:
        setattr(grade, name, figures.count(name))
    grade.satisfaction = figures.satisfaction
    grade.population = figures.population
    grade.level = result.level
    grade.detail = result.detail
    grade.scheme = scheme


@transaction.atomic
def record_figures(police_area: PoliceArea, month, *, actor, values: dict, source: str = "form") -> Grade:
    """Enter (or correct) a month's figures; the grade is computed with the active scheme and stays a
    draft until published. A published month is refused (Conflict)."""
    if not rules.can_enter(actor, police_area):
        raise PermissionDenied(_("您不能填报该辖区的数据"))
    month = parse_month(month)
    if month > timezone.localdate().replace(day=1):
        raise ValidationError({"month": _("不能填报未来月份")})
    figures = clean_figures(values, police_area.population)
    scheme = active_scheme()
    grade = Grade.objects.select_for_update().filter(police_area=police_area, month=month).first()
    before = None
    if grade is not None:
        if grade.is_published:
            raise Conflict(_("%(month)s 的平安等级已发布，不能修改") % {"month": f"{month:%Y-%m}"})
        before = {**grade.figures(), "level": grade.level, "scheme": grade.scheme_id}
    else:
        grade = Grade(police_area=police_area, month=month)
    _apply(grade, figures, scheme)
    survey = _survey(values)
    if survey:
        grade.detail["survey"] = survey
    grade.source = source
    try:
        with transaction.atomic():
            grade.save()
    except IntegrityError:  # someone entered the same month at the same moment
        raise Conflict(_("该辖区该月的数据刚刚已由他人填报，请刷新后再试")) from None
    after = {**grade.figures(), "level": grade.level, "scheme": grade.scheme_id}
    _event(grade, actor, "figures", data={"before": before, "after": after, "source": source})
    audit.record(actor, "safety.grade.figures", grade, before=before, after=after)
    return grade


@transaction.atomic
def regrade_month(month, *, actor, scheme: GradingScheme | None = None) -> tuple[int, int]:
    """Recompute the month's drafts with ``scheme`` (default: the active one). Published grades are
    never touched: returns (regraded, published and left alone)."""
    month = parse_month(month)
    scheme = scheme or active_scheme()
    grading.parse_rules(scheme.rules)
    regraded = kept = 0
    for grade in Grade.objects.select_for_update().filter(month=month).select_related("police_area"):
        if grade.is_published:
            kept += 1
            continue
        if not rules.can_publish(actor, grade.police_area):
            continue
        before = {"level": grade.level, "scheme": grade.scheme_id}
        figures = grading.Figures(grade.criminal, grade.public_order, grade.robbery_theft, grade.fraud,
                                  grade.satisfaction, grade.population)
        survey = grade.detail.get("survey")
        _apply(grade, figures, scheme)
        if survey:
            grade.detail["survey"] = survey
        grade.save()
        after = {"level": grade.level, "scheme": grade.scheme_id}
        _event(grade, actor, "regrade", data={"before": before, "after": after})
        audit.record(actor, "safety.grade.regrade", grade, before=before, after=after)
        regraded += 1
    return regraded, kept


def _locked(grade: Grade) -> Grade:
    return Grade.objects.select_for_update().select_related("police_area").get(pk=grade.pk)


@transaction.atomic
def publish_grade(grade: Grade, *, actor, note: str = "") -> Grade:
    """Publish a month's grade: from now on it is on the map and frozen (figures, level, scheme)."""
    grade = _locked(grade)
    if not rules.can_publish(actor, grade.police_area):
        raise PermissionDenied(_("您不能发布该辖区的平安等级"))
    if grade.is_published:
        raise Conflict(_("该平安等级已发布"))
    grade.status = Grade.Status.PUBLISHED
    grade.published_at = timezone.now()
    grade.published_by = actor if getattr(actor, "is_authenticated", False) else None
    grade.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    _event(grade, actor, "publish", note=note, data={"level": grade.level, "scheme": grade.scheme.version})
    audit.record(actor, "safety.grade.publish", grade, after={"level": grade.level, "scheme": grade.scheme_id})
    return grade


def publish_month(month, *, actor) -> int:
    """Publish every draft of the month that the actor may publish; returns how many."""
    month = parse_month(month)
    done = 0
    for grade in Grade.objects.filter(month=month, status=Grade.Status.DRAFT).select_related("police_area"):
        if rules.can_publish(actor, grade.police_area):
            publish_grade(grade, actor=actor)
            done += 1
    return done


@transaction.atomic
def reopen_grade(grade: Grade, *, actor, reason: str) -> Grade:
    """A superuser takes a published grade back to draft to correct an error (the reason is kept)."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("只有系统管理员可以撤回已发布的平安等级"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤回原因")})
    grade = _locked(grade)
    if not grade.is_published:
        raise Conflict(_("该平安等级尚未发布"))
    grade.status = Grade.Status.DRAFT
    grade.save(update_fields=["status", "updated_at"])
    _event(grade, actor, "reopen", note=reason)
    audit.record(actor, "safety.grade.reopen", grade, note=reason)
    return grade


# ----------------------------------------------------------------------------------- measures


@transaction.atomic
def add_measure(grade: Grade, *, actor, what: str, owner: str, due_on: datetime.date,
                department=None) -> Measure:
    """A follow-up measure for a published red or black grade: what, who, by when."""
    grade = _locked(grade)
    if not rules.can_set_measures(actor, grade.police_area):
        raise PermissionDenied(_("您不能为该辖区下达整改措施"))
    if not grade.is_published:
        raise Conflict(_("平安等级发布后才能下达整改措施"))
    if not grade.needs_measures:
        raise Conflict(_("只有红色、黑色等级需要下达整改措施"))
    errors = {}
    what, owner = (what or "").strip(), (owner or "").strip()
    if not what:
        errors["what"] = [_("请填写措施内容")]
    if not owner:
        errors["owner"] = [_("请填写责任人")]
    if not isinstance(due_on, datetime.date):
        errors["due_on"] = [_("请填写完成期限")]
    elif due_on < grade.month:
        errors["due_on"] = [_("完成期限不能早于评定月份")]
    if errors:
        raise ValidationError(errors)
    measure = Measure.objects.create(grade=grade, what=what, owner=owner[:100], due_on=due_on, department=department,
                                     created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _event(grade, actor, "measure", note=what,
           data={"measure": measure.pk, "owner": measure.owner, "due_on": due_on.isoformat()})
    audit.record(actor, "safety.measure.add", measure, after=audit.snapshot(measure))
    return measure


@transaction.atomic
def record_feedback(measure: Measure, *, actor, result: str, note: str) -> Feedback:
    """Report what was done about a measure; "已落实" closes it (no feedback after that)."""
    measure = Measure.objects.select_for_update().select_related("grade__police_area").get(pk=measure.pk)
    if not rules.can_feedback(actor, measure):
        raise PermissionDenied(_("您不能反馈该整改措施"))
    if measure.status == Measure.Status.DONE:
        raise Conflict(_("该整改措施已落实，不能再反馈"))
    if result not in Feedback.Result.values:
        raise ValidationError({"result": _("请选择落实结果")})
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("请填写反馈内容")})
    feedback = Feedback.objects.create(measure=measure, result=result, note=note,
                                       actor=actor if getattr(actor, "is_authenticated", False) else None,
                                       actor_name=_name(actor))
    if result == Feedback.Result.DONE:
        measure.status = Measure.Status.DONE
        measure.done_at = timezone.now()
        measure.save(update_fields=["status", "done_at"])
    _event(measure.grade, actor, "feedback", note=note, data={"measure": measure.pk, "result": result})
    audit.record(actor, "safety.measure.feedback", measure, after={"result": result, "status": measure.status},
                 note=note[:200])
    return feedback


# ----------------------------------------------------------------------------------- jurisdictions


@transaction.atomic
def create_police_area(*, actor, name: str, code: str, department=None, population: int = 0,
                       geometry: dict | None = None, covers=(), name_en: str = "") -> PoliceArea:
    """A police station's jurisdiction, with its own boundary and the tree's areas it overlaps."""
    if geometry is not None:
        from gongzhi.areas import geo

        try:
            geo.parse_geometry(geometry)
        except geo.GeometryError as exc:
            raise ValidationError({"geometry": str(exc)}) from None
    police_area = PoliceArea.objects.create(name=name, name_en=name_en, code=code, department=department,
                                            population=population, geometry=geometry)
    police_area.covers.set(covers)
    audit.record(actor, "safety.police_area.create", police_area, after=audit.snapshot(police_area))
    return police_area
