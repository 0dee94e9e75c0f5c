"""Closing a vote: the figures are summed once (``tally``), every question's rule is evaluated on them
(``rules``), and a ``Result`` keeps, per question, passed or not, the figures, the rule and its
text and the line-by-line explanation — enough to check the arithmetic years later.

``result_text`` is the plain-text body of the result's 公示: deterministic (the same decision always
gives the same text, in the active language), so the publication's hash can be recomputed.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict

from . import rules, tally
from .models import Decision, PaperEntry, Question, Result
from .queries import can_manage

UNRESOLVED = (PaperEntry.Status.PENDING, PaperEntry.Status.MISMATCH)


def _names(decision) -> dict[str, str]:
    return {key: name or (_("全体选民") if key == tally.ALL else key)
            for key, name, _b in tally.electorates(decision)}


def _final(questions: list[Question], outcomes: dict[int, rules.Outcome]) -> dict[int, tuple[bool, list[dict]]]:
    """Apply ``requires``: a question passes only if its rule holds and the question it requires passed
    (chains followed; a cycle or a question from elsewhere fails)."""
    by_id = {q.pk: q for q in questions}
    done: dict[int, tuple[bool, list[dict]]] = {}

    def resolve(q: Question, seen: frozenset) -> tuple[bool, list[dict]]:
        if q.pk in done:
            return done[q.pk]
        outcome = outcomes[q.pk]
        passed, lines = outcome.passed, list(outcome.lines)
        if q.requires_id is not None:
            required = by_id.get(q.requires_id)
            if required is None or required.pk in seen or required.pk == q.pk:
                ok, label = False, _("（无效的前提事项）")
            else:
                ok, label = resolve(required, seen | {q.pk})[0], _("第 %(n)s 项“%(text)s”") % {
                    "n": required.position, "text": required.text}
            lines.append({"requires": q.requires_id, "met": ok,
                          "text": (_("前提事项%(label)s已通过") if ok else
                                   _("前提事项%(label)s未通过，本项不能通过")) % {"label": label}})
            passed = passed and ok
        done[q.pk] = (passed, lines)
        return done[q.pk]

    for q in questions:
        resolve(q, frozenset())
    return done


def close_decision(decision: Decision, *, actor, now: datetime.datetime | None = None) -> list[Result]:
    """Count the votes of an open decision and close it: one ``Result`` per question, status → closed.

    Refused (``Conflict``) unless the decision is open, and while paper entries wait for their second
    entry or disagree (they must be settled first: every ballot counts, or is voided)."""
    if not can_manage(actor, decision.area):
        raise PermissionDenied(_("您不能结束该表决"))
    now = now or timezone.now()
    with transaction.atomic():
        decision = Decision.objects.select_for_update().select_related("area").get(pk=decision.pk)
        if decision.status != Decision.Status.OPEN:
            raise Conflict(_("只有表决中的事项才能结束计票（当前状态：%(status)s）")
                           % {"status": decision.get_status_display()})
        unresolved = PaperEntry.objects.filter(decision=decision, status__in=UNRESOLVED).count()
        if unresolved:
            raise Conflict(_("还有 %(n)s 份书面选票录入待复核或两次录入不一致，请先处理后再计票") % {"n": unresolved})
        before = audit.snapshot(decision)
        questions = list(decision.questions.order_by("position", "pk"))
        names = _names(decision)
        all_figures = tally.figures(decision)
        validated, outcomes = {}, {}
        for q in questions:
            validated[q.pk] = rules.validate(q.rule, field="rule")
            outcomes[q.pk] = rules.evaluate(validated[q.pk], all_figures[q.pk], names)
        final = _final(questions, outcomes)
        results = []
        for q in questions:
            passed, lines = final[q.pk]
            results.append(Result.objects.create(
                question=q, passed=passed, figures=all_figures[q.pk], rule=validated[q.pk],
                rule_text=q.rule_text or rules.describe(validated[q.pk], names), explanation=lines))
        decision.status = Decision.Status.CLOSED
        decision.closed_at = now
        decision.save(update_fields=["status", "closed_at"])
        audit.record(actor, "deliberation.close", decision, before=before, after=audit.snapshot(decision),
                     note="; ".join(f"{q.position}:{'passed' if final[q.pk][0] else 'failed'}" for q in questions))
    return results


# ------------------------------------------------------------------------------------ the 公示 text


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _weights(figures: dict) -> str:
    parts = [_("%(n)s 人") % {"n": figures.get("persons", 0)}, _("%(n)s 户") % {"n": figures.get("households", 0)},
             _("面积 %(n)s ㎡") % {"n": figures.get("area", "0.00")}]
    if figures.get("representatives"):
        parts.append(_("代表 %(n)s 人") % {"n": figures["representatives"]})
    return "，".join(parts)


def result_text(decision: Decision) -> str:
    """The plain-text 公示 of a closed decision's result (title, period, electorates, participation,
    each question's votes, rule and outcome). Same decision, same text: only stored values are used."""
    names = _names(decision)
    questions = list(decision.questions.order_by("position", "pk").select_related("result"))
    lines = [_("表决结果公示"), "", _("表决事项：%(title)s") % {"title": decision.title},
             _("表决时间：%(start)s 至 %(end)s") % {"start": _when(decision.opened_at or decision.opens_at),
                                                 "end": _when(decision.closed_at or decision.closes_at)},
             _("投票单位：%(unit)s%(secret)s") % {"unit": decision.get_ballot_unit_display(),
                                                "secret": _("（无记名）") if decision.secret else ""}]
    first = next((q for q in questions if hasattr(q, "result")), None)
    if first is not None:
        for key, name in names.items():
            figures = first.result.figures.get(key, {})
            lines += ["", _("【%(name)s】") % {"name": name},
                      _("应参与表决：%(w)s") % {"w": _weights(figures.get("electorate", {}))},
                      _("实际参与表决：%(w)s") % {"w": _weights(figures.get("participants", {}))}]
            if figures.get("attendees", {}).get("persons"):
                lines.append(_("到会：%(w)s") % {"w": _weights(figures["attendees"])})
    for q in questions:
        lines += ["", _("第 %(n)s 项：%(text)s") % {"n": q.position, "text": q.text}]
        result = getattr(q, "result", None)
        if result is None:
            lines.append(_("尚未计票"))
            continue
        for key, name in names.items():
            figures = result.figures.get(key, {})
            prefix = _("【%(name)s】") % {"name": name} if len(names) > 1 else ""
            for choice, label in (("for", _("同意")), ("against", _("反对")), ("abstain", _("弃权"))):
                lines.append(f"{prefix}{label}：{_weights(figures.get(choice, {}))}")
        lines.append(_("通过规则：%(text)s") % {"text": result.rule_text})
        for line in result.explanation:
            if "requires" in line:
                lines.append(f"· {line['text']}")
                continue
            shown = (_("%(num)s / %(den)s = %(pct)s%%") % {"num": line["numerator"], "den": line["denominator"],
                                                         "pct": line["percent"]}
                     if line.get("ratio") else _("基数为零"))
            lines.append(_("· %(text)s：%(shown)s，%(met)s") % {"text": line["text"], "shown": shown,
                                                              "met": _("达到") if line["met"] else _("未达到")})
        lines.append(_("结果：通过") if result.passed else _("结果：未通过"))
    return "\n".join(lines) + "\n"
