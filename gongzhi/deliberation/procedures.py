"""四议三公开 — a village matter through four deliberations and three publications (issue 10).

- ``start_procedure(actor=, area=, title=, description=)`` — the procedure with its four ``Stage`` rows
  in order: proposal by the village party organisation → discussion by the two committees → review by
  the party members' meeting → decision by the villagers' (representatives') meeting. Each stage carries
  its rule from ``presets.STAGE_PRESETS`` (the rule and its text are copied, so a later change of the
  presets changes nothing in a running procedure).
- ``record_stage(stage, actor=, held_on=, eligible=, present=, votes_for=, votes_against=, minutes=,
  attendees=)`` — what the meeting of one stage did. Stages are recorded in order: a stage whose
  predecessor has not passed, or one already recorded, is a ``Conflict``. The stage's rule is evaluated
  (``rules.evaluate``) on the figures built from the numbers (``stage_figures``); passed and the line by
  line explanation are stored. A stage that fails ends the procedure (REJECTED; the matter may be taken
  up again as a new procedure); the last stage passing makes it DECIDED.
  **Attendance list and ``present``:** with an attendance list (``attendees``: dicts of name, role,
  present, optional signature image), ``present`` may be left ``None`` — it is then the number of
  people marked present; if it is given it must equal that number. The list may name people who are
  not counted as eligible (a township official attending), so only ``present ≤ eligible`` is checked.
- The three publications (三公开) through ``publicity.publish``: ``publish_topic`` once the proposal
  has passed, ``publish_decision`` once the villagers' meeting has decided (and the topic was
  published), ``publish_implementation`` once the decision was published (the procedure becomes
  IMPLEMENTED). Each publication once; each starts no earlier than what it follows.
- ``link_decision(procedure, actor=, decision=)`` — when the villagers' meeting votes by ballot, the
  ``Decision`` of that ballot (in the procedure's area or below), until the villagers' stage is recorded.

Who may: ``queries.can_manage`` on the procedure's area (``actor=None`` is the system). Every write
locks the procedure row first, then its stage, and leaves an audit row (``deliberation.*``).
"""

from __future__ import annotations

import datetime
import io
import uuid
import warnings

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.scoping import acting_user

from . import presets, publicity, rules
from .models import Attendee, Decision, Procedure, Publication, Stage
from .queries import can_manage

#: The four deliberations, in order (``Stage.position`` = index + 1).
STAGE_ORDER = (Stage.Kind.PROPOSAL, Stage.Kind.COMMITTEES, Stage.Kind.PARTY_MEMBERS, Stage.Kind.VILLAGERS)
MAX_PERSONS = 100_000
MAX_ATTENDEES = 500
MAX_MINUTES = 20_000
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024
MAX_SIGNATURE_SIDE = 4000
PUBLICATION_DAYS = 7


def _check(actor, area) -> None:
    if not can_manage(actor, area):
        raise PermissionDenied(_("您不能管理该区域的四议三公开"))


def _text(value, field: str, limit: int, *, required: str | None = None) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise ValidationError({field: [required]})
    if len(value) > limit:
        raise ValidationError({field: [_("不能超过 %(n)s 个字符") % {"n": limit}]})
    return value


def _count(value, field: str, label: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: [_("%(label)s应为整数") % {"label": label}]})
    if not minimum <= value <= MAX_PERSONS:
        raise ValidationError({field: [_("%(label)s应在 %(min)s 到 %(max)s 之间") % {
            "label": label, "min": minimum, "max": MAX_PERSONS}]})
    return value


# ------------------------------------------------------------------------------------ rules


def stage_rule(kind: str) -> tuple[dict, str]:
    """The rule of a stage of ``kind`` (``presets.STAGE_PRESETS``) and its text."""

    preset = presets.STAGE_PRESETS[kind]
    rule = rules.validate(preset.rule)
    source = str(getattr(preset, "source", "") or "")
    return rule, "\n".join(t for t in (source, rules.describe(rule)) if t)


# ------------------------------------------------------------------------------------ attendance


