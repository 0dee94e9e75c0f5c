"""Every write to multi-party evaluation is one of these functions: check who may, check the state,
lock, write, and leave an audit row (ARCHITECTURE pattern 1).

Who may organise (create, open, close, publish): a superuser, a command-center role, a 领导 or a
社区书记 at or above the project's area. Who may score: the invited evaluators (as their party) and,
for a project open to residents, anyone logged in who can see it (as 居民).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import acting_user, jurisdiction

from .models import Evaluator, Item, Nomination, Party, PartyWeight, Project, Score, Selection, Sheet, Vote

ORGANISER_ROLES = ("leader", "party_secretary")


def can_organise(user, area) -> bool:
    scope = jurisdiction(user)
    return scope.everything or scope.commands_path(area.path) or scope.holds_role_over(ORGANISER_ROLES, area.path)


def organised_areas(user):
    """The areas where this user may organise (for the creation forms): their command-center, 领导
    and 社区书记 areas and everything under them."""
    from gongzhi.areas.models import Area

    scope = jurisdiction(user)
    if scope.everything:
        return Area.objects.all()
    paths = [*scope.command_paths, *(p for code in ORGANISER_ROLES for p in scope.role_paths.get(code, ()))]
    return Area.objects.under_paths(paths)


def _require_organiser(actor, area) -> None:
    if not can_organise(actor, area):
        raise PermissionDenied(_("您不能组织该区域的评议"))


def _decimal(value, field: str, message: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: message}) from None
    if not number.is_finite():
        raise ValidationError({field: message})
    return number


# ----------------------------------------------------------------------------------- projects


@transaction.atomic
def create_project(*, actor, area, title: str, items: list[tuple[str, object]], weights: dict[str, object],
                   description: str = "", public: bool = True) -> Project:
    """A project with its scoring sheet (items with maximum scores) and the parties' weights."""
    _require_organiser(actor, area)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写项目名称")})
    if not items:
        raise ValidationError({"items": _("评分表至少要有一个评分项")})
    project = Project.objects.create(title=title[:120], description=description, area=area, public=public,
                                     created_by=acting_user(actor))
    for order, (name, max_score) in enumerate(items, start=1):
        value = _decimal(max_score, "items", _("满分应为正数"))
        if value <= 0 or not (name or "").strip():
            raise ValidationError({"items": _("每个评分项要有名称和大于 0 的满分")})
        Item.objects.create(project=project, order=order, name=name.strip()[:120], max_score=value)
    if not weights or any(p not in Party.values for p in weights):
        raise ValidationError({"weights": _("请为评议方（领导、代表委员、党员、居民）设置权重")})
    for party, weight in weights.items():
        value = _decimal(weight, "weights", _("权重应为不小于 0 的数"))
        if value < 0:
            raise ValidationError({"weights": _("权重应为不小于 0 的数")})
        PartyWeight.objects.create(project=project, party=party, weight=value)
    audit.record(actor, "appraisal.project.create", project, after=audit.snapshot(project))
    return project


@transaction.atomic
def invite_evaluator(project: Project, *, actor, user, party: str) -> Evaluator:
    _require_organiser(actor, project.area)
    if party not in Party.values:
        raise ValidationError({"party": _("请选择评议方")})
    evaluator, _created = Evaluator.objects.update_or_create(project=project, user=user, defaults={"party": party})
    audit.record(actor, "appraisal.evaluator.invite", project, after={"user": user.pk, "party": party})
    return evaluator


def _set_project_status(project: Project, *, actor, wanted: str, allowed_from: tuple[str, ...]) -> Project:
    with transaction.atomic():
        project = Project.objects.select_for_update().select_related("area").get(pk=project.pk)
        _require_organiser(actor, project.area)
        if project.status not in allowed_from:
            raise Conflict(_("项目当前状态为“%(status)s”，不能这样操作") % {"status": project.get_status_display()})
        before = project.status
        project.status = wanted
        if wanted == Project.Status.CLOSED:
            project.closed_at = timezone.now()
        project.save(update_fields=["status", "closed_at"])
        audit.record(actor, f"appraisal.project.{wanted}", project, before={"status": before},
                     after={"status": wanted})
        return project


