"""Projects: what a decision set going — its cost shared three ways (三个分担) and its implementation.

- ``create_project``: the total cost and its three shares (policy funds, the committee's or the
  collective's own income, the benefiting owners), which must add up to the fen; optionally linked to
  a decision that was closed and passed, or to a 四议三公开 procedure that reached its decision.
- ``compute_statements``: the owners' share split among the benefiting units (the units of the
  decision's roll, or of a roll given explicitly; only some buildings if the project says so), by
  floor area or equally. ``allocate`` does the arithmetic with fractions and rounds to the fen by the
  largest-remainder method, so the statements add up exactly to the owners' share and no unit is off
  its exact share by a fen or more. Recomputing replaces the statements, while the project is planned.
- ``statement_xlsx`` (the statements as a spreadsheet) and ``publish_statement`` (费用分摊公示).
- ``add_update``: progress in percent with a note and photos (checked and re-encoded without EXIF by
  ``gongzhi.cases.photos``); the first update starts the project, 100 % completes it.
- ``publish_implementation``: the implementation result (实施结果公开), once the project is done.

Managers of the area (``queries.can_manage``) do all of it; progress may also be reported by staff
whose jurisdiction covers the area (those who walk past the site). Every write leaves an audit row.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text

from . import publicity
from .models import (
    Decision,
    Procedure,
    Project,
    ProjectPhoto,
    ProjectUpdate,
    Publication,
    Result,
    ShareStatement,
    Unit,
    VoterRoll,
)
from .queries import can_manage

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000000")  # MONEY_DIGITS: 14 digits, 2 of them decimals
MAX_BUILDINGS = 200
MAX_NOTE = 5000
SHARE_FIELDS = ("policy_funds", "committee_funds", "owners_share")


# ------------------------------------------------------------------------------------ permissions


def may_manage(user, project: Project) -> bool:
    return can_manage(user, project.area)


def may_report(user, project: Project) -> bool:
    """Progress may be reported by managers and by staff whose jurisdiction covers the area."""
    from gongzhi.core.scoping import jurisdiction

    return user is None or can_manage(user, project.area) or jurisdiction(user).covers_path(project.area.path)


def _check_manage(actor, area, message: str) -> None:
    if not can_manage(actor, area):
        raise PermissionDenied(message)


# ------------------------------------------------------------------------------------ validation


def parse_money(value, field: str, label: str) -> Decimal:
    """An amount in yuan: at most two decimals, not negative, below 10¹² (ValidationError keyed by field)."""
    if isinstance(value, bool) or value is None:
        raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("，", "")
        if not value:
            raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("%(label)s不是有效的金额") % {"label": label}}) from None
    if not amount.is_finite():
        raise ValidationError({field: _("%(label)s不是有效的金额") % {"label": label}})
    if amount < 0:
        raise ValidationError({field: _("%(label)s不能为负数") % {"label": label}})
    if amount != amount.quantize(FEN):
        raise ValidationError({field: _("%(label)s最多精确到分（两位小数）") % {"label": label}})
    if amount >= MAX_AMOUNT:
        raise ValidationError({field: _("%(label)s过大") % {"label": label}})
    return amount.quantize(FEN)


def parse_buildings(value) -> list[str]:
    """A list of building names (or one text separated by commas, 、 or new lines); empty = all."""
    if value is None:
        return []
    if isinstance(value, str):
        for sep in ("，", "、", "\n", "\r", ";", "；"):
            value = value.replace(sep, ",")
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationError({"buildings": _("受益楼栋格式不正确")})
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError({"buildings": _("受益楼栋格式不正确")})
        item = item.strip()
        if not item:
            continue
        if len(item) > 64:
            raise ValidationError({"buildings": _("楼栋名称不能超过 64 个字符")})
        if item not in found:
            found.append(item)
    if len(found) > MAX_BUILDINGS:
        raise ValidationError({"buildings": _("受益楼栋不能超过 %(n)s 个") % {"n": MAX_BUILDINGS}})
    return found


def _inside(child_area, area) -> bool:
    return child_area.pk == area.pk or child_area.path.startswith(area.path)


def _check_decision(decision: Decision, area) -> None:
    if not _inside(decision.area, area):
        raise ValidationError({"decision": _("该表决不属于所选区域")})
    if decision.status not in (Decision.Status.CLOSED, Decision.Status.PUBLISHED):
        raise Conflict(_("该表决尚未计票，不能据此建立项目"))
    if Result.objects.filter(question__decision=decision, passed=False).exists():
        raise Conflict(_("该表决未获通过，不能据此建立项目"))


def _check_procedure(procedure: Procedure, area) -> None:
    if not _inside(procedure.area, area):
        raise ValidationError({"procedure": _("该议题不属于所选区域")})
    if procedure.status not in (Procedure.Status.DECIDED, Procedure.Status.IMPLEMENTED):
        raise Conflict(_("该议题尚未形成决议，不能据此建立项目"))


# ------------------------------------------------------------------------------------ create


def _validated(*, area, title, total_cost, policy_funds, committee_funds, owners_share, split, buildings,
               decision, procedure) -> dict:
    """The checked values of a project (create and edit share them)."""
    title = clean_text(title, "title", _("项目名称"), 200)
    total = parse_money(total_cost, "total_cost", _("总费用"))
    shares = {
        "policy_funds": parse_money(policy_funds, "policy_funds", _("政策资金")),
        "committee_funds": parse_money(committee_funds, "committee_funds", _("集体/公共收益")),
        "owners_share": parse_money(owners_share, "owners_share", _("受益业主分担")),
    }
    added = sum(shares.values(), Decimal("0.00"))
    if added != total:
        raise ValidationError({"total_cost": _(
            "三项分担合计 %(sum)s 元，与总费用 %(total)s 元不一致（相差 %(diff)s 元）：政策资金、集体/公共收益与"
            "受益业主分担三项之和必须等于总费用") % {"sum": added, "total": total, "diff": abs(total - added)}})
    if split not in Project.Split.values:
        raise ValidationError({"split": _("请选择分摊方式")})
    buildings = parse_buildings(buildings)
    if decision is not None:
        decision = Decision.objects.select_for_update(of=("self",)).select_related("area").get(pk=decision.pk)
        _check_decision(decision, area)
    if procedure is not None:
        procedure = Procedure.objects.select_related("area").get(pk=procedure.pk)
        _check_procedure(procedure, area)
    return dict(area=area, decision=decision, procedure=procedure, title=title, total_cost=total, split=split,
                buildings=buildings, **shares)


@transaction.atomic
def create_project(*, actor, area, title, total_cost, policy_funds, committee_funds, owners_share, split,
                   buildings=None, decision: Decision | None = None, procedure: Procedure | None = None) -> Project:
    """A project with its cost shared three ways; the shares must add up exactly to the total."""
    _check_manage(actor, area, _("您不能在该区域建立项目"))
    values = _validated(area=area, title=title, total_cost=total_cost, policy_funds=policy_funds,
                        committee_funds=committee_funds, owners_share=owners_share, split=split,
                        buildings=buildings, decision=decision, procedure=procedure)
    project = Project.objects.create(created_by=actor if getattr(actor, "is_authenticated", False) else None,
                                     **values)
    audit.record(actor, "deliberation.create_project", project, after=audit.snapshot(project))
    return project


#: Changing one of these makes the statements stale: they are removed, to be computed again.
STATEMENT_INPUTS = ("decision_id", "owners_share", "split", "buildings")


@transaction.atomic
def update_project(project: Project, *, actor, area, title, total_cost, policy_funds, committee_funds, owners_share,
                   split, buildings=None, decision: Decision | None = None,
                   procedure: Procedure | None = None) -> Project:
    """Correct a project while it is planned (same checks as ``create_project``). If what the statements
    depend on changed, they are removed and must be computed again (a published statement stays as it
    was published; publish the corrected one anew)."""
    project = Project.objects.select_for_update(of=("self",)).select_related("area").get(pk=project.pk)
    _check_manage(actor, project.area, _("您不能管理该项目"))
    _check_manage(actor, area, _("您不能在该区域建立项目"))
    if project.status != Project.Status.PLANNED:
        raise Conflict(_("项目已开始实施，不能再修改"))
    values = _validated(area=area, title=title, total_cost=total_cost, policy_funds=policy_funds,
                        committee_funds=committee_funds, owners_share=owners_share, split=split,
                        buildings=buildings, decision=decision, procedure=procedure)
    before = audit.snapshot(project)
    for name, value in values.items():
        setattr(project, name, value)
    project.save()
    after = audit.snapshot(project)
    stale = any(before.get(k) != after.get(k) for k in STATEMENT_INPUTS) or before.get("area_id") != after.get(
        "area_id")
    removed = project.statements.all().delete()[0] if stale else 0
    audit.record(actor, "deliberation.update_project", project, before=before,
                 after={**after, "statements_removed": removed} if removed else after)
    return project


# ------------------------------------------------------------------------------------ statements


def allocate(total: Decimal, weights: Sequence, keys: Sequence[str]) -> list[Decimal]:
    """Split ``total`` (yuan, two decimals) in proportion to ``weights`` (≥ 0), to the fen.

    Each part's exact share is a ``Fraction`` of fen; every part gets its floor, and the fen left
    over go one each to the parts with the largest remainders (ties: the smaller key first). So the
    parts add up exactly to ``total`` and each is less than one fen away from its exact share. A part
    with weight 0 gets 0. ``ValueError`` if the weights add up to 0 while the total does not."""
    if len(weights) != len(keys):
        raise ValueError("one key per weight")
    fen = Fraction(Decimal(total)) * 100
    if fen.denominator != 1 or fen < 0:
        raise ValueError("total must be a non-negative amount in fen")
    fen = int(fen)
    fractions = [Fraction(Decimal(w)) if not isinstance(w, int | Fraction) else Fraction(w) for w in weights]
    if any(w < 0 for w in fractions):
        raise ValueError("weights must not be negative")
    whole = sum(fractions, Fraction(0))
    if whole == 0:
        if fen:
            raise ValueError("nothing to share the total by")
        return [Decimal("0.00")] * len(fractions)
    exact = [fen * w / whole for w in fractions]
    parts = [e.numerator // e.denominator for e in exact]
    left = fen - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), keys[i]))
    for i in order[:left]:
        parts[i] += 1
    return [(Decimal(p) / 100).quantize(FEN) for p in parts]


def exact_shares(total: Decimal, weights: Sequence) -> list[Fraction]:
    """The exact (unrounded) shares in yuan, for checking ``allocate``."""
    fractions = [Fraction(Decimal(w)) if not isinstance(w, int | Fraction) else Fraction(w) for w in weights]
    whole = sum(fractions, Fraction(0))
    return [Fraction(Decimal(total)) * w / whole for w in fractions]


def statement_roll(project: Project) -> VoterRoll | None:
    """The roll the statements were computed on: the decision's, or the one the statements' units belong to."""
    if project.decision_id:
        return project.decision.roll
    first = project.statements.select_related("unit__roll").first()
    return first.unit.roll if first else None


def _benefiting_units(project: Project, roll: VoterRoll) -> list[Unit]:
    units = roll.units.all()
    if project.buildings:
        units = units.filter(building__in=project.buildings)
    return sorted(units, key=lambda u: u.code)


@transaction.atomic
def compute_statements(project: Project, *, actor, roll: VoterRoll | None = None) -> list[ShareStatement]:
    """(Re)compute every benefiting unit's share of the owners' part; replaces the earlier statements."""
    project = (Project.objects.select_for_update(of=("self",)).select_related("area", "decision__roll")
               .get(pk=project.pk))
    _check_manage(actor, project.area, _("您不能管理该项目"))
    if project.status != Project.Status.PLANNED:
        raise Conflict(_("项目已开始实施，分摊明细不能再重新计算"))
    if project.decision_id:
        if roll is not None and roll.pk != project.decision.roll_id:
            raise ValidationError({"roll": _("项目关联了表决，只能按该表决的名册分摊")})
        roll = project.decision.roll
    elif roll is None:
        raise ValidationError({"roll": _("项目未关联表决，请选择受益户所在的名册")})
    elif not _inside(roll.area, project.area):
        raise ValidationError({"roll": _("该名册不属于项目所在区域")})
    units = _benefiting_units(project, roll)
    if not units:
        raise ValidationError({"roll": _("名册中没有符合受益楼栋的户，无法分摊")})
    if project.split == Project.Split.AREA:
        if any(u.floor_area < 0 for u in units):
            raise ValidationError({"roll": _("名册中有建筑面积为负数的户，请先更正名册")})
        weights = [u.floor_area for u in units]
        if sum(weights, Decimal(0)) == 0 and project.owners_share > 0:
            raise ValidationError({"split": _("受益户的建筑面积合计为 0，不能按面积分摊；请先补全名册中的面积，或改为按户均摊")})
    else:
        weights = [1] * len(units)
    amounts = allocate(project.owners_share, weights, [u.code for u in units])
    old = totals(project)
    before = {"statements": old["count"], "total": str(old["amount"])}
    project.statements.all().delete()
    statements = ShareStatement.objects.bulk_create(
        [ShareStatement(project=project, unit=unit, floor_area=unit.floor_area, amount=amount)
         for unit, amount in zip(units, amounts, strict=True)], batch_size=1000)
    zero_area = sum(1 for u in units if u.floor_area == 0) if project.split == Project.Split.AREA else 0
    audit.record(actor, "deliberation.compute_statements", project, before=before, after={
        "statements": len(statements), "total": str(sum(amounts, Decimal("0.00"))), "roll": roll.pk,
        "split": project.split, "buildings": project.buildings, "zero_area_units": zero_area})
    return statements


def zero_area_statements(project: Project):
    """Under the area split, the units whose floor area is 0 (and who therefore pay nothing)."""
    if project.split != Project.Split.AREA:
        return project.statements.none()
    return project.statements.filter(floor_area=0)


def totals(project: Project) -> dict:
    sums = project.statements.aggregate(area=Sum("floor_area"), amount=Sum("amount"))
    return {"count": project.statements.count(), "area": Decimal(sums["area"] or 0).quantize(FEN),
            "amount": Decimal(sums["amount"] or 0).quantize(FEN)}


def statement_xlsx(project: Project) -> bytes:
    """The statements as an xlsx: unit, building, floor area, amount, and a totals row; a second sheet
    with the project's three shares."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("分摊明细")[:31]
    sheet.append([_("房号/户号"), _("楼栋"), _("建筑面积（㎡）"), _("应分摊（元）")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = project.statements.select_related("unit").order_by("unit__building", "unit__code")
    for row in rows.iterator(chunk_size=2000):
        sheet.append([row.unit.code, row.unit.building, row.floor_area, row.amount])
    total = totals(project)
    sheet.append([_("合计"), _("%(n)s 户") % {"n": total["count"]}, total["area"], total["amount"]])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for column in ("C", "D"):
        for cell in sheet[column][1:]:
            cell.number_format = "0.00"
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 12
    sheet.column_dimensions["C"].width = 14
    sheet.column_dimensions["D"].width = 14
    sheet.freeze_panes = "A2"
    summary = book.create_sheet(_("项目")[:31])
    for label, value in _summary_rows(project):
        summary.append([label, value])
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary_rows(project: Project) -> list[tuple[str, object]]:
    rows = [(_("项目名称"), project.title), (_("所属区域"), str(project.area)),
            (_("总费用（元）"), project.total_cost), (_("政策资金（元）"), project.policy_funds),
            (_("集体/公共收益（元）"), project.committee_funds), (_("受益业主分担（元）"), project.owners_share),
            (_("分摊方式"), project.get_split_display()),
            (_("受益楼栋"), "、".join(project.buildings) if project.buildings else _("全部"))]
    if project.decision_id:
        rows.append((_("依据表决"), project.decision.title))
    return rows


# ------------------------------------------------------------------------------------ publicity


def _publication_days(days) -> int:
    try:
        return int(days)
    except (TypeError, ValueError):
        raise ValidationError({"days": _("公示天数应为整数")}) from None


def statement_text(project: Project) -> str:
    """The text of the cost-sharing publication: the three shares and each unit's amount."""
    lines = [_("项目：%(title)s") % {"title": project.title}]
    lines += [f"{label}：{value}" for label, value in _summary_rows(project)[2:]]
    lines.append("")
    lines.append("\t".join([_("房号/户号"), _("楼栋"), _("建筑面积（㎡）"), _("应分摊（元）")]))
    for row in project.statements.select_related("unit").order_by("unit__building", "unit__code"):
        lines.append(f"{row.unit.code}\t{row.unit.building}\t{row.floor_area}\t{row.amount}")
    total = totals(project)
    lines.append("\t".join([_("合计"), _("%(n)s 户") % {"n": total["count"]}, str(total["area"]),
                            str(total["amount"])]))
    return "\n".join(lines)


@transaction.atomic
def publish_statement(project: Project, *, actor, channel: str, days=7) -> Publication:
    """费用分摊公示: the statements as they are now, fixed in a publication (with its hash)."""
    project = Project.objects.select_for_update(of=("self",)).select_related("area", "decision").get(pk=project.pk)
    _check_manage(actor, project.area, _("您不能管理该项目"))
    if not project.statements.exists():
        raise Conflict(_("尚未计算分摊明细，不能公示"))
    return publicity.publish(
        actor=actor, kind=Publication.Kind.STATEMENT, area=project.area, project=project,
        title=_("%(title)s 费用分摊公示") % {"title": project.title}, content=statement_text(project),
        channel=channel, days=_publication_days(days))


def implementation_text(project: Project) -> str:
    lines = [_("项目：%(title)s") % {"title": project.title}, _("状态：%(status)s") % {
        "status": project.get_status_display()}]
    lines += [f"{label}：{value}" for label, value in _summary_rows(project)[2:]]
    lines.append("")
    lines.append(_("实施过程："))
    for update in project.updates.order_by("at", "pk"):
        when = timezone.localtime(update.at).strftime("%Y-%m-%d")
        photos = update.photos.count()
        extra = _("（照片 %(n)s 张）") % {"n": photos} if photos else ""
        lines.append(f"{when}  {update.progress}%  {update.note}{extra}")
    return "\n".join(lines)


@transaction.atomic
def publish_implementation(project: Project, *, actor, channel: str, days=7) -> Publication:
    """实施结果公开: the progress timeline of a completed project."""
    project = Project.objects.select_for_update(of=("self",)).select_related("area", "decision").get(pk=project.pk)
    _check_manage(actor, project.area, _("您不能管理该项目"))
    if project.status != Project.Status.DONE:
        raise Conflict(_("项目尚未完成，不能公开实施结果"))
    return publicity.publish(
        actor=actor, kind=Publication.Kind.IMPLEMENTATION, area=project.area, project=project,
        title=_("%(title)s 实施结果公开") % {"title": project.title}, content=implementation_text(project),
        channel=channel, days=_publication_days(days))


# ------------------------------------------------------------------------------------ progress


def parse_progress(value) -> int:
    if isinstance(value, bool):
        raise ValidationError({"progress": _("进度应为 0 到 100 之间的整数")})
    try:
        progress = int(str(value).strip().rstrip("%"))
    except (TypeError, ValueError):
        raise ValidationError({"progress": _("进度应为 0 到 100 之间的整数")}) from None
    if not 0 <= progress <= 100:
        raise ValidationError({"progress": _("进度应为 0 到 100 之间的整数")})
    return progress


def add_update(project: Project, *, actor, note, progress, photos=()) -> ProjectUpdate:
    """A progress update with photos. The first one starts the project (筹备中 → 实施中); 100 % completes
    it (已完成). Progress never goes back; a completed project takes no more updates."""
    from gongzhi.cases import photos as photo_store

    photos = list(photos or ())
    if not may_report(actor, project):
        raise PermissionDenied(_("您不能填报该项目的进展"))
    note = clean_text(note, "note", _("进展情况"), MAX_NOTE)
    progress = parse_progress(progress)
    try:
        photo_store.check_uploads(photos)  # every photo checked before anything is written
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None
    with photo_store.removed_on_error(), transaction.atomic():
        project = Project.objects.select_for_update(of=("self",)).select_related("area").get(pk=project.pk)
        if project.status == Project.Status.DONE:
            raise Conflict(_("项目已完成，不能再填报进展"))
        if progress < project.progress:
            raise ValidationError({"progress": _("进度不能低于上次填报的 %(n)s%%") % {"n": project.progress}})
        before = audit.snapshot(project, ["status", "progress"])
        update = ProjectUpdate.objects.create(project=project, note=note, progress=progress,
                                              by=actor if getattr(actor, "is_authenticated", False) else None)
        for upload in photos:
            image = photo_store.check_upload(upload)
            photo = ProjectPhoto(update=update)
            photo_store.write_jpeg(photo.image, f"{uuid.uuid4().hex}.jpg", image, max_side=1600, quality=82)
            photo.save()
        project.progress = progress
        if progress == 100:
            project.status = Project.Status.DONE
        elif project.status == Project.Status.PLANNED:
            project.status = Project.Status.UNDERWAY
        project.save(update_fields=["progress", "status"])
        audit.record(actor, "deliberation.project_update", project, before=before, after={
            **audit.snapshot(project, ["status", "progress"]), "update": update.pk, "photos": len(photos)},
            note=note[:200])
    return update
