"""The phone visit page, the visit's result, its photos and signature, and the notices as PDF.

- ``/inspections/visit/new/`` — ``?target=<PlanTarget pk>`` (from the week's plan: team, premises
  and the plan's checklist chosen), or ``?team=&premises=[&checklist=]`` for an unplanned visit
  (without them: a small chooser). The checklist is rendered by ``checklists/rendering.py`` (relevant
  and constraint checked in the browser by ``checklists/form.js``, again on the server); photo
  questions open the camera; the operator signs on a canvas (``static/inspections/signature.js``,
  exported as a PNG data URL into a hidden input). POST → ``services.record_visit``; errors re-render
  the form with the answers kept and each message at its question.
- ``/inspections/visits/<pk>/`` — the result: the failed items per department, the notices (number,
  deadline, PDF), the photos and the signature.
- ``/inspections/notices/<pk>.pdf`` — the 整改通知书 (``notice_pdf``).

Who may: see ``visit_queries`` (a team member or whoever covers the premises; notices also the
issuing department's staff). Anyone else gets 404. No inline script (CSP).
"""

from __future__ import annotations

import datetime
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.checklists import rendering
from gongzhi.checklists import services as checklist_services
from gongzhi.checklists.models import Checklist
from gongzhi.checklists.xlsform import pick_label
from gongzhi.core.scoping import jurisdiction

from . import notice_pdf, services, signatures
from . import visit_queries as queries
from .models import VisitPhoto

#: Form fields of the visit page besides the checklist's own (``a-<name>``).
FIELDS = ("acknowledged_by", "signature", "team", "premises", "version", "target", "started_at")
#: A started_at sent back by the page is believed if it lies at most this long before the submit.
MAX_VISIT_LENGTH = datetime.timedelta(hours=12)


def _reverse_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _started_at(value: str | None) -> datetime.datetime | None:
    try:
        when = parse_datetime((value or "")[:40])
    except ValueError:
        return None
    if when is None or timezone.is_naive(when):
        return None
    now = timezone.now()
    return when if now - MAX_VISIT_LENGTH <= when <= now else None


def _checklist(pk):
    pk = queries._pk(pk)
    return Checklist.objects.filter(pk=pk).first() if pk else None


def _resolve(user, data) -> dict:
    """Team, premises, version (and the plan's target) from the query or the posted form; each
    through the read door (404 when not the user's)."""
    found = {"target": None, "team": None, "premises": None, "version": None}
    if data.get("target"):
        target = queries.get_target(user, data.get("target"))
        found.update(target=target, team=target.day.plan.team, premises=target.premises)
        found["version"] = (queries.get_version(data["version"]) if data.get("version")
                            else queries.version_of(target.day.plan.checklist))
        return found
    if data.get("team"):
        found["team"] = queries.get_team(user, data.get("team"))
    else:
        teams = list(queries.usable_teams(user)[:2])
        if len(teams) == 1:
            found["team"] = teams[0]
    if found["team"] is not None and data.get("premises"):
        found["premises"] = queries.get_premises_for(user, found["team"], data.get("premises"))
    if data.get("version"):
        found["version"] = queries.get_version(data.get("version"))
    elif data.get("checklist"):
        found["version"] = queries.version_of(_checklist(data.get("checklist")))
    else:
        found["version"] = queries.default_version(found["team"])
    return found


def _may_start(user) -> None:
    if not (queries.usable_teams(user).exists() or not jurisdiction(user).empty):
        raise PermissionDenied(_("您不是检查小组成员，也没有管辖区域"))


def _choose(request, found: dict, status: int = 200, error: str = ""):
    team = found["team"]
    q = (request.GET.get("q") or "").strip()[:50]
    premises = []
    if team is not None:
        listed = queries.premises_for(request.user, team)
        if q:
            listed = listed.filter(name__icontains=q)
        premises = list(listed.order_by("name", "pk")[:200])
    return render(request, "inspections/visit_new_choose.html", {
        "teams": queries.usable_teams(request.user).order_by("station__name", "name")[:200],
        "team": team, "premises_list": premises, "q": q, "versions": queries.active_versions(),
        "version": found["version"], "error": error,
    }, status=status)