def open_project(project: Project, *, actor) -> Project:
    return _set_project_status(project, actor=actor, wanted=Project.Status.OPEN, allowed_from=(Project.Status.DRAFT,))


def close_project(project: Project, *, actor) -> Project:
    return _set_project_status(project, actor=actor, wanted=Project.Status.CLOSED, allowed_from=(Project.Status.OPEN,))


def party_of(project: Project, user) -> str | None:
    """The party this person scores as: their invitation, else 居民 for a project open to residents."""
    if not getattr(user, "is_authenticated", False):
        return None
    invited = Evaluator.objects.filter(project=project, user=user).values_list("party", flat=True).first()
    if invited:
        return invited
    return Party.RESIDENT.value if project.public else None


def submit_sheet(project: Project, *, actor, scores: dict, comment: str = "") -> Sheet:
    """One person's sheet: a score for every item, between 0 and its maximum. One per person."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if project.status != Project.Status.OPEN:
            raise Conflict(_("该项目不在评分期内"))
        party = party_of(project, actor)
        if party is None:
            raise PermissionDenied(_("您不在该项目的评议人之列"))
        if Sheet.objects.filter(project=project, scorer=actor).exists():
            raise Conflict(_("您已提交过该项目的评分表，每人只能提交一份"))
        items = list(project.items.all())
        errors = {}
        values = {}
        for item in items:
            raw = scores.get(item.pk, scores.get(str(item.pk)))
            if raw is None or str(raw).strip() == "":
                errors[f"item_{item.pk}"] = [_("请为“%(item)s”打分") % {"item": item.name}]
                continue
            try:
                value = _decimal(raw, f"item_{item.pk}", _("分数应为数字"))
            except ValidationError as exc:
                errors.update(exc.message_dict)
                continue
            if not Decimal(0) <= value <= item.max_score or value != value.quantize(Decimal("0.01")):
                errors[f"item_{item.pk}"] = [_("“%(item)s”的分数应在 0 到 %(max)s 之间") % {
                    "item": item.name, "max": item.max_score.normalize()}]
                continue
            values[item.pk] = value
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                sheet = Sheet.objects.create(project=project, scorer=actor, scorer_name=str(actor)[:64], party=party,
                                             total=sum(values.values(), Decimal(0)), comment=(comment or "")[:2000])
        except IntegrityError:
            raise Conflict(_("您已提交过该项目的评分表，每人只能提交一份")) from None
        Score.objects.bulk_create([Score(sheet=sheet, item_id=pk, score=v) for pk, v in values.items()])
        audit.record(actor, "appraisal.sheet.submit", sheet, after={"party": party, "total": str(sheet.total)})
        return sheet


# ----------------------------------------------------------------------------------- selections


@transaction.atomic
def create_selection(*, actor, area, title: str, description: str = "", winners: int = 1,
                     publicity_days: int = 7, public: bool = True) -> Selection:
    _require_organiser(actor, area)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写评选名称")})
    if not 1 <= int(winners) <= 100 or not 1 <= int(publicity_days) <= 60:
        raise ValidationError({"winners": _("名额应为 1–100，公示天数应为 1–60")})
    selection = Selection.objects.create(title=title[:120], description=description, area=area, winners=winners,
                                         publicity_days=publicity_days, public=public, created_by=acting_user(actor))
    audit.record(actor, "appraisal.selection.create", selection, after=audit.snapshot(selection))
    return selection


def _locked_selection(selection: Selection) -> Selection:
    return Selection.objects.select_for_update().select_related("area").get(pk=selection.pk)


@transaction.atomic
def nominate(selection: Selection, *, actor, name: str, reasons: str) -> Nomination:
    """Put a family (or person) forward, with the reasons, while nominations are open."""
    selection = _locked_selection(selection)
    if not Selection.objects.visible_to(actor).filter(pk=selection.pk).exists():
        raise PermissionDenied(_("您不能参与该评选"))
    if selection.status != Selection.Status.NOMINATING:
        raise Conflict(_("推荐已截止"))
    name, reasons = (name or "").strip(), (reasons or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("请填写被推荐对象")]
    if len(reasons) < 10:
        errors["reasons"] = [_("请写明推荐理由（至少 10 个字）")]
    if errors:
        raise ValidationError(errors)
    if selection.nominations.filter(name=name[:100]).exists():
        raise Conflict(_("“%(name)s”已被推荐") % {"name": name})
    nomination = Nomination.objects.create(selection=selection, name=name[:100], reasons=reasons[:4000],
                                           nominated_by=acting_user(actor))
    audit.record(actor, "appraisal.nomination.create", nomination, after={"selection": selection.pk, "name": name})
    return nomination


@transaction.atomic
def open_voting(selection: Selection, *, actor, closes_at: datetime.datetime,
                opens_at: datetime.datetime | None = None) -> Selection:
    """Close nominations and open the vote for a window."""
    selection = _locked_selection(selection)
    _require_organiser(actor, selection.area)
    if selection.status not in (Selection.Status.DRAFT, Selection.Status.NOMINATING):
        raise Conflict(_("投票已经开始"))
    opens_at = opens_at or timezone.now()
    if closes_at <= opens_at or closes_at <= timezone.now():
        raise ValidationError({"closes_at": _("投票截止时间应晚于开始时间和现在")})
    if not selection.nominations.exists():
        raise Conflict(_("还没有任何推荐，不能开始投票"))
    selection.status = Selection.Status.VOTING
    selection.vote_opens_at, selection.vote_closes_at = opens_at, closes_at
    selection.save(update_fields=["status", "vote_opens_at", "vote_closes_at"])
    audit.record(actor, "appraisal.selection.open_voting", selection,
                 after={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()})
    return selection


def cast_vote(selection: Selection, *, actor, nomination: Nomination) -> Vote:
    """One vote per person per selection, inside the voting window."""
    with transaction.atomic():
        selection = _locked_selection(selection)
        if not Selection.objects.visible_to(actor).filter(pk=selection.pk).exists():
            raise PermissionDenied(_("您不能参与该评选"))
        if not selection.voting_open():
            raise Conflict(_("不在投票时间内"))
        if nomination.selection_id != selection.pk:
            raise ValidationError({"nomination": _("请选择本次评选的推荐对象")})
        if Vote.objects.filter(selection=selection, voter=actor).exists():
            raise Conflict(_("您已经投过票了，每人只能投一票"))
        try:
            with transaction.atomic():
                vote = Vote.objects.create(selection=selection, nomination=nomination, voter=actor)
        except IntegrityError:
            raise Conflict(_("您已经投过票了，每人只能投一票")) from None
        audit.record(actor, "appraisal.vote.cast", selection, after={"nomination": nomination.pk})
        return vote


def tally(selection: Selection) -> list[tuple[Nomination, int]]:
    from django.db.models import Count

    rows = selection.nominations.annotate(n=Count("votes")).order_by("-n", "created_at", "pk")
    return [(nomination, nomination.n) for nomination in rows]


@transaction.atomic
def publish_result(selection: Selection, *, actor, now: datetime.datetime | None = None) -> Selection:
    """Count the votes and publish the winners for the publicity period (公示期). If the window is still
    open, publishing closes it now. A tie for the last place lists every nominee tied there."""
    selection = _locked_selection(selection)
    _require_organiser(actor, selection.area)
    if selection.status != Selection.Status.VOTING:
        raise Conflict(_("只有投票中的评选可以公布结果"))
    now = now or timezone.now()
    if selection.vote_closes_at and selection.vote_closes_at > now:
        selection.vote_closes_at = now
    counts = tally(selection)
    cutoff = counts[min(selection.winners, len(counts)) - 1][1] if counts else 0
    winners = [(n, c) for i, (n, c) in enumerate(counts) if c > 0 and (i < selection.winners or c == cutoff)]
    selection.status = Selection.Status.PUBLISHED
    selection.published_at = now
    selection.publicity_ends_at = now + datetime.timedelta(days=selection.publicity_days)
    selection.result = {
        "votes": sum(c for _n, c in counts),
        "counts": [{"nomination": n.pk, "name": n.name, "votes": c} for n, c in counts],
        "winners": [{"nomination": n.pk, "name": n.name, "votes": c} for n, c in winners],
    }
    selection.save(update_fields=["status", "published_at", "publicity_ends_at", "result", "vote_closes_at"])
    audit.record(actor, "appraisal.selection.publish", selection, after=selection.result)
    return selection
