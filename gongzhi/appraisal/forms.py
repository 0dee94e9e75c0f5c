from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.areas.models import Area

from .models import Party


class AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class ProjectForm(forms.Form):
    title = forms.CharField(label=_("项目名称"), max_length=120)
    area = AreaChoice(Area.objects.none(), label=_("所属区域"))
    description = forms.CharField(label=_("项目说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=4000)
    items = forms.CharField(label=_("评分项"), widget=forms.Textarea(attrs={"rows": 5}),
                            help_text=_("每行一项：名称 满分，如“环境整治成效 30”"), max_length=4000)
    weight_leader = forms.DecimalField(label=_("领导权重"), min_value=0, initial=30)
    weight_deputy = forms.DecimalField(label=_("代表委员权重"), min_value=0, initial=20)
    weight_party_member = forms.DecimalField(label=_("党员权重"), min_value=0, initial=20)
    weight_resident = forms.DecimalField(label=_("居民权重"), min_value=0, initial=30)
    public = forms.BooleanField(label=_("居民可评"), required=False, initial=True)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        if areas is not None:
            self.fields["area"].queryset = areas

    def clean_items(self):
        items = []
        for number, line in enumerate(self.cleaned_data["items"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            match = re.fullmatch(r"(.+?)[\s　:：,，]+(\d+(?:\.\d+)?)\s*分?", line)
            if not match:
                raise forms.ValidationError(_("第 %(n)d 行应为“名称 满分”") % {"n": number})
            items.append((match.group(1).strip(), match.group(2)))
        if not items:
            raise forms.ValidationError(_("评分表至少要有一个评分项"))
        return items

    def weights(self) -> dict:
        return {party: self.cleaned_data[f"weight_{party}"] for party in Party.values}


class SelectionForm(forms.Form):
    title = forms.CharField(label=_("评选名称"), max_length=120)
    area = AreaChoice(Area.objects.none(), label=_("所属区域"))
    description = forms.CharField(label=_("评选说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=4000)
    winners = forms.IntegerField(label=_("评选名额"), min_value=1, max_value=100, initial=3)
    publicity_days = forms.IntegerField(label=_("公示天数"), min_value=1, max_value=60, initial=7)
    public = forms.BooleanField(label=_("居民可参与"), required=False, initial=True)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        if areas is not None:
            self.fields["area"].queryset = areas


class InviteForm(forms.Form):
    person = forms.CharField(label=_("评议人（用户名或手机号）"), max_length=150)
    party = forms.ChoiceField(label=_("评议方"), choices=Party.choices)
