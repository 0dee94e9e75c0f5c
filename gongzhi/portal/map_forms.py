"""Forms of the services map (servicemap.py does the checking; these only shape the input)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ServicePointType


class PointForm(forms.Form):
    type = forms.ModelChoiceField(label=_("类型"), queryset=ServicePointType.objects.filter(is_active=True),
                                  error_messages={"required": _("请选择服务点类型"),
                                                  "invalid_choice": _("请选择启用的服务点类型")})
    name = forms.CharField(label=_("名称"), max_length=100,
                           error_messages={"required": _("请填写名称"), "max_length": _("名称不能超过 100 个字符")})
    area = forms.ModelChoiceField(label=_("所在区域"), queryset=None,
                                  error_messages={"required": _("请选择所在区域"),
                                                  "invalid_choice": _("请选择您管理的区域")})
    lon = forms.FloatField(label=_("经度"), error_messages={"required": _("请填写经度"),
                                                           "invalid": _("经度必须是数字")})
    lat = forms.FloatField(label=_("纬度"), error_messages={"required": _("请填写纬度"),
                                                           "invalid": _("纬度必须是数字")})
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    phone = forms.CharField(label=_("电话"), max_length=32, required=False)
    hours = forms.CharField(label=_("开放时间"), max_length=100, required=False,
                            help_text=_("如：周一至周五 8:30–17:30"))
    description = forms.CharField(label=_("简介"), max_length=200, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        from gongzhi.areas.models import Area

        ids = [a.pk for a in (areas or [])]
        self.fields["area"].queryset = Area.objects.filter(pk__in=ids).order_by("path")
        self.fields["lon"].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["lat"].widget.attrs.update({"step": "any", "inputmode": "decimal"})


class ImportForm(forms.Form):
    area = forms.ModelChoiceField(label=_("区域"), queryset=None,
                                  error_messages={"required": _("请选择所在区域"),
                                                  "invalid_choice": _("请选择您管理的区域")})

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        from gongzhi.areas.models import Area

        ids = [a.pk for a in (areas or [])]
        self.fields["area"].queryset = Area.objects.filter(pk__in=ids).order_by("path")
