"""Forms of the 公开栏 pages (the service functions in disclosures.py validate again)."""

from __future__ import annotations

import csv
import io

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Disclosure


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DisclosureForm(forms.Form):
    area = forms.ModelChoiceField(label=gettext_lazy("公开范围"), queryset=None)
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=Disclosure.Kind.choices)
    title = forms.CharField(label=gettext_lazy("标题"), max_length=120)
    period_start = forms.DateField(label=gettext_lazy("期间起"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=gettext_lazy("期间止"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    is_public = forms.BooleanField(label=gettext_lazy("对外公开（不登录也能看到）"), required=False)

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


def lines_to_text(lines) -> str:
    """Finance lines as editable CSV text (one line each: 日期,事项,收入,支出,备注)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for line in lines:
        writer.writerow([line["date"], line["item"], line["income"], line["expense"], line["note"]])
    return out.getvalue()


def text_to_rows(text: str) -> list[list[str]]:
    rows = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            rows.append([])
            continue
        delimiter = "\t" if "\t" in raw else ","
        rows.extend(csv.reader([raw], delimiter=delimiter))
    return rows


class PublishForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("正文"), required=False, widget=forms.Textarea(attrs={"rows": 10}))
    lines_text = forms.CharField(
        label=gettext_lazy("收支明细"), required=False, widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("每行一笔：日期,事项,收入,支出,备注（如 2026-11-03,电梯维修,0,1200.00,发票见附件）"))
    change_note = forms.CharField(label=gettext_lazy("变更说明"), required=False, max_length=200)
    attachments = forms.FileField(label=gettext_lazy("附件（收据、发票：图片或 PDF）"), required=False,
                                  widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,"
                                                                            "application/pdf"}))

    def __init__(self, *args, disclosure, **kwargs):
        super().__init__(*args, **kwargs)
        self.disclosure = disclosure
        if disclosure.kind == Disclosure.Kind.FINANCE:
            self.fields["body"].label = _("说明")
        else:
            del self.fields["lines_text"]

    def clean_attachments(self):
        return self.files.getlist("attachments") if self.files else []


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("收支明细表（xlsx 或 CSV：日期、事项、收入、支出、备注）"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise ValidationError(_("文件不能超过 %(mb)d MB") % {"mb": 2})
        return upload
