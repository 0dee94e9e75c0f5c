"""Vote pages (phone first): start a decision; a decision's page — for staff its state, rules,
electorates, participation, the paper double entry with its mismatches, closing, the results with
their arithmetic and the 公示 form; for a resident on its roll the ballot, "您已投票", and the result
once published — and a publication's page with its objections.

Reads go through ``queries`` (not yours = 404), writes through ``services``, ``results`` and
``publicity``. Bad input is a 400 with the page and a Chinese message, a state conflict a 409, a
refusal a 403; nothing is stored then. Secret decisions never show who voted what (nobody can: the
database does not know). No inline script or style (CSP): ``static/deliberation/votes.{css,js}``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.errors import Conflict
from gongzhi.core.forms import add_service_errors

from . import publicity, queries, results, services, tally
from .forms import (
    AnswerForm,
    BallotForm,
    CancelForm,
    DecisionForm,
    ElectorForm,
    ObjectionForm,
    PaperForm,
    PublishForm,
    VoidForm,
)
from .models import Decision, Objection, PaperEntry, Participation

Status = Decision.Status


def _status_of(exc: ValidationError) -> int:
    return 409 if isinstance(exc, Conflict) else 400


# ------------------------------------------------------------------------------------ creating


@login_required
@require_http_methods(["GET", "POST"])
def decision_create(request):
    if not queries.manageable_areas(request.user).exists():
        raise PermissionDenied(_("您不能发起表决"))
    form = DecisionForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                decision = services.create_decision(
                    actor=request.user, area=data["area"], roll=data["roll"], title=data["title"],
                    description=data["description"], ballot_unit=data["ballot_unit"] or None, secret=data["secret"],
                    opens_at=data["opens_at"], closes_at=data["closes_at"], preset=data["preset"],
                    building=data["building"])
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = _status_of(exc)
            else:
                messages.success(request, _("表决已创建（草稿），核对后点击“开始表决”"))
                return redirect("deliberation:decision", pk=decision.pk)
    return render(request, "deliberation/decision_form.html", {"form": form}, status=status)


# ------------------------------------------------------------------------------------ the decision page


def _get(request, pk) -> Decision:
    return queries.one_or_404(queries.visible_decisions(request.user), pk)


def _paper_form(decision, data=None):
    form = PaperForm(data, decision=decision, prefix="paper")
    if "elector" in form.fields:
        form.fields["elector"].voted = set(
            Participation.objects.filter(decision=decision, voted=True).values_list("elector_id", flat=True))
    return form


def _context(request, decision: Decision, **forms) -> dict:
    user = request.user
    manages = queries.can_manage(user, decision.area)
    enters = queries.can_enter_ballots(user, decision.area)
    elector = queries.elector_of(user, decision)
    voted = elector is not None and Participation.objects.filter(decision=decision, elector=elector,
                                                                 voted=True).exists()
    now = timezone.now()
    running = (decision.status == Status.OPEN and not (decision.opens_at and now < decision.opens_at)
               and not (decision.closes_at and now > decision.closes_at))
    questions = list(decision.questions.order_by("position").select_related("result", "requires"))
    show_results = decision.status == Status.PUBLISHED or (enters and decision.status == Status.CLOSED)
    context = {
        "decision": decision, "manages": manages, "enters": enters, "elector": elector, "voted": voted,
        "running": running, "questions": questions, "show_results": show_results,
        "publications": decision.publications.order_by("-published_at"),
    }
    if elector is not None and running and not voted:
        context["ballot_form"] = forms.get("ballot_form") or BallotForm(decision=decision, prefix="ballot")
    if enters:
        names = tally.names(decision)
        figures = tally.electorate_figures(decision) if decision.status != Status.DRAFT else {}
        context["electorates"] = [
            {"key": e.key, "name": names.get(e.key, e.key), "buildings": e.buildings, "figures": figures.get(e.key)}
            for e in decision.electorates.order_by("pk")]
        context["channels"] = [
            (Participation.Channel(row["channel"]).label, row["n"]) for row in
            Participation.objects.filter(decision=decision).order_by("channel").values("channel")
            .annotate(n=Count("pk"))]
        context["elector_count"] = decision.electors.count()
        entries = (PaperEntry.objects.filter(decision=decision, status__in=[PaperEntry.Status.PENDING,
                                                                            PaperEntry.Status.MISMATCH])
                   .select_related("elector", "entered_by").order_by("elector__unit_codes", "serial", "at"))
        context["pending"] = [e for e in entries if e.status == PaperEntry.Status.PENDING]
        context["mismatches"] = _mismatches([e for e in entries if e.status == PaperEntry.Status.MISMATCH])
        context["matched"] = PaperEntry.objects.filter(decision=decision, status=PaperEntry.Status.MATCHED).count() // 2
        if decision.status == Status.OPEN:
            context["paper_form"] = forms.get("paper_form") or _paper_form(decision)
            context["sign_in_form"] = forms.get("sign_in_form") or ElectorForm(decision=decision, prefix="signin")
    if manages:
        context["cancel_form"] = forms.get("cancel_form") or CancelForm(prefix="cancel")
        context["void_form"] = forms.get("void_form")
        if decision.status == Status.CLOSED:
            context["publish_form"] = forms.get("publish_form") or PublishForm(prefix="publish")
    context["errors"] = forms.get("errors") or []
    return context


def _mismatches(entries: list[PaperEntry]) -> list[dict]:
    """Mismatched entries grouped by ballot (elector or serial), with their choices side by side."""
    groups: dict = {}
    for entry in entries:
        key = ("e", entry.elector_id) if entry.elector_id else ("s", entry.serial)
        groups.setdefault(key, []).append(entry)
    return [{"elector": group[0].elector, "serial": group[0].serial, "entries": group,
             "rows": [(e.entered_by, e.get_channel_display(),
                       [(pos, e.choices.get(pos)) for pos in sorted((k for k in e.choices if k.isdigit()), key=int)])
                      for e in group]}
            for group in groups.values()]


def _page(request, decision, status=200, **forms):
    return render(request, "deliberation/decision.html", _context(request, decision, **forms), status=status)


@login_required
@require_GET
def decision(request, pk):
    return _page(request, _get(request, pk))


def _refresh(decision: Decision) -> Decision:
    return Decision.objects.select_related("area", "roll").get(pk=decision.pk)


def _refused(request, decision, exc: ValidationError, **forms):
    """The page again after a service said no: a state conflict (409) at the top of the page (the
    form may be gone: the ballot was cast meanwhile), bad input (400) on the form."""
    if isinstance(exc, Conflict):
        return _page(request, _refresh(decision), 409, errors=exc.messages)
    for form in forms.values():
        add_service_errors(form, exc)
    return _page(request, _refresh(decision), 400, **forms)


@login_required
@require_POST
def decision_vote(request, pk):
    decision = _get(request, pk)
    form = BallotForm(request.POST, decision=decision, prefix="ballot")
    if not form.is_valid():
        return _page(request, decision, 400, ballot_form=form)
    try:
        services.cast_online(decision, actor=request.user, choices=form.choices())
    except ValidationError as exc:
        return _refused(request, decision, exc, ballot_form=form)
    messages.success(request, _("您已投票，感谢参与"))
    return redirect("deliberation:decision", pk=decision.pk)


def _transition(request, pk, action, success: str, **kwargs):
    decision = _get(request, pk)
    try:
        action(decision, actor=request.user, **kwargs)
    except ValidationError as exc:
        return _page(request, _refresh(decision), _status_of(exc), errors=exc.messages)
    messages.success(request, success)
    return redirect("deliberation:decision", pk=decision.pk)


@login_required
@require_POST
def decision_open(request, pk):
    return _transition(request, pk, services.open_decision, _("表决已开始，选民名单已按名册固定"))


@login_required
@require_POST
def decision_close(request, pk):
    return _transition(request, pk, results.close_decision, _("表决已结束，计票结果见下方"))


@login_required
@require_POST
def decision_cancel(request, pk):
    decision = _get(request, pk)
    form = CancelForm(request.POST, prefix="cancel")
    if not form.is_valid():
        if not queries.can_manage(request.user, decision.area):
            raise PermissionDenied(_("您不能管理该区域的表决"))
        return _page(request, decision, 400, cancel_form=form)
    return _transition(request, pk, services.cancel_decision, _("表决已撤销"), reason=form.cleaned_data["reason"])


def _require_enterer(request, decision):
    if not queries.can_enter_ballots(request.user, decision.area):
        raise PermissionDenied(_("您不能录入该表决的选票"))


@login_required
@require_POST
def decision_paper(request, pk):
    decision = _get(request, pk)
    _require_enterer(request, decision)
    form = _paper_form(decision, request.POST)
    if not form.is_valid():
        return _page(request, decision, 400, paper_form=form)
    data = form.cleaned_data
    try:
        entry = services.enter_paper(
            decision, actor=request.user, elector=data.get("elector"), serial=data.get("serial") or "",
            choices=form.choices(), channel=data["channel"], building=data.get("building") or "",
            floor_area=data.get("floor_area"))
    except ValidationError as exc:
        return _refused(request, decision, exc, paper_form=form)
    messages.success(request, {
        PaperEntry.Status.PENDING: _("已录入，等待另一位工作人员复核录入"),
        PaperEntry.Status.MATCHED: _("两次录入一致，选票已计入"),
        PaperEntry.Status.MISMATCH: _("两次录入不一致，已标记，请管理人员核对原票后作废重录"),
    }[entry.status])
    return redirect("deliberation:decision", pk=decision.pk)


@login_required
@require_POST
def decision_void(request, pk):
    decision = _get(request, pk)
    _require_enterer(request, decision)
    form = VoidForm(request.POST, prefix="void")
    if not form.is_valid():
        return _page(request, decision, 400, void_form=form, errors=[m for ms in form.errors.values() for m in ms])
    data = form.cleaned_data
    if data["elector"]:
        target = decision.electors.filter(pk=data["elector"]).first()
        if target is None:
            return _page(request, decision, 400, void_form=form, errors=[_("请指定要作废的选票")])
    else:
        target = data["serial"]
    try:
        count = services.void_paper_entries(decision, target, actor=request.user, reason=data["reason"])
    except ValidationError as exc:
        return _page(request, _refresh(decision), _status_of(exc), void_form=form, errors=exc.messages)
    messages.success(request, _("已作废 %(n)s 份录入，请重新录入这张选票") % {"n": count})
    return redirect("deliberation:decision", pk=decision.pk)


@login_required
@require_POST
def decision_sign_in(request, pk):
    decision = _get(request, pk)
    _require_enterer(request, decision)
    form = ElectorForm(request.POST, decision=decision, prefix="signin")
    if not form.is_valid():
        return _page(request, decision, 400, sign_in_form=form)
    try:
        services.record_sign_in(decision, actor=request.user, elector=form.cleaned_data["elector"],
                                channel=form.cleaned_data["channel"] or "paper")
    except ValidationError as exc:
        return _refused(request, decision, exc, sign_in_form=form)
    messages.success(request, _("已登记领取选票") if decision.secret else _("已登记到会"))
    return redirect("deliberation:decision", pk=decision.pk)


@login_required
@require_POST
def decision_publish(request, pk):
    decision = _get(request, pk)
    if not queries.can_manage(request.user, decision.area):
        raise PermissionDenied(_("您不能管理该区域的表决"))
    form = PublishForm(request.POST, prefix="publish")
    if not form.is_valid():
        return _page(request, decision, 400, publish_form=form)
    try:
        publication = services.publish_result(decision, actor=request.user, channel=form.cleaned_data["channel"],
                                              days=form.cleaned_data["days"])
    except ValidationError as exc:
        return _refused(request, decision, exc, publish_form=form)
    messages.success(request, _("表决结果已公示"))
    return redirect("deliberation:publication", pk=publication.pk)


# ------------------------------------------------------------------------------------ publications


def _publication_page(request, publication, status=200, objection_form=None, answer_forms=None, errors=()):
    today = timezone.localdate()
    manages = queries.can_manage(request.user, publication.area)
    objections = list(publication.objections.select_related("answered_by"))
    running = publication.starts_on <= today <= publication.ends_on
    answer_forms = answer_forms or {}
    for objection in objections:
        objection.answer_form = answer_forms.get(objection.pk) or (
            AnswerForm(prefix=f"answer-{objection.pk}") if manages and not objection.answered_at else None)
    return render(request, "deliberation/publication.html", {
        "publication": publication, "verified": publicity.verify(publication), "running": running,
        "manages": manages, "objections": objections, "staff": queries.can_enter_ballots(request.user,
                                                                                        publication.area),
        "objection_form": objection_form or (ObjectionForm(prefix="objection") if running else None),
        "back": publication.decision if publication.decision_id else None, "errors": list(errors),
    }, status=status)


@login_required
@require_GET
def publication(request, pk):
    return _publication_page(request, queries.one_or_404(queries.visible_publications(request.user), pk))


@login_required
@require_POST
def publication_object(request, pk):
    item = queries.one_or_404(queries.visible_publications(request.user), pk)
    form = ObjectionForm(request.POST, prefix="objection")
    if form.is_valid():
        try:
            publicity.raise_objection(item, actor=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            if isinstance(exc, Conflict):
                return _publication_page(request, item, 409, errors=exc.messages)
            add_service_errors(form, exc)
            return _publication_page(request, item, 400, objection_form=form)
        messages.success(request, _("异议已提交，管理人员将答复"))
        return redirect("deliberation:publication", pk=item.pk)
    return _publication_page(request, item, 400, objection_form=form)


@login_required
@require_POST
def objection_answer(request, pk):
    objection = queries.one_or_404(
        Objection.objects.filter(publication__in=queries.visible_publications(request.user))
        .select_related("publication__area"), pk)
    item = objection.publication
    if not queries.can_manage(request.user, item.area):
        raise PermissionDenied(_("您不能答复该异议"))
    form = AnswerForm(request.POST, prefix=f"answer-{objection.pk}")
    if form.is_valid():
        try:
            publicity.answer_objection(objection, actor=request.user, answer=form.cleaned_data["answer"])
        except ValidationError as exc:
            if isinstance(exc, Conflict):
                return _publication_page(request, item, 409, errors=exc.messages)
            add_service_errors(form, exc)
            return _publication_page(request, item, 400, answer_forms={objection.pk: form})
        messages.success(request, _("已答复"))
        return redirect("deliberation:publication", pk=item.pk)
    return _publication_page(request, item, 400, answer_forms={objection.pk: form})
