"""Pages of 四议三公开 and the recurring meetings (phone first), every write through ``procedures`` and
``meetings``:

- a procedure: its four stages as a vertical stepper (done / current / waiting), the form recording the
  current stage (numbers, minutes, an attendance list with signatures), each stage's rule and the line
  by line explanation of its result, the three publications with their dates, the linked ballot;
- meeting series: the list, a new series, a series' page (next due, overdue badge, past meetings);
  recording a meeting held, a meeting's page (agenda, attendance, quorum, minutes, decisions).

Staff whose jurisdiction covers the area see; managers (``queries.can_manage``) write. Anything not
the user's is a 404; a form of a role the user lacks is a 403; bad input re-renders the form with a
400 (a state conflict, such as a stage already recorded by someone else, with a 409)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.errors import Conflict
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import jurisdiction

from . import meetings, procedures, queries
from .models import Attendee, Decision, Procedure, Publication, Stage
from .procedure_forms import (
    LinkDecisionForm,
    MeetingForm,
    ProcedureForm,
    PublishForm,
    SeriesForm,
    StageForm,
    attendance_rows,
    blank_rows,
)

SHOWN = 100
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _staff(user) -> None:
    """List pages are for staff (whoever serves an area); a plain resident gets a 403."""
    if jurisdiction(user).empty:
        raise PermissionDenied(_("只有区域工作人员可以查看"))


def _may_start(user):
    areas = queries.manageable_areas(user)
    if not areas.exists():
        raise PermissionDenied(_("只有区域管理人员可以发起"))
    return areas


def _status(exc: ValidationError) -> int:
    return 409 if isinstance(exc, Conflict) else 400


def _decisions_in(user, area):
    return (queries.visible_decisions(user).filter(area__path__startswith=area.path)
            .exclude(status=Decision.Status.CANCELLED).order_by("-created_at"))


# ------------------------------------------------------------------------------------ procedures


@login_required
@require_GET
def procedure_list(request):
    _staff(request.user)
    return render(request, "deliberation/procedure_list.html", {
        "procedures": queries.visible_procedures(request.user).order_by("-created_at")[:SHOWN],
        "may_start": queries.manageable_areas(request.user).exists(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def procedure_create(request):
    areas = _may_start(request.user)
    form = ProcedureForm(request.POST or None, areas=areas)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                procedure = procedures.start_procedure(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("已新建议题“%(title)s”") % {"title": procedure.title})
                return redirect("deliberation:procedure", pk=procedure.pk)
    return render(request, "deliberation/procedure_form.html", {"form": form}, status=status)


def _get_procedure(request, pk) -> Procedure:
    return queries.one_or_404(queries.visible_procedures(request.user), pk)


def _stage_state(stage: Stage, current: Stage | None) -> str:
    if stage.passed is True:
        return "done"
    if stage.passed is False:
        return "failed"
    return "current" if current is not None and stage.pk == current.pk else "waiting"


def _render_procedure(request, procedure: Procedure, *, stage_form=None, rows=None, rows_error=None,
                      publish_form=None, link_form=None, status: int = 200):
    user = request.user
    manages = queries.can_manage(user, procedure.area)
    stages = list(procedure.stages.prefetch_related("attendees").order_by("position"))
    current = procedures.current_stage(procedure)
    for stage in stages:
        stage.state = _stage_state(stage, current)
        stage.attendance = list(stage.attendees.all())
    published = {p.kind: p for p in procedure.publications.order_by("published_at")}
    next_kind = procedures.next_publication(procedure, set(published))
    three = [{"kind": kind, "label": Publication.Kind(kind).label, "publication": published.get(kind)}
             for kind in procedures.PUBLICATIONS]
    if manages and next_kind and publish_form is None:
        publish_form = PublishForm(initial={"content": procedures.default_content(procedure, next_kind),
                                            "channel": _("村务公开栏"), "starts_on": timezone.localdate(), "days": 7})
    may_link = manages and procedure.status == Procedure.Status.RUNNING
    if may_link and link_form is None:
        link_form = LinkDecisionForm(initial={"decision": procedure.decision_id},
                                     decisions=_decisions_in(user, procedure.area))
    if manages and current is not None and stage_form is None:
        stage_form = StageForm(initial={"held_on": timezone.localdate(), "votes_against": 0})
    return render(request, "deliberation/procedure.html", {
        "procedure": procedure, "stages": stages, "current": current, "manages": manages,
        "stage_form": stage_form if manages and current is not None else None,
        "rows": rows or blank_rows(), "rows_error": rows_error,
        "three": three, "next_kind": next_kind, "next_label": Publication.Kind(next_kind).label if next_kind else "",
        "publish_form": publish_form if manages and next_kind else None,
        "link_form": link_form if may_link else None,
        "decision": procedure.decision if procedure.decision_id and queries.visible_decisions(user).filter(
            pk=procedure.decision_id).exists() else None,
    }, status=status)


@login_required
@require_GET
def procedure(request, pk):
    return _render_procedure(request, _get_procedure(request, pk))


@login_required
@require_POST
def stage_record(request, pk, position):
    procedure = _get_procedure(request, pk)
    stage = procedure.stages.filter(position=position).first()
    if stage is None:
        raise Http404
    if not queries.can_manage(request.user, procedure.area):
        raise PermissionDenied(_("您不能管理该区域的四议三公开"))
    form = StageForm(request.POST)
    attendees, rows, rows_error = attendance_rows(request.POST, request.FILES)
    status = 400
    if form.is_valid() and rows_error is None:
        try:
            done = procedures.record_stage(stage, actor=request.user, attendees=attendees, **form.cleaned_data)
        except ValidationError as exc:
            errors = getattr(exc, "message_dict", {})
            if "attendees" in errors:
                rows_error = "；".join(errors["attendees"])
            add_service_errors(form, ValidationError({k: v for k, v in errors.items() if k != "attendees"})
                               if errors else exc)
            status = _status(exc)
        else:
            if done.passed:
                messages.success(request, _("“%(stage)s”已记录：通过") % {"stage": done.get_kind_display()})
            else:
                messages.warning(request, _("“%(stage)s”已记录：未通过，议题终止") % {"stage": done.get_kind_display()})
            return redirect("deliberation:procedure", pk=procedure.pk)
    procedure.refresh_from_db()
    return _render_procedure(request, procedure, stage_form=form, rows=rows, rows_error=rows_error, status=status)


@login_required
@require_POST
def procedure_publish(request, pk, kind):
    procedure = _get_procedure(request, pk)
    if kind not in procedures.PUBLICATIONS:
        raise Http404
    if not queries.can_manage(request.user, procedure.area):
        raise PermissionDenied(_("您不能管理该区域的四议三公开"))
    form = PublishForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            publication = procedures.publish(procedure, actor=request.user, kind=kind, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = _status(exc)
        else:
            messages.success(request, _("已发布%(kind)s，公开至 %(date)s") % {
                "kind": publication.get_kind_display(), "date": publication.ends_on.isoformat()})
            return redirect("deliberation:procedure", pk=procedure.pk)
    procedure.refresh_from_db()
    return _render_procedure(request, procedure, publish_form=form, status=status)


@login_required
@require_POST
def procedure_link(request, pk):
    procedure = _get_procedure(request, pk)
    if not queries.can_manage(request.user, procedure.area):
        raise PermissionDenied(_("您不能管理该区域的四议三公开"))
    form = LinkDecisionForm(request.POST, decisions=_decisions_in(request.user, procedure.area))
    status = 400
    if form.is_valid():
        try:
            procedures.link_decision(procedure, actor=request.user, decision=form.cleaned_data["decision"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = _status(exc)
        else:
            messages.success(request, _("已更新关联的表决"))
            return redirect("deliberation:procedure", pk=procedure.pk)
    procedure.refresh_from_db()
    return _render_procedure(request, procedure, link_form=form, status=status)


@login_required
@require_GET
def attendee_signature(request, pk):
    """A signature on an attendance list: only our own re-encoded PNG, for whoever sees the stage or
    the meeting it belongs to."""
    user = request.user
    attendee = queries.one_or_404(Attendee.objects.filter(
        Q(stage__procedure__in=queries.visible_procedures(user)) | Q(meeting__in=queries.visible_meetings(user))), pk)
    name = attendee.signature.name if attendee.signature else ""
    if not name.lower().endswith(".png"):
        raise Http404
    try:
        handle = attendee.signature.open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    if handle.read(len(PNG_MAGIC)) != PNG_MAGIC:
        handle.close()
        raise Http404
    handle.seek(0)
    response = FileResponse(handle, content_type="image/png")
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ------------------------------------------------------------------------------------ meeting series


@login_required
@require_GET
def series_list(request):
    _staff(request.user)
    today = timezone.localdate()
    rows = list(queries.visible_series(request.user).order_by("-is_active", "next_due", "pk")[:SHOWN])
    for s in rows:
        s.overdue = meetings.is_overdue(s, today)
    return render(request, "deliberation/series_list.html", {
        "series_list": rows, "may_start": queries.manageable_areas(request.user).exists(),
        "meetings": queries.visible_meetings(request.user).filter(series__isnull=True).order_by("-held_at")[:20],
    })


@login_required
@require_http_methods(["GET", "POST"])
def series_create(request):
    areas = _may_start(request.user)
    form = SeriesForm(request.POST or None, areas=areas)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            quorum = meetings.QUORUM_PRESETS[data["quorum"]][1] if data["quorum"] else None
            try:
                series = meetings.create_series(
                    actor=request.user, area=data["area"], kind=data["kind"], name=data["name"],
                    every_months=data["every_months"], next_due=data["next_due"], remind_days=data["remind_days"],
                    organiser=request.user if data["organise"] else None, quorum=quorum)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("已建立例会“%(name)s”") % {"name": series.name})
                return redirect("deliberation:series", pk=series.pk)
    return render(request, "deliberation/series_form.html", {"form": form}, status=status)


@login_required
@require_GET
def series(request, pk):
    item = queries.one_or_404(queries.visible_series(request.user).select_related("organiser"), pk)
    from . import rules

    return render(request, "deliberation/series.html", {
        "series": item, "overdue": meetings.is_overdue(item), "manages": queries.can_manage(request.user, item.area),
        "meetings": item.meetings.order_by("-held_at")[:SHOWN],
        "quorum_text": rules.describe(item.quorum) if item.quorum else "",
    })


@login_required
@require_POST
def series_active(request, pk):
    item = queries.one_or_404(queries.visible_series(request.user), pk)
    try:
        meetings.set_series_active(item, actor=request.user, active=request.POST.get("active") == "1")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已恢复例会提醒") if request.POST.get("active") == "1" else _("已停用例会提醒"))
    return redirect("deliberation:series", pk=item.pk)


# ------------------------------------------------------------------------------------ meetings


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    areas = _may_start(request.user)
    chosen = None
    if request.GET.get("series"):
        chosen = queries.one_or_404(queries.visible_series(request.user), request.GET["series"])
        if not queries.can_manage(request.user, chosen.area):
            raise PermissionDenied(_("您不能管理该区域的例会"))
    area = chosen.area if chosen else None
    decisions = (_decisions_in(request.user, area) if area is not None
                 else queries.visible_decisions(request.user).filter(area__in=areas).exclude(
                     status=Decision.Status.CANCELLED).order_by("-created_at"))
    decisions = decisions.filter(meeting__isnull=True)
    initial = {"title": chosen.name if chosen else "", "held_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = MeetingForm(request.POST or None, areas=areas, decisions=decisions, initial=initial)
    if chosen:
        form.fields.pop("area")
    rows, rows_error, status = blank_rows(), None, 200
    if request.method == "POST":
        status = 400
        attendees, rows, rows_error = attendance_rows(request.POST, request.FILES)
        if form.is_valid() and rows_error is None:
            data = dict(form.cleaned_data)
            try:
                meeting = meetings.hold_meeting(actor=request.user, area=data.pop("area", area), series=chosen,
                                                attendees=attendees, **data)
            except ValidationError as exc:
                errors = getattr(exc, "message_dict", {})
                if "attendees" in errors:
                    rows_error = "；".join(errors["attendees"])
                add_service_errors(form, ValidationError({k: v for k, v in errors.items() if k != "attendees"})
                                   if errors else exc)
                status = _status(exc)
            else:
                messages.success(request, _("已记录会议“%(title)s”") % {"title": meeting.title})
                return redirect("deliberation:meeting", pk=meeting.pk)
    return render(request, "deliberation/meeting_form.html", {
        "form": form, "series": chosen, "rows": rows, "rows_error": rows_error,
    }, status=status)


@login_required
@require_GET
def meeting(request, pk):
    item = queries.one_or_404(queries.visible_meetings(request.user).select_related("recorded_by"), pk)
    quorum_text = ""
    if item.series_id and item.series.quorum:
        from . import rules

        quorum_text = rules.describe(item.series.quorum)
    return render(request, "deliberation/meeting.html", {
        "meeting": item, "attendees": list(item.attendees.all()), "quorum_text": quorum_text,
        "decisions": queries.visible_decisions(request.user).filter(meeting=item).order_by("pk"),
        "series_visible": item.series_id is not None,
    })
