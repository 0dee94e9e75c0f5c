"""Decisions and ballots: every write is one of these functions — check who may (PermissionDenied),
check the input (ValidationError, Chinese, keyed by field) and the state (Conflict), lock, write in
one transaction, leave an audit row (``deliberation.*``). Closing and the results are in
``results``; the arithmetic in ``rules`` and ``tally``; publications in ``publicity``.

Lock order, everywhere: the decision row, then an elector row. Every ballot write locks the
decision row, so that closing (which locks it too) never misses a ballot being written.

Freezing (``open_decision``) copies the roll into ``Elector`` rows per the ballot unit:

- OWNER — one elector per owner. A unit's co-owners vote as one (the unit counts once: judicial
  interpretation of the Civil Code's property chapter, art. 9, 一个专有部分按一人计算); units whose
  head member has the same ``owner_key`` (or, without a key, the same name AND phone number) are one
  owner: persons 1, households = number of units, floor area summed. Such an owner's building is
  the building of the first of their units (by building, then code): a building-level electorate
  counts the owner where that first unit is (the units of a merged owner in other buildings do not
  make them a voter of those buildings). Units with nobody listed still count (an elector with no
  account) — the law's denominators are every unit and every owner.
- HOUSEHOLD — one per unit: persons = its adult members, households 1, its floor area.
- PERSON — one per adult member: persons 1, households 1 for the head (0 otherwise), area 0.
- REPRESENTATIVE — one per representative member.

Members with no account are linked to the account whose phone number equals theirs, so that they
can vote online.

Secret decisions: who voted (``Participation``) is stored apart from how (``Vote`` rows without an
elector, carrying only the building and the weights); the audit rows of a secret ballot never name
a choice. A secret paper ballot carries no name: the two entries pair by its serial number and the
ballot's building and floor area are typed in from the ballot; who took a ballot comes from the
sign-in sheet (``record_sign_in``).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import acting_user

from . import publicity, queries
from .models import (
    Decision,
    Elector,
    Electorate,
    Member,
    PaperEntry,
    Participation,
    Question,
    Unit,
    Vote,
    VoterRoll,
)

Status = Decision.Status
BallotUnit = Decision.BallotUnit
Channel = Participation.Channel
CHOICES = tuple(Vote.Choice.values)
PAPER_CHANNELS = (Channel.PAPER, Channel.DOOR)
MAX_QUESTIONS = 20
MAX_ELECTORATES = 10
KEY_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
SECRET_META = ("building", "area")  # the keys of a secret paper entry's ``choices`` beside the positions


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _require_manager(actor, area, message: str | None = None) -> None:
    if not queries.can_manage(actor, area):
        raise PermissionDenied(message or _("您不能管理该区域的表决"))


def _locked(decision: Decision) -> Decision:
    return Decision.objects.select_for_update(of=("self",)).select_related("area", "roll").get(pk=decision.pk)


# ------------------------------------------------------------------------------------ creating


def _clean_electorates(electorates, roll) -> list[dict]:
    if not electorates:
        return [{"key": "all", "name": _("全体"), "buildings": []}]
    if not isinstance(electorates, list | tuple) or len(electorates) > MAX_ELECTORATES:
        raise ValidationError({"electorates": _("表决范围格式不正确")})
    known = set(Unit.objects.filter(roll=roll).values_list("building", flat=True))
    cleaned, keys = [], set()
    for item in electorates:
        if not isinstance(item, dict):
            raise ValidationError({"electorates": _("表决范围格式不正确")})
        key = item.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key) or key in keys:
            raise ValidationError({"electorates": _("表决范围的标识不正确或重复")})
        buildings = item.get("buildings") or []
        if not isinstance(buildings, list | tuple) or not all(isinstance(b, str) and b.strip() for b in buildings):
            raise ValidationError({"buildings": _("楼栋格式不正确")})
        buildings = sorted({b.strip() for b in buildings})
        missing = [b for b in buildings if b not in known]
        if missing:
            raise ValidationError({"buildings": _("名册中没有楼栋：%(b)s") % {"b": "、".join(missing)}})
        keys.add(key)
        cleaned.append({"key": key, "name": clean_text(item.get("name") or key, "electorates", _("范围名称"), 80),
                        "buildings": buildings})
    return cleaned


def _clean_questions(questions, electorates: list[dict], preset_code: str) -> list[dict]:
    from . import rules

    if not questions or not isinstance(questions, list | tuple):
        raise ValidationError({"questions": _("请至少设置一个表决事项")})
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError({"questions": _("表决事项不能超过 %(n)s 个") % {"n": MAX_QUESTIONS}})
    names = {e["key"]: str(e["name"]) for e in electorates}
    cleaned = []
    for position, item in enumerate(questions, start=1):
        if not isinstance(item, dict):
            raise ValidationError({"questions": _("表决事项格式不正确")})
        text = clean_text(item.get("text"), "questions", _("表决内容"), 300)
        rule = rules.validate(item.get("rule"), electorates=names, field="questions")
        requires = item.get("requires")
        if requires is not None and (isinstance(requires, bool) or not isinstance(requires, int)
                                     or not 1 <= requires < position):
            raise ValidationError({"questions": _("前提事项应为排在前面的表决事项")})
        cleaned.append({"position": position, "text": text, "rule": rule, "requires": requires,
                        "rule_text": rules.describe(rule, names), "preset": item.get("preset") or preset_code})
    return cleaned


def preset_parts(code: str, *, title: str = "", building: str = "") -> dict:
    """A preset's questions, electorates and ballot unit as ``create_decision`` takes them (question
    texts filled with ``title``; ``requires`` as a position); ``building`` fills an electorate whose
    buildings the organiser chooses (the elevator's building)."""
    from . import presets

    preset = presets.PRESETS.get(code) if isinstance(code, str) else None
    if preset is None:
        raise ValidationError({"preset": _("未知的规则模板")})
    questions = [{"text": str(q.text) % {"title": title}, "rule": q.rule,
                  "requires": None if q.requires is None else q.requires + 1} for q in preset.questions]
    electorates = []
    for spec in preset.electorates:
        buildings = spec.buildings
        if buildings is None:
            if not building:
                raise ValidationError({"building": _("请填写“%(name)s”所在楼栋") % {"name": spec.name}})
            buildings = [building]
        electorates.append({"key": spec.key, "name": str(spec.name), "buildings": list(buildings)})
    return {"questions": questions, "electorates": electorates, "ballot_unit": preset.ballot_unit}


@transaction.atomic
def create_decision(*, actor, area, roll, title: str, description: str = "", ballot_unit=None,
                    secret: bool = False, opens_at=None, closes_at=None, preset: str | None = None,
                    questions: list | None = None, electorates: list | None = None,
                    building: str = "") -> Decision:
    """A draft decision on ``roll``: from a preset (``presets.PRESETS[code]``; ``building`` for the
    elevator's building electorate) or from explicit ``questions`` [{text, rule, requires}] (requires:
    the position of an earlier question) and ``electorates`` [{key, name, buildings}]."""
    _require_manager(actor, area, _("您不能在该区域发起表决"))
    if roll is None or not roll.area.path.startswith(area.path):
        raise ValidationError({"roll": _("名册应属于该区域或其下级区域")})
    title = clean_text(title, "title", _("表决事项"), 200)
    description = clean_text(description, "description", _("说明"), 10000, required=False)
    if preset:
        building = building.strip() if isinstance(building, str) else ""
        parts = preset_parts(preset, title=title, building=building)
        questions = questions or parts["questions"]
        electorates = electorates or parts["electorates"]
        ballot_unit = ballot_unit or parts["ballot_unit"]
    ballot_unit = ballot_unit or BallotUnit.OWNER
    if ballot_unit not in BallotUnit.values:
        raise ValidationError({"ballot_unit": _("未知的投票单位")})
    if opens_at and closes_at and closes_at <= opens_at:
        raise ValidationError({"closes_at": _("截止时间应晚于开始时间")})
    electorates = _clean_electorates(electorates, roll)
    questions = _clean_questions(questions, electorates, preset or "")
    decision = Decision.objects.create(
        area=area, roll=roll, title=title, description=description, ballot_unit=ballot_unit, secret=bool(secret),
        opens_at=opens_at, closes_at=closes_at, created_by=acting_user(actor))
    Electorate.objects.bulk_create([Electorate(decision=decision, **e) for e in electorates])
    made: dict[int, Question] = {}
    for q in questions:
        made[q["position"]] = Question.objects.create(
            decision=decision, position=q["position"], text=q["text"], preset=q["preset"][:40], rule=q["rule"],
            rule_text=q["rule_text"], requires=made.get(q["requires"]) if q["requires"] else None)
    audit.record(actor, "deliberation.decision.create", decision, after={
        **audit.snapshot(decision), "questions": [{k: q[k] for k in ("position", "text", "rule", "requires")}
                                                  for q in questions], "electorates": electorates})
    return decision


# ------------------------------------------------------------------------------------ opening


def _link_members_by_phone(roll) -> int:
    """Members without an account get the (active) account whose phone number equals theirs."""
    from django.contrib.auth import get_user_model

    members = list(Member.objects.filter(roll=roll, user__isnull=True).exclude(phone=""))
    if not members:
        return 0
    users = {u.phone: u for u in get_user_model().objects.filter(
        phone__in={m.phone for m in members}, is_active=True)}
    linked = [m for m in members if m.phone in users]
    for member in linked:
        member.user = users[member.phone]
    Member.objects.bulk_update(linked, ["user"], batch_size=1000)
    return len(linked)


def _first_user(members):
    for member in members:
        if member.is_head and member.user_id:
            return member.user_id
    return next((m.user_id for m in members if m.user_id), None)


def _names(members, unit_codes) -> str:
    names = list(dict.fromkeys(m.name for m in members))
    return ("、".join(names) or "、".join(unit_codes))[:200]


def _owner_key(unit, members) -> str:
    head = members[0]
    if head.owner_key:
        return "k:" + head.owner_key
    if head.phone:
        return f"p:{head.name}/{head.phone}"
    return "u:" + unit.code


def _freeze(decision: Decision) -> list[Elector]:
    """The decision's electors from its roll (not saved)."""
    units = list(Unit.objects.filter(roll=decision.roll).order_by("building", "code"))
    by_unit: dict[int, list[Member]] = {u.pk: [] for u in units}
    for member in Member.objects.filter(roll=decision.roll).order_by("-is_head", "pk"):
        by_unit[member.unit_id].append(member)
    electors: list[Elector] = []
    unit_kind = decision.ballot_unit

    def person(member, unit):
        return Elector(decision=decision, key=f"m:{member.pk}", label=member.name[:200], unit_codes=unit.code,
                       building=unit.building, phone=member.phone, user_id=member.user_id, persons=1,
                       households=1 if member.is_head else 0, floor_area=Decimal(0),
                       representatives=1 if member.is_representative else 0)

    if unit_kind == BallotUnit.OWNER:
        groups: dict[str, list[Unit]] = {}
        for unit in units:
            members = by_unit[unit.pk]
            groups.setdefault(_owner_key(unit, members) if members else "u:" + unit.code, []).append(unit)
        for group in groups.values():
            members = [m for u in group for m in by_unit[u.pk]]
            codes = [u.code for u in group]
            electors.append(Elector(
                decision=decision, key=("o:" + group[0].code)[:80], label=_names(members, codes),
                unit_codes="、".join(codes)[:400], building=group[0].building,
                phone=next((m.phone for m in members if m.phone), ""), user_id=_first_user(members), persons=1,
                households=len(group), floor_area=sum((u.floor_area for u in group), Decimal(0)),
                representatives=1 if any(m.is_representative for m in members) else 0))
    elif unit_kind == BallotUnit.HOUSEHOLD:
        for unit in units:
            members = by_unit[unit.pk]
            electors.append(Elector(
                decision=decision, key=("u:" + unit.code)[:80], label=(members[0].name if members else unit.code),
                unit_codes=unit.code, building=unit.building, phone=next((m.phone for m in members if m.phone), ""),
                user_id=_first_user(members), persons=sum(1 for m in members if m.is_adult), households=1,
                floor_area=unit.floor_area, representatives=1 if any(m.is_representative for m in members) else 0))
    else:
        wanted = (lambda m: m.is_adult) if unit_kind == BallotUnit.PERSON else (lambda m: m.is_representative)
        electors = [person(m, u) for u in units for m in by_unit[u.pk] if wanted(m)]
    return electors


@transaction.atomic
def open_decision(decision: Decision, *, actor, now=None) -> Decision:
    """Freeze the electors from the roll and open the vote."""
    decision = _locked(decision)
    _require_manager(actor, decision.area)
    if decision.status != Status.DRAFT:
        raise Conflict(_("只有草稿状态的表决可以开始"))
    if not decision.questions.exists():
        raise ValidationError({"questions": _("请至少设置一个表决事项")})
    before = audit.snapshot(decision)
    # A re-import of the roll (rolls.import_roll locks it too) waits, or has finished: never half read.
    VoterRoll.objects.select_for_update().get(pk=decision.roll_id)
    linked = _link_members_by_phone(decision.roll)
    electors = _freeze(decision)
    if not electors:
        raise ValidationError({"roll": _("名册中没有符合条件的选民，不能开始表决")})
    Elector.objects.bulk_create(electors, batch_size=2000)
    decision.status = Status.OPEN
    decision.opened_at = _now(now)
    decision.save(update_fields=["status", "opened_at"])
    audit.record(actor, "deliberation.decision.open", decision, before=before,
                 after={**audit.snapshot(decision), "electors": len(electors), "members_linked_by_phone": linked})
    return decision


@transaction.atomic
def cancel_decision(decision: Decision, *, actor, reason: str = "") -> Decision:
    decision = _locked(decision)
    _require_manager(actor, decision.area)
    if decision.status not in (Status.DRAFT, Status.OPEN):
        raise Conflict(_("已计票的表决不能撤销"))
    reason = clean_text(reason, "reason", _("撤销原因"), 500, required=False)
    before = audit.snapshot(decision)
    decision.status = Status.CANCELLED
    decision.save(update_fields=["status"])
    audit.record(actor, "deliberation.decision.cancel", decision, before=before, after=audit.snapshot(decision),
                 note=reason)
    return decision


@transaction.atomic
def publish_result(decision: Decision, *, actor, channel: str, days: int = 7, starts_on=None):
    """Publish the result (公示) of a closed decision: ``publicity.publish`` with the result text."""
    from . import results

    decision = _locked(decision)
    _require_manager(actor, decision.area)
    if decision.status != Status.CLOSED:
        raise Conflict(_("只有已计票的表决可以公示结果"))
    before = audit.snapshot(decision)
    publication = publicity.publish(
        actor=actor, kind="result", area=decision.area, title=_("%(title)s 表决结果公示") % {"title": decision.title},
        content=results.result_text(decision), channel=channel, days=days, starts_on=starts_on, decision=decision)
    decision.status = Status.PUBLISHED
    decision.save(update_fields=["status"])
    audit.record(actor, "deliberation.decision.publish", decision, before=before,
                 after={**audit.snapshot(decision), "publication": publication.pk})
    return publication


# ------------------------------------------------------------------------------------ ballots


def clean_choices(decision: Decision, choices) -> dict[str, str]:
    """``{position: "for"|"against"|"abstain"}`` for every question (positions as int or digits)."""
    positions = set(decision.questions.values_list("position", flat=True))
    if not isinstance(choices, dict):
        raise ValidationError({"choices": _("请对每个表决事项选择同意、反对或弃权")})
    cleaned: dict[str, str] = {}
    for key, value in choices.items():
        try:
            position = int(key)
        except (TypeError, ValueError):
            raise ValidationError({"choices": _("未知的表决事项")}) from None
        if isinstance(key, bool) or position not in positions:
            raise ValidationError({"choices": _("未知的表决事项")})
        if value not in CHOICES:
            raise ValidationError({"choices": _("请对每个表决事项选择同意、反对或弃权")})
        cleaned[str(position)] = value
    if len(cleaned) != len(positions):
        raise ValidationError({"choices": _("请对每个表决事项选择同意、反对或弃权")})
    return cleaned


def _write_votes(decision: Decision, choices: dict[str, str], *, elector: Elector | None, building: str,
                 weights: dict) -> None:
    questions = {str(q.position): q for q in decision.questions.all()}
    Vote.objects.bulk_create([
        Vote(question=questions[position], elector=elector, choice=choice, building=building, **weights)
        for position, choice in sorted(choices.items(), key=lambda kv: int(kv[0]))])


def _weights(elector: Elector) -> dict:
    return {"persons": elector.persons, "households": elector.households, "floor_area": elector.floor_area,
            "representatives": elector.representatives}


def _participate(decision: Decision, elector: Elector, *, channel: str, actor, voted: bool = True) -> Participation:
    """The one participation row of an elector: a ballot (``voted``) or only attendance (到会登记, a
    meeting's attendee who has not voted). Whoever votes took part, so a ballot counts as attended too.
    The unique constraint is the guard against a second ballot; an attendee's row becomes their
    ballot's."""
    try:
        with transaction.atomic():
            return Participation.objects.create(decision=decision, elector=elector, channel=channel, voted=voted,
                                                attended=True, recorded_by=acting_user(actor))
    except IntegrityError:
        pass
    existing = Participation.objects.select_for_update().get(decision=decision, elector=elector)
    if voted and not existing.voted:
        existing.voted, existing.channel = True, channel
        existing.save(update_fields=["voted", "channel"])
        return existing
    if not voted:
        raise Conflict(_("该选民已经登记"))
    raise Conflict(_("该选民已经投过票") if channel != Channel.ONLINE else _("您已经投过票"))


def _require_open(decision: Decision) -> None:
    if decision.status != Status.OPEN:
        raise Conflict(_("该表决不在投票期内"))


@transaction.atomic
def cast_online(decision: Decision, *, actor, choices, now=None) -> Participation:
    """The actor's own ballot, once, while the vote runs."""
    decision = _locked(decision)
    elector = queries.elector_of(actor, decision)
    if elector is None:
        raise PermissionDenied(_("您不在该表决的选民名单中"))
    _require_open(decision)
    now = _now(now)
    if decision.opens_at and now < decision.opens_at:
        raise Conflict(_("表决尚未开始"))
    if decision.closes_at and now > decision.closes_at:
        raise Conflict(_("表决已截止"))
    choices = clean_choices(decision, choices)
    if PaperEntry.objects.filter(decision=decision, elector=elector).exclude(status=PaperEntry.Status.VOID).exists():
        raise Conflict(_("您的书面选票正在录入，不能再在线投票"))
    participation = _participate(decision, elector, channel=Channel.ONLINE, actor=actor)
    _write_votes(decision, choices, elector=None if decision.secret else elector, building=elector.building,
                 weights=_weights(elector))
    after = {"decision": decision.pk, "elector": elector.pk, "channel": Channel.ONLINE}
    if not decision.secret:
        after["choices"] = choices
    audit.record(actor, "deliberation.vote", participation, after=after)
    return participation


def _secret_meta(building, floor_area) -> dict:
    building = clean_text(building, "building", _("楼栋"), 64, required=False)
    try:
        area = Decimal(str(floor_area).strip() or "0") if floor_area not in (None, "") else Decimal(0)
    except (InvalidOperation, ValueError):
        area = Decimal("NaN")
    if not area.is_finite() or area < 0 or area >= Decimal(10) ** 10 or area != area.quantize(Decimal("0.01")):
        raise ValidationError({"floor_area": _("建筑面积应为不小于 0 的数，最多两位小数")})
    return {"building": building, "area": str(area.quantize(Decimal("0.01")))}


@transaction.atomic
def enter_paper(decision: Decision, *, actor, elector: Elector | None = None, serial: str = "", choices,
                channel: str = Channel.PAPER, building: str = "", floor_area=None) -> PaperEntry:
    """One person's typing of a paper or door-to-door ballot. The second typing by another person
    records the ballot when both agree (both MATCHED) or flags both (MISMATCH) when they don't.
    A secret ballot has no elector: ``serial`` pairs the entries, ``building`` and ``floor_area`` are
    copied from the ballot."""
    decision = _locked(decision)
    if not queries.can_enter_ballots(actor, decision.area):
        raise PermissionDenied(_("您不能录入该表决的选票"))
    if acting_user(actor) is None:
        raise PermissionDenied(_("录入选票须由工作人员登录后进行"))
    _require_open(decision)
    if channel not in PAPER_CHANNELS:
        raise ValidationError({"channel": _("请选择书面或入户")})
    serial = clean_text(serial, "serial", _("选票编号"), 40, required=decision.secret)
    cleaned = clean_choices(decision, choices)
    live = PaperEntry.objects.filter(decision=decision).exclude(status=PaperEntry.Status.VOID)
    if decision.secret:
        if elector is not None:
            raise ValidationError({"elector": _("无记名表决的选票不记选民，请只填写选票编号")})
        cleaned.update(_secret_meta(building, floor_area))
        live = live.filter(serial=serial)
    else:
        if elector is None or elector.decision_id != decision.pk:
            raise ValidationError({"elector": _("请选择选民")})
        elector = Elector.objects.select_for_update().get(pk=elector.pk)
        if Participation.objects.filter(decision=decision, elector=elector, voted=True).exists():
            raise Conflict(_("该选民已经投过票"))
        live = live.filter(elector=elector)
    live = list(live.order_by("pk").select_for_update(of=("self",)))
    if any(e.status == PaperEntry.Status.MISMATCH for e in live):
        raise Conflict(_("这张选票的两次录入不一致，请管理人员作废后重新录入"))
    if any(e.status == PaperEntry.Status.MATCHED for e in live):
        raise Conflict(_("这张选票已经计入"))
    if any(e.entered_by_id == actor.pk for e in live):
        raise Conflict(_("您已录入过这张选票，须由另一人复核录入"))
    entry = PaperEntry.objects.create(decision=decision, elector=elector, channel=channel, serial=serial,
                                      choices=cleaned, entered_by=actor)
    first = live[0] if live else None
    if first is None:
        audit.record(actor, "deliberation.paper.enter", entry, after=_entry_audit(entry, decision))
        return entry
    agreed = first.choices == cleaned and first.channel == channel
    status = PaperEntry.Status.MATCHED if agreed else PaperEntry.Status.MISMATCH
    PaperEntry.objects.filter(pk__in=[first.pk, entry.pk]).update(status=status)
    entry.status = status
    if agreed:
        if decision.secret:
            meta = {k: cleaned.pop(k) for k in SECRET_META}
            _write_votes(decision, cleaned, elector=None, building=meta["building"], weights={
                "persons": 1, "households": 1, "floor_area": Decimal(meta["area"]),
                "representatives": 1 if decision.ballot_unit == BallotUnit.REPRESENTATIVE else 0})
        else:
            _participate(decision, elector, channel=channel, actor=actor)
            _write_votes(decision, cleaned, elector=elector, building=elector.building, weights=_weights(elector))
    audit.record(actor, "deliberation.paper.match" if agreed else "deliberation.paper.mismatch", entry,
                 after={**_entry_audit(entry, decision), "first_entry": first.pk})
    return entry


def _entry_audit(entry: PaperEntry, decision: Decision) -> dict:
    data = {"decision": decision.pk, "elector": entry.elector_id, "serial": entry.serial, "channel": entry.channel,
            "status": entry.status}
    if not decision.secret:
        data["choices"] = entry.choices
    return data


@transaction.atomic
def void_paper_entries(decision: Decision, target, *, actor, reason: str) -> int:
    """A manager voids the live entries of one ballot (an ``Elector`` or, in a secret decision, a
    serial number), so that it can be typed in again (the uniqueness of a clerk's typing leaves voided
    rows out). Voided rows keep their ballot, choices and who typed them."""
    decision = _locked(decision)
    _require_manager(actor, decision.area, _("只有管理人员可以作废录入"))
    _require_open(decision)
    reason = clean_text(reason, "reason", _("作废原因"), 500)
    entries = PaperEntry.objects.filter(decision=decision).exclude(status=PaperEntry.Status.VOID)
    if isinstance(target, Elector):
        entries = entries.filter(elector=target)
    elif isinstance(target, str) and target.strip():
        entries = entries.filter(serial=target.strip(), elector__isnull=True)
    else:
        raise ValidationError({"target": _("请指定要作废的选票")})
    entries = list(entries.order_by("pk").select_for_update(of=("self",)))
    if not entries:
        raise Conflict(_("没有可作废的录入"))
    if any(e.status == PaperEntry.Status.MATCHED for e in entries):
        raise Conflict(_("已计入的选票不能作废"))
    before = [_entry_audit(e, decision) | {"id": e.pk, "entered_by": e.entered_by_id} for e in entries]
    PaperEntry.objects.filter(pk__in=[e.pk for e in entries]).update(status=PaperEntry.Status.VOID)
    audit.record(actor, "deliberation.paper.void", decision, before={"entries": before}, after={"voided": len(entries)},
                 note=reason)
    return len(entries)


@transaction.atomic
def record_sign_in(decision: Decision, *, actor, elector: Elector, channel: str = Channel.PAPER) -> Participation:
    """The sign-in sheet. A secret decision: this elector took a paper ballot (their choices are typed
    in by serial, unlinked) — a participation. Otherwise: this elector is present at the meeting
    (到会登记) without a ballot yet — what the attendance conditions of a villagers' or
    representatives' meeting count (their ballots, typed in or online, count as attendance too)."""
    decision = _locked(decision)
    if not queries.can_enter_ballots(actor, decision.area):
        raise PermissionDenied(_("您不能录入该表决的选票"))
    _require_open(decision)
    if not decision.secret:
        channel = Channel.MEETING
    elif channel not in PAPER_CHANNELS:
        raise ValidationError({"channel": _("请选择书面或入户")})
    if elector is None or elector.decision_id != decision.pk:
        raise ValidationError({"elector": _("请选择选民")})
    participation = _participate(decision, elector, channel=channel, actor=actor, voted=decision.secret)
    audit.record(actor, "deliberation.sign_in", participation,
                 after={"decision": decision.pk, "elector": elector.pk, "channel": channel})
    return participation