def _form(request, found: dict, *, answers=None, errors=None, general=(), acknowledged_by="",
          started_at=None, status: int = 200):
    version = found["version"]
    errors = dict(errors or {})
    return render(request, "inspections/visit_new.html", {
        "team": found["team"], "premises": found["premises"], "version": version, "target": found["target"],
        "rows": rendering.form_rows(version, answers or {}, {k: v for k, v in errors.items() if k not in FIELDS}),
        "errors": errors, "general": list(general), "has_errors": bool(errors or general),
        "acknowledged_by": acknowledged_by,
        "started_at": (started_at or timezone.now()).isoformat(),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request):
    data = request.POST if request.method == "POST" else request.GET
    if not data.get("target"):
        _may_start(request.user)
    found = _resolve(request.user, data)
    if found["target"] is not None and found["version"] is None:
        return _choose(request, found, status=400 if request.method == "POST" else 200,
                       error=_("该计划的检查表没有启用的版本"))
    if found["team"] is None or found["premises"] is None or found["version"] is None:
        if request.method == "POST":
            return _choose(request, found, status=400, error=_("请选择检查小组、场所和检查表"))
        return _choose(request, found)
    if request.method == "GET":
        return _form(request, found)
    return _record(request, found)


def _record(request, found: dict):
    version = found["version"]
    post = request.POST
    answers = rendering.answers_from_post(version, post, request.FILES)
    photos = {}
    for name, question in version.form.questions.items():
        upload = request.FILES.get(rendering.input_name(name))
        if question["type"] == "photo" and upload is not None:
            photos[name] = upload
    acknowledged_by = (post.get("acknowledged_by") or "").strip()
    started_at = _started_at(post.get("started_at"))
    errors: dict[str, str] = {}
    general: list[str] = []
    signature = None
    try:
        signature = signatures.decode(post.get("signature"))
    except ValidationError as exc:
        errors["signature"] = exc.messages[0]
    if errors:  # show the answers' problems too, not one at a time
        _cleaned, answer_errors = checklist_services.validate_answers(version, answers)
        errors.update(answer_errors)
    else:
        try:
            visit = services.record_visit(
                actor=request.user, team=found["team"], premises=found["premises"], version=version,
                answers=answers, started_at=started_at, finished_at=timezone.now(),
                acknowledged_by=acknowledged_by, signature=signature, photos=photos)
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "message_dict") else {"__all__": exc.messages}
            questions = version.form.questions
            for key, msgs in details.items():
                if key in questions or key in ("acknowledged_by",):
                    errors[key] = " ".join(str(m) for m in msgs)
                else:
                    general.extend(str(m) for m in msgs)
        else:
            notices = visit.notices.count()
            if notices:
                messages.success(request, _("检查记录已保存，已开具 %(n)d 份整改通知书") % {"n": notices})
            else:
                messages.success(request, _("检查记录已保存，未发现问题"))
            return redirect("inspections:visit", pk=visit.pk)
    return _form(request, found, answers=answers, errors=errors, general=general,
                 acknowledged_by=acknowledged_by, started_at=started_at, status=400)


@login_required
@require_GET
def visit_detail(request, pk: int):
    visit = queries.get_visit(request.user, pk)
    form = visit.checklist_version.form
    notices = []
    for notice in visit.notices.select_related("department").order_by("department__name", "pk"):
        hazards = list(notice.hazards.order_by("deadline", "pk"))
        for hazard in hazards:
            hazard.answer_text = notice_pdf.answer_text(hazard, form)
        reinspection = notice.reinspections.order_by("round", "pk").first()
        notices.append({"notice": notice, "hazards": hazards,
                        "reinspection_url": (_reverse_or_none("inspections:reinspection", reinspection.pk)
                                             if reinspection is not None else None)})
    photos = [{"photo": p, "label": pick_label(form.questions.get(p.question, {}).get("label")) or p.question}
              for p in visit.photos.order_by("pk")]
    return render(request, "inspections/visit.html", {
        "visit": visit, "notices": notices, "photos": photos,
        "finding_url": _reverse_or_none("inspections:visit_finding", visit.pk),
        "premises_url": _reverse_or_none("premises:detail", visit.premises_id),
    })


@login_required
@require_GET
def visit_photo(request, pk: int, photo_id: int, kind: str):
    from gongzhi.cases.photos import photo_response

    visit = queries.get_visit(request.user, pk)
    if kind not in ("image", "thumb"):
        raise Http404
    photo = VisitPhoto.objects.filter(visit=visit, pk=photo_id).first()
    if photo is None:
        raise Http404
    return photo_response(photo.thumbnail if kind == "thumb" else photo.image)


@login_required
@require_GET
def visit_signature(request, pk: int):
    """The signature: only our own re-encoded PNG (signatures.decode), served so that nothing runs."""
    visit = queries.get_visit(request.user, pk)
    name = visit.signature.name if visit.signature else ""
    if not name.lower().endswith(".png"):
        raise Http404
    try:
        handle = visit.signature.open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    if handle.read(len(signatures.PNG_MAGIC)) != signatures.PNG_MAGIC:
        handle.close()
        raise Http404
    handle.seek(0)
    response = FileResponse(handle, content_type="image/png")
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def notice_pdf_view(request, pk: int):
    notice = queries.get_notice(request.user, pk)
    response = HttpResponse(notice_pdf.build(notice), content_type="application/pdf")
    filename = f"{notice.number}.pdf"
    response["Content-Disposition"] = (f"inline; filename=\"notice-{notice.pk}.pdf\"; "
                                       f"filename*=UTF-8''{quote(filename)}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