def clean_signature(upload, row: int) -> ContentFile | None:
    """An uploaded signature image (PNG or JPEG): size-checked, decoded by Pillow, re-encoded as a
    grey PNG (only the pixels are kept). ``None`` when nothing was uploaded."""
    from PIL import Image

    if not upload:
        return None
    garbage = ValidationError({"attendees": [_("第 %(n)s 位参会人员的签名图片无法识别") % {"n": row}]})
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_SIGNATURE_BYTES:
        raise ValidationError({"attendees": [_("第 %(n)s 位参会人员的签名图片不能超过 2 MB") % {"n": row}]})
    try:
        upload.seek(0)
        raw = upload.read(MAX_SIGNATURE_BYTES + 1)
    except (AttributeError, OSError, ValueError):
        raise garbage from None
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise ValidationError({"attendees": [_("第 %(n)s 位参会人员的签名图片不能超过 2 MB") % {"n": row}]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=["PNG", "JPEG"])
            width, height = image.size
            if not (0 < width <= MAX_SIGNATURE_SIDE and 0 < height <= MAX_SIGNATURE_SIDE):
                raise garbage
            image.load()
            rgba = image.convert("RGBA")
    except ValidationError:
        raise
    except Exception:  # truncated, corrupt, a bomb: whatever a hostile file makes the decoder raise
        raise garbage from None
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.convert("L").save(out, "PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.png")


def clean_attendees(attendees) -> list[dict]:
    """The attendance list as clean dicts (name, role, present, signature as a ``ContentFile`` or None)."""
    if attendees is None:
        return []
    if not isinstance(attendees, list | tuple):
        raise ValidationError({"attendees": [_("参会人员名单格式不正确")]})
    if len(attendees) > MAX_ATTENDEES:
        raise ValidationError({"attendees": [_("参会人员不能超过 %(n)s 人") % {"n": MAX_ATTENDEES}]})
    rows = []
    for n, row in enumerate(attendees, start=1):
        if not isinstance(row, dict):
            raise ValidationError({"attendees": [_("参会人员名单格式不正确")]})
        name = row.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            raise ValidationError({"attendees": [_("请填写第 %(n)s 位参会人员的姓名") % {"n": n}]})
        role = row.get("role") or ""
        role = role.strip() if isinstance(role, str) else ""
        if len(name) > 64 or len(role) > 64:
            raise ValidationError({"attendees": [_("第 %(n)s 位参会人员的姓名或身份不能超过 64 个字符") % {"n": n}]})
        rows.append({"name": name, "role": role, "present": bool(row.get("present", True)),
                     "signature": clean_signature(row.get("signature"), n)})
    return rows


def count_present(eligible, present, rows: list[dict]) -> int:
    """``present`` checked against the attendance list (or taken from it when ``None``)."""
    if rows:
        marked = sum(1 for r in rows if r["present"])
        if present is None:
            present = marked
        elif present != marked:
            raise ValidationError({"present": [_("实到人数（%(present)s）与签到名单中到会的人数（%(marked)s）不一致") % {
                "present": present, "marked": marked}]})
    if present is None:
        raise ValidationError({"present": [_("请填写实到人数，或填写签到名单")]})
    present = _count(present, "present", _("实到人数"))
    if eligible is not None and present > eligible:
        raise ValidationError({"present": [_("实到人数不能超过应到人数")]})
    return present


def save_attendees(rows: list[dict], **parent) -> list[Attendee]:
    """Write the attendance list of a stage (``stage=``) or a meeting (``meeting=``)."""
    made = []
    for row in rows:
        attendee = Attendee(name=row["name"], role=row["role"], present=row["present"], **parent)
        if row["signature"] is not None:
            attendee.signature.save(row["signature"].name, row["signature"], save=False)
        attendee.save()
        made.append(attendee)
    return made


# ------------------------------------------------------------------------------------ the procedure


def start_procedure(*, actor, area, title: str, description: str = "") -> Procedure:
    """A new matter with its four stages (see the module's docstring)."""
    _check(actor, area)
    title = _text(title, "title", 200, required=_("请填写议题"))
    description = _text(description, "description", MAX_MINUTES)
    stage_rules = [(kind, *stage_rule(kind)) for kind in STAGE_ORDER]
    with transaction.atomic():
        procedure = Procedure.objects.create(area=area, title=title, description=description,
                                             created_by=acting_user(actor))
        Stage.objects.bulk_create([Stage(procedure=procedure, kind=kind, position=position, rule=rule,
                                         rule_text=text)
                                   for position, (kind, rule, text) in enumerate(stage_rules, start=1)])
        audit.record(actor, "deliberation.start_procedure", procedure,
                     after={**audit.snapshot(procedure, ["area", "title", "status"]), "stages": list(STAGE_ORDER)})
    return procedure


def current_stage(procedure: Procedure) -> Stage | None:
    """The stage to record next, or ``None`` (all recorded, or the procedure was rejected)."""
    if procedure.status != Procedure.Status.RUNNING:
        return None
    return procedure.stages.filter(passed__isnull=True).order_by("position").first()


def _lock(procedure: Procedure) -> Procedure:
    return Procedure.objects.select_for_update().select_related("area").get(pk=procedure.pk)


def record_stage(stage: Stage, *, actor, held_on, eligible, present=None, votes_for, votes_against=0,
                 minutes: str = "", attendees=None) -> Stage:
    """Record the meeting of one stage and evaluate its rule (see the module's docstring)."""

    procedure = Procedure.objects.select_related("area").get(pk=stage.procedure_id)
    _check(actor, procedure.area)
    if not isinstance(held_on, datetime.date) or isinstance(held_on, datetime.datetime):
        raise ValidationError({"held_on": [_("请填写召开日期")]})
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": [_("召开日期不能晚于今天")]})
    eligible = _count(eligible, "eligible", _("应到人数"), minimum=1)
    rows = clean_attendees(attendees)
    present = count_present(eligible, present, rows)
    votes_for = _count(votes_for, "votes_for", _("同意人数"))
    votes_against = _count(votes_against if votes_against is not None else 0, "votes_against", _("反对人数"))
    if votes_for + votes_against > present:
        raise ValidationError({"votes_for": [_("同意与反对人数之和不能超过实到人数")]})
    minutes = _text(minutes, "minutes", MAX_MINUTES, required=_("请填写会议记录"))
    with transaction.atomic():
        procedure = _lock(procedure)
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
        if locked.passed is not None:
            raise Conflict(_("“%(stage)s”已于 %(at)s 记录，不能重复提交") % {
                "stage": locked.get_kind_display(), "at": locked.held_on.isoformat() if locked.held_on else ""})
        if procedure.status != Procedure.Status.RUNNING:
            raise Conflict(_("该议题已%(status)s，不能再记录议事环节") % {"status": procedure.get_status_display()})
        previous = procedure.stages.filter(position__lt=locked.position).order_by("-position").first()
        if previous is not None and previous.passed is not True:
            raise Conflict(_("请先完成上一环节“%(stage)s”") % {"stage": previous.get_kind_display()})
        if previous is not None and previous.held_on and held_on < previous.held_on:
            raise ValidationError({"held_on": [_("召开日期不能早于上一环节（%(date)s）") % {
                "date": previous.held_on.isoformat()}]})
        outcome = rules.evaluate(locked.rule, presets.stage_figures(eligible, present, votes_for, votes_against))
        fields = ["held_on", "eligible", "present", "votes_for", "votes_against", "passed", "explanation",
                  "minutes", "recorded_by", "recorded_at"]
        before = audit.snapshot(locked, fields)
        locked.held_on, locked.eligible, locked.present = held_on, eligible, present
        locked.votes_for, locked.votes_against = votes_for, votes_against
        locked.passed, locked.explanation = bool(outcome.passed), list(outcome.lines)
        locked.minutes, locked.recorded_by, locked.recorded_at = minutes, acting_user(actor), timezone.now()
        locked.save(update_fields=fields)
        made = save_attendees(rows, stage=locked)
        audit.record(actor, "deliberation.record_stage", locked, before=before,
                     after={**audit.snapshot(locked, fields), "attendees": len(made)})
        status = None
        if not locked.passed:
            status = Procedure.Status.REJECTED
        elif not procedure.stages.filter(position__gt=locked.position).exists():
            status = Procedure.Status.DECIDED
        if status:
            _set_status(actor, procedure, status)
    return locked


def _set_status(actor, procedure: Procedure, status: str) -> None:
    before = audit.snapshot(procedure, ["status"])
    procedure.status = status
    procedure.save(update_fields=["status"])
    audit.record(actor, "deliberation.procedure_status", procedure, before=before,
                 after=audit.snapshot(procedure, ["status"]))


def link_decision(procedure: Procedure, *, actor, decision: Decision | None) -> Procedure:
    """The ballot of the villagers' meeting (or ``None`` to unlink), until that stage is recorded."""
    _check(actor, procedure.area)
    if decision is not None:
        if not isinstance(decision, Decision):
            raise ValidationError({"decision": [_("请选择表决")]})
        if not decision.area.path.startswith(procedure.area.path):
            raise ValidationError({"decision": [_("该表决不属于本议题所在区域")]})
        if decision.status == Decision.Status.CANCELLED:
            raise ValidationError({"decision": [_("该表决已撤销")]})
    with transaction.atomic():
        locked = _lock(procedure)
        if locked.status != Procedure.Status.RUNNING:
            raise Conflict(_("该议题已%(status)s，不能再关联表决") % {"status": locked.get_status_display()})
        before = audit.snapshot(locked, ["decision"])
        locked.decision = decision
        locked.save(update_fields=["decision"])
        audit.record(actor, "deliberation.link_decision", locked, before=before,
                     after=audit.snapshot(locked, ["decision"]))
    return locked


# ------------------------------------------------------------------------------------ 三公开

#: publication kind → (the kind it follows, or None; the stage that must have passed, or None)
PUBLICATIONS = {
    Publication.Kind.TOPIC: (None, Stage.Kind.PROPOSAL),
    Publication.Kind.DECISION: (Publication.Kind.TOPIC, Stage.Kind.VILLAGERS),
    Publication.Kind.IMPLEMENTATION: (Publication.Kind.DECISION, None),
}


def default_title(procedure: Procedure, kind: str) -> str:
    return f"{Publication.Kind(kind).label}：{procedure.title}"[:200]


def default_content(procedure: Procedure, kind: str) -> str:
    """What the publication form starts with: the topic, or the decision with the vote's figures."""
    if kind == Publication.Kind.TOPIC:
        return "\n\n".join(p for p in (procedure.title, procedure.description) if p)
    if kind == Publication.Kind.DECISION:
        stage = procedure.stages.filter(kind=Stage.Kind.VILLAGERS).first()
        if stage is None or stage.passed is None:
            return procedure.title
        return "\n".join([procedure.title, _(
            "%(stage)s于 %(date)s 召开，应到 %(eligible)s 人，实到 %(present)s 人，同意 %(for)s 人，反对 %(against)s 人，"
            "决议通过。") % {"stage": stage.get_kind_display(), "date": stage.held_on.isoformat() if stage.held_on else "",
                         "eligible": stage.eligible, "present": stage.present, "for": stage.votes_for,
                         "against": stage.votes_against}])
    return ""


def publish(procedure: Procedure, *, actor, kind: str, content: str, channel: str,
            starts_on: datetime.date | None = None, days: int = PUBLICATION_DAYS, title: str = "") -> Publication:
    """One of the three publications, in order (see the module's docstring)."""
    if kind not in PUBLICATIONS:
        raise ValidationError({"kind": [_("未知的公开类别")]})
    _check(actor, procedure.area)
    starts_on = starts_on or timezone.localdate()
    if not isinstance(starts_on, datetime.date) or isinstance(starts_on, datetime.datetime):
        raise ValidationError({"starts_on": [_("请填写公开开始日期")]})
    follows, stage_kind = PUBLICATIONS[kind]
    with transaction.atomic():
        locked = _lock(procedure)
        done = {p.kind: p for p in locked.publications.all()}
        if kind in done:
            raise Conflict(_("%(kind)s已于 %(date)s 发布") % {"kind": Publication.Kind(kind).label,
                                                          "date": done[kind].starts_on.isoformat()})
        if locked.status == Procedure.Status.REJECTED:
            raise Conflict(_("该议题未通过，不能再公开"))
        earliest = None
        if stage_kind is not None:
            stage = locked.stages.filter(kind=stage_kind).first()
            if stage is None or stage.passed is not True:
                raise Conflict(_("“%(stage)s”通过后才能发布%(kind)s") % {
                    "stage": Stage.Kind(stage_kind).label, "kind": Publication.Kind(kind).label})
            earliest = stage.held_on
        if follows is not None:
            if follows not in done:
                raise Conflict(_("请先发布%(kind)s") % {"kind": Publication.Kind(follows).label})
            earliest = max(filter(None, (earliest, done[follows].starts_on)))
        if earliest and starts_on < earliest:
            raise ValidationError({"starts_on": [_("公开开始日期不能早于 %(date)s") % {"date": earliest.isoformat()}]})
        publication = publicity.publish(actor=actor, kind=kind, area=locked.area,
                                        title=(title or "").strip() or default_title(locked, kind), content=content,
                                        channel=channel, starts_on=starts_on, days=days, procedure=locked)
        if kind == Publication.Kind.IMPLEMENTATION:
            _set_status(actor, locked, Procedure.Status.IMPLEMENTED)
    return publication


def publish_topic(procedure: Procedure, *, actor, **kwargs) -> Publication:
    """议题公开: once the proposal has passed."""
    return publish(procedure, actor=actor, kind=Publication.Kind.TOPIC, **kwargs)


def publish_decision(procedure: Procedure, *, actor, **kwargs) -> Publication:
    """决议公开: once the villagers' (representatives') meeting has decided and the topic was published."""
    return publish(procedure, actor=actor, kind=Publication.Kind.DECISION, **kwargs)


def publish_implementation(procedure: Procedure, *, actor, **kwargs) -> Publication:
    """实施结果公开: once the decision was published; the procedure becomes IMPLEMENTED."""
    return publish(procedure, actor=actor, kind=Publication.Kind.IMPLEMENTATION, **kwargs)


def next_publication(procedure: Procedure, published: set[str]) -> str | None:
    """The publication that may be made now (for the page), or ``None``."""
    if procedure.status == Procedure.Status.REJECTED:
        return None
    passed = {s.kind for s in procedure.stages.all() if s.passed}
    for kind, (follows, stage_kind) in PUBLICATIONS.items():
        if kind in published:
            continue
        if (follows is None or follows in published) and (stage_kind is None or stage_kind in passed):
            return kind
        return None
    return None
