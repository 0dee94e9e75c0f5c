"""整改通知书 as an A4 PDF (``gongzhi.core.pdf``, the STSong-Light CJK font): the issuing department,
the number, the premises (name, address, operator), the date of the visit, the items to fix with the
answer found, legal basis and severity, the deadline (date and working days), the operator's
acknowledgement (name and the signature drawn on the phone, if any) and the team.

    data: bytes = notice_pdf.build(notice)
"""

from __future__ import annotations

import io
import logging

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Image as PdfImage

from gongzhi.checklists.xlsform import pick_label
from gongzhi.core import pdf

from .models import Hazard, Notice

logger = logging.getLogger("gongzhi.inspections.notice_pdf")


def _date(value) -> str:
    local = timezone.localtime(value)
    return _("%(y)d年%(m)d月%(d)d日") % {"y": local.year, "m": local.month, "d": local.day}


def answer_text(hazard: Hazard, form) -> str:
    """The failing answer as the phone showed it (choice labels), else the stored names."""
    names = hazard.answer if isinstance(hazard.answer, list) else [hazard.answer]
    question = form.questions.get(hazard.item_name) if form is not None else None
    labels = {}
    if question is not None:
        labels = {c["name"]: pick_label(c["label"]) for c in form.choice_list(question)}
    return "、".join(labels.get(str(n), str(n)) for n in names) or "—"


def _signature(visit) -> PdfImage | None:
    if not visit.signature:
        return None
    try:
        with visit.signature.open("rb") as handle:
            data = handle.read()
        from PIL import Image

        width, height = Image.open(io.BytesIO(data), formats=["PNG"]).size
    except Exception:  # noqa: BLE001 - a missing or broken file must not stop the notice
        logger.warning("signature of visit %s could not be read", visit.pk, exc_info=True)
        return None
    box_w, box_h = 60 * mm, 22 * mm
    scale = min(box_w / width, box_h / height)
    image = PdfImage(io.BytesIO(data), width=width * scale, height=height * scale)
    image.hAlign = "LEFT"
    return image


def build(notice: Notice) -> bytes:
    """The notice in Chinese whatever the reader's language: it is the official document the operator
    signed for (the labels come from the checklist's Chinese column too)."""
    with translation.override("zh-hans"):
        return _build(notice)


def _build(notice: Notice) -> bytes:
    visit = notice.visit
    premises = visit.premises
    team = visit.team
    department = notice.department
    hazards = list(notice.hazards.order_by("deadline", "pk"))
    try:
        form = visit.checklist_version.form
    except Exception:  # noqa: BLE001 - the labels are a nicety; the stored names will do
        form = None
    visited = visit.finished_at or visit.started_at
    days = max((h.rectification_days for h in hazards), default=0)

    doc = pdf.Document(_("整改通知书"), subtitle=notice.number, author=department.name,
                       generated_at=timezone.localtime())
    doc.paragraph(_("发文单位：%(department)s") % {"department": department.name})
    doc.paragraph(_("文号：%(number)s") % {"number": notice.number})
    doc.spacer(2)
    doc.table([
        [_("被检查场所"), premises.name],
        [_("地址"), premises.address or "—"],
        [_("经营者/负责人"), premises.operator_name or "—"],
        [_("联系电话"), premises.contact_phone or "—"],
        [_("检查日期"), _date(visited)],
        [_("检查小组"), f"{team.station.name} · {team.name}"],
    ], widths=[0.25, 0.75], header_rows=0)
    doc.spacer(3)
    doc.paragraph(_("%(date)s，%(team)s对你单位进行联合检查，发现下列问题，违反了有关法律法规的规定。"
                    "现责令你单位于%(deadline)s前（%(days)d个工作日内）整改完毕，并将整改情况报告我单位。"
                    "逾期未整改的，将依法逐级升级处理。") % {
        "date": _date(visited), "team": team.station.name, "deadline": _date(notice.deadline), "days": days})
    doc.heading(_("一、需整改的问题"))
    rows = [[_("序号"), _("检查项"), _("检查结论"), _("法律依据"), _("严重程度"), _("整改期限")]]
    for i, hazard in enumerate(hazards, 1):
        rows.append([str(i), hazard.item_label, answer_text(hazard, form), hazard.legal_basis or "—",
                     hazard.get_severity_display(),
                     _("%(date)s（%(days)d个工作日）") % {"date": _date(hazard.deadline),
                                                   "days": hazard.rectification_days}])
    doc.table(rows, widths=[0.07, 0.25, 0.12, 0.28, 0.1, 0.18])
    doc.heading(_("二、整改期限"))
    doc.paragraph(_("整改期限：%(deadline)s（%(days)d个工作日）") % {
        "deadline": _date(notice.deadline), "days": days})
    doc.heading(_("三、经营者签收"))
    doc.paragraph(_("签收人：%(name)s") % {"name": visit.acknowledged_by or _("（未签收）")})
    signature = _signature(visit)
    if signature is not None:
        doc.paragraph(_("签名："))
        doc.add(signature)
    doc.spacer(8)
    doc.paragraph(_("发文单位：%(department)s") % {"department": department.name})
    doc.paragraph(_("日期：%(date)s") % {"date": _date(notice.issued_at)})
    return doc.build()
