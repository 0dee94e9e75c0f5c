"""Web pages of the premises registry (phone first): list with filters, licences expiring soon,
detail with history, create/edit, licences and photos, import/export. Reads go through ``queries``
(the read door), writes through ``services``. No inline script (CSP): ``static/premises/premises.js``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.areas import queries as area_queries
from gongzhi.areas.io import ImportFileError
from gongzhi.core.forms import add_service_errors
from gongzhi.core.scoping import MAX_ID
from gongzhi.inspections.visit_queries import premises_history

from . import io, queries, services
from .forms import ImportForm, LicenceForm, PhotoForm, PremisesForm
from .models import Licence, PremisesPhoto, PremisesType, RiskLevel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELDS = ("name", "type", "address", "lon", "lat", "operator_name", "contact_phone", "risk_level", "code",
          "notes", "is_active")


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 10**12 else None


def _filters(request) -> queries.Filters:
    g = request.GET
    expiring = None
    if g.get("expiring"):
        expiring = _int(g.get("expiring"))
        expiring = queries.EXPIRING_DAYS if expiring is None else min(expiring, 3650)
    risk = g.get("risk", "")
    return queries.Filters(q=g.get("q", "")[:100], type=g.get("type", "")[:32],
                           risk=risk if risk in RiskLevel.values else "", area=_int(g.get("area")) or None,
                           expiring=expiring, unlocated=g.get("unlocated") == "1")


@login_required
@require_GET
def index(request):
    filters = _filters(request)
    page = Paginator(queries.search(request.user, filters), 50).get_page(request.GET.get("page"))
    grids = area_queries.visible_areas(request.user).filter(level__slug="grid").order_by("path")[:500]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "premises/index.html", {
        "page": page, "filters": filters, "types": PremisesType.objects.filter(is_active=True),
        "risks": RiskLevel.choices, "grids": grids, "query": params.urlencode(),
        "can_register": services.can_register(request.user),
        "expiring_count": queries.expiring_licences(request.user).count(),
    })


@login_required
@require_GET
def expiring(request):
    days = _int(request.GET.get("days"))
    days = queries.EXPIRING_DAYS if days is None else min(days, 3650)
    page = Paginator(queries.expiring_licences(request.user, days), 50).get_page(request.GET.get("page"))
    return render(request, "premises/expiring.html", {"page": page, "days": days})


def _history(premises) -> list[dict]:
    """The audit rows as the page shows them: what happened, and each changed field before → after."""
    labels = {"premises.create": _("登记"), "premises.update": _("修改"), "premises.licence_add": _("添加证照"),
              "premises.licence_update": _("修改证照"), "premises.licence_remove": _("删除证照"),
              "premises.photo_add": _("上传照片"), "premises.photo_remove": _("删除照片")}
    entries = []
    for row in queries.history(premises)[:200]:
        before, after = row.before or {}, row.after or {}
        shown = after if row.action != "premises.create" else {}
        changes = [(key, before.get(key), value) for key, value in shown.items() if key != "photo"]
        entries.append({"row": row, "label": labels.get(row.action, row.action), "changes": changes})
    return entries


@login_required
@require_GET
def detail(request, pk: int):
    premises = queries.get_premises(request.user, pk)
    return render(request, "premises/detail.html", {
        "premises": premises, "licences": premises.licences.all(), "photos": premises.photos.all(),
        "history": _history(premises), "can_write": services.can_write(request.user, premises),
        "licence_form": LicenceForm(), "photo_form": PhotoForm(),
        "inspections": premises_history(premises),  # visits, hazards, notices (inspections app)
    })


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    if not services.can_register(request.user):
        raise PermissionDenied(_("您没有登记场所的权限"))
    form = PremisesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        name, kind = data.pop("name"), data.pop("type")
        try:
            premises = services.create_premises(actor=request.user, name=name, type=kind, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已登记场所“%(name)s”") % {"name": premises.name})
            return redirect("premises:detail", pk=premises.pk)
    return render(request, "premises/form.html", {"form": form, "premises": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    premises = queries.get_premises(request.user, pk)
    if not services.can_write(request.user, premises):
        raise PermissionDenied(_("该场所不在您的管辖范围内"))
    initial = {f: getattr(premises, f) for f in FIELDS}
    form = PremisesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial.get(k)}
        try:
            services.update_premises(premises, actor=request.user, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("premises:detail", pk=premises.pk)
    return render(request, "premises/form.html", {"form": form, "premises": premises})


@login_required
@require_POST
def add_licence(request, pk: int):
    premises = queries.get_premises(request.user, pk)
    form = LicenceForm(request.POST)
    if form.is_valid():
        try:
            services.add_licence(premises, actor=request.user, **form.cleaned_data)
            messages.success(request, _("已添加证照"))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    else:
        messages.error(request, "；".join(str(m) for ms in form.errors.values() for m in ms))
    return redirect("premises:detail", pk=premises.pk)


@login_required
@require_POST
def remove_licence(request, pk: int):
    if not 0 < pk <= MAX_ID:
        raise Http404
    licence = Licence.objects.filter(pk=pk, premises__in=queries.visible_premises(request.user)).first()
    if licence is None:
        raise Http404
    services.remove_licence(licence, actor=request.user)
    messages.success(request, _("已删除证照"))
    return redirect("premises:detail", pk=licence.premises_id)


@login_required
@require_POST
def add_photo(request, pk: int):
    premises = queries.get_premises(request.user, pk)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_photo(premises, form.cleaned_data["photo"], actor=request.user,
                               caption=form.cleaned_data["caption"])
            messages.success(request, _("已上传照片"))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    else:
        messages.error(request, "；".join(str(m) for ms in form.errors.values() for m in ms))
    return redirect("premises:detail", pk=premises.pk)


@login_required
@require_GET
def photo(request, pk: int, photo_id: int, kind: str):
    from gongzhi.cases.photos import photo_response

    premises = queries.get_premises(request.user, pk)
    if kind not in ("image", "thumb"):
        raise Http404
    item = PremisesPhoto.objects.filter(premises=premises, pk=photo_id).first()
    if item is None:
        raise Http404
    return photo_response(item.thumbnail if kind == "thumb" else item.image)


@login_required
@require_GET
def export(request):
    qs = queries.search(request.user, _filters(request))
    response = HttpResponse(io.to_xlsx_bytes(qs), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="premises.xlsx"'
    return response


@login_required
@require_GET
def import_template(request):
    response = HttpResponse(io.template_bytes(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="premises-template.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def import_file(request):
    if not services.can_register(request.user):
        raise PermissionDenied(_("您没有登记场所的权限"))
    form = ImportForm(request.POST or None, request.FILES or None)
    report, error = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            rows = io.read_xlsx(form.cleaned_data["file"])
        except ImportFileError as exc:
            error = str(exc)
        else:
            report = io.import_premises(rows, actor=request.user, commit=form.cleaned_data["commit"])
    return render(request, "premises/import.html", {"form": form, "report": report, "error": error,
                                                    "columns": [io.COLUMN_HEADERS[c] for c in io.COLUMNS]})
