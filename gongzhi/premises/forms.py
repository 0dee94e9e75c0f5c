from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Licence, PremisesType, RiskLevel


class PremisesForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=120)
    type = forms.ModelChoiceField(PremisesType.objects.filter(is_active=True), label=_("类型"))
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180,
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90,
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    operator_name = forms.CharField(label=_("经营者/负责人"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False,
                                    widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    risk_level = forms.ChoiceField(label=_("风险等级"), choices=RiskLevel.choices, initial=RiskLevel.LOW)
    code = forms.CharField(label=_("编号"), max_length=40, required=False)
    notes = forms.CharField(label=_("备注"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label=_("在营"), required=False, initial=True)


class LicenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("证照类型"), choices=Licence.Kind.choices)
    number = forms.CharField(label=_("证照号码"), max_length=60)
    valid_until = forms.DateField(label=_("有效期至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("照片"), widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    caption = forms.CharField(label=_("说明"), max_length=100, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx 文件"))
    commit = forms.BooleanField(label=_("确认写入（不勾选则只试运行）"), required=False)
