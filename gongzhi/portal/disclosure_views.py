"""The 公开栏 pages (phone-first): the board of my areas, one item with its current version and
full history, one old version, a new item, a new version (typed, or imported from xlsx/CSV with a
dry run first), a receipt download. Reading is open to everyone for public items (like notices);
everything else needs a verified home or a jurisdiction over the area."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.cases import photos
from gongzhi.core.forms import add_service_errors

from . import disclosures, queries
from .disclosure_forms import DisclosureForm, ImportForm, PublishForm, lines_to_text, text_to_rows
from .models import Disclosure, DisclosureAttachment, DisclosureVersion

LIST_LIMIT = 300


def _visible(request):
    return queries.visible_disclosures(request.user)


@require_GET
def disclosure_list(request):
    items = list(_visible(request).annotate(latest_at=Max("versions__published_at"), n_versions=Count("versions"))
                 .order_by("area__path", "kind", "-period_start", "-pk")[:LIST_LIMIT])
    may = {}
    shown = []
    for item in items:
        if item.area_id not in may:
            may[item.area_id] = queries.can_disclose(request.user, item.area)
        item.may_publish = may[item.area_id]
        if item.n_versions or item.may_publish:  # an item with nothing published is its publishers' draft
            shown.append(item)
    groups = [(value, label, [i for i in shown if i.kind == value]) for value, label in Disclosure.Kind.choices]
    can_create = request.user.is_authenticated and disclosures.disclosable_areas(request.user).exists()
    return render(request, "portal/disclosures/list.html", {
        "groups": [g for g in groups if g[2]], "can_create": can_create, "empty": not shown})


def _disclosure_or_404(request, pk) -> Disclosure:
    return queries.get_or_404(_visible(request), pk)


def _label(request, disclosure, versions) -> None:
    """The publishing body for everyone, the person only for those who may publish here."""
    queries.label_publishers(request.user, versions, area=disclosure.area, roles=queries.DISCLOSURE_ROLES)


@require_GET
def disclosure_detail(request, pk):
    disclosure = _disclosure_or_404(request, pk)
    entries = disclosures.history(disclosure)
    may_publish = queries.can_disclose(request.user, disclosure.area) if request.user.is_authenticated else False
    if not entries and not may_publish:
        raise Http404
    _label(request, disclosure, [e.version for e in entries])
    current = entries[0].version if entries else None
    return render(request, "portal/disclosures/detail.html", {
        "disclosure": disclosure, "current": current, "entries": entries, "may_publish": may_publish})


@require_GET
def disclosure_version(request, pk, version):
    disclosure = _disclosure_or_404(request, pk)
    entries = {e.version.number: e for e in disclosures.history(disclosure)}
    entry = entries.get(version)
    if entry is None:
        raise Http404
    latest = max(entries)
    _label(request, disclosure, [entry.version])
    return render(request, "portal/disclosures/version.html", {
        "disclosure": disclosure, "entry": entry, "version": entry.version, "is_current": version == latest,
        "latest": latest})


@login_required
@require_http_methods(["GET", "POST"])
def disclosure_new(request):
    areas = disclosures.disclosable_areas(request.user)
    if not areas.exists():
        raise PermissionDenied
    form = DisclosureForm(request.POST if request.method == "POST" else None, areas=areas,
                          initial={"area": request.GET.get("area")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            disclosure = disclosures.create_disclosure(
                request.user, area=data["area"], kind=data["kind"], title=data["title"],
                period_start=data["period_start"], period_end=data["period_end"], is_public=data["is_public"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("portal:disclosure_publish", pk=disclosure.pk)
    return render(request, "portal/disclosures/new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def disclosure_publish(request, pk):
    disclosure = _disclosure_or_404(request, pk)
    if not queries.can_disclose(request.user, disclosure.area):
        raise PermissionDenied
    current = DisclosureVersion.objects.filter(disclosure=disclosure).order_by("-number").first()
    is_finance = disclosure.kind == Disclosure.Kind.FINANCE
    initial = {}
    if current is not None:
        initial = {"body": current.body, "lines_text": lines_to_text(current.lines)}
    form = PublishForm(initial=initial, disclosure=disclosure)
    import_form = ImportForm() if is_finance else None
    report = None
    status = 200
    if request.method == "POST" and request.POST.get("action") == "dry_run" and is_finance:
        import_form = ImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            upload = import_form.cleaned_data["file"]
            report = disclosures.dry_run(upload, upload.name, disclosure=disclosure)
            if report.ok:  # shown for checking; published only with the form below
                form = PublishForm(initial={"body": current.body if current else "",
                                            "lines_text": lines_to_text(report.lines)}, disclosure=disclosure)
            else:
                status = 400
        else:
            status = 400
    elif request.method == "POST":
        form = PublishForm(request.POST, request.FILES, disclosure=disclosure)
        if form.is_valid():
            data = form.cleaned_data
            lines = ()
            try:
                if is_finance:
                    rows = text_to_rows(data["lines_text"])
                    header = bool(rows and rows[0] and rows[0][0].strip() in ("日期", "date"))
                    lines, errors = disclosures.parse_rows(rows, disclosure=disclosure, header=header)
                    if errors:
                        raise ValidationError({"lines_text": [str(e) for e in errors]})
                disclosures.publish_version(request.user, disclosure, body=data["body"], lines=lines,
                                            change_note=data["change_note"], attachments=data["attachments"])
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "lines" in exc.error_dict:
                    exc = ValidationError({("lines_text" if k == "lines" else k): v
                                           for k, v in exc.error_dict.items()})
                add_service_errors(form, exc)
            else:
                return redirect("portal:disclosure", pk=disclosure.pk)
        status = 400
    return render(request, "portal/disclosures/publish.html", {
        "disclosure": disclosure, "current": current, "form": form, "import_form": import_form,
        "report": report, "is_finance": is_finance}, status=status)


@require_GET
def disclosure_attachment(request, pk):
    attachment = get_object_or_404(DisclosureAttachment.objects.select_related("version"),
                                   pk=pk, version__disclosure__in=_visible(request).values("pk"))
    name = attachment.file.name or ""
    if name.lower().endswith(".jpg"):
        return photos.photo_response(attachment.file)  # our re-encoded JPEGs only
    if not name.lower().endswith(".pdf"):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    if handle.read(5) != b"%PDF-":
        handle.close()
        raise Http404
    handle.seek(0)
    response = FileResponse(handle, content_type="application/pdf", as_attachment=True,
                            filename=f"receipt-{attachment.pk}.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
