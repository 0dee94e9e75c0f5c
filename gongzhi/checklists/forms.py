from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Checklist


class UploadForm(forms.Form):
    checklist = forms.ModelChoiceField(Checklist.objects.all(), label=_("检查表"), required=False,
                                       empty_label=_("（新建检查表）"))
    code = forms.SlugField(label=_("新检查表代码"), max_length=40, required=False)
    name = forms.CharField(label=_("新检查表名称"), max_length=100, required=False)
    file = forms.FileField(label=_("XLSForm 工作簿（.xlsx）"))

    def clean(self):
        data = super().clean()
        if not data.get("checklist") and not (data.get("code") and data.get("name")):
            raise forms.ValidationError(_("请选择检查表，或填写新检查表的代码和名称"))
        return data
