"""Forms of the inspection pages. The services check everything again; the forms give the phone
clear Chinese messages before that."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.checklists.models import Checklist
from gongzhi.premises.models import PremisesType, RiskLevel

from .models import Plan
from .plans import MAX_REVISIT_DAYS, MAX_TARGETS_LIMIT


class PlanForm(forms.Form):
    """Create (with ``teams``: the teams the user may plan for) or edit a plan (``teams=None``)."""

    team = forms.ModelChoiceField(queryset=None, label=_("检查小组"),
                                  error_messages={"required": _("请选择检查小组"),
                                                  "invalid_choice": _("请选择您管辖范围内的检查小组")})
    name = forms.CharField(label=_("名称"), max_length=100,
                           error_messages={"required": _("名称不能为空"),
                                           "max_length": _("名称不能超过 100 个字符")})
    weekday = forms.TypedChoiceField(label=_("检查日"), choices=Plan.Weekday.choices, coerce=int,
                                     initial=Plan.Weekday.WEDNESDAY,
                                     error_messages={"required": _("请选择检查日"),
                                                     "invalid_choice": _("检查日应为星期一到星期日")})
    checklist = forms.ModelChoiceField(queryset=Checklist.objects.all(), label=_("检查表"),
                                       error_messages={"required": _("请选择检查表"),
                                                       "invalid_choice": _("检查表不存在")})
    premises_types = forms.ModelMultipleChoiceField(
        queryset=PremisesType.objects.filter(is_active=True), label=_("场所类型"), required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("不选为全部类型"),
        error_messages={"invalid_choice": _("场所类型不正确"), "invalid_pk_value": _("场所类型不正确")})
    min_risk_level = forms.ChoiceField(label=_("最低风险等级"), required=False,
                                       choices=[("", _("全部等级")), *RiskLevel.choices],
                                       error_messages={"invalid_choice": _("风险等级不正确")})
    revisit_days = forms.IntegerField(
        label=_("距上次检查天数"), min_value=1, max_value=MAX_REVISIT_DAYS, initial=90,
        help_text=_("上次检查距今达到此天数的场所列入计划"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("请填写距上次检查天数"), "invalid": _("请填写整数"),
                        "min_value": _("距上次检查天数至少为 1"),
                        "max_value": _("距上次检查天数不能超过 %(limit_value)s")})
    include_open_hazards = forms.BooleanField(label=_("含有未整改隐患的场所"), required=False, initial=True)
    max_targets = forms.IntegerField(
        label=_("每次最多场所数"), min_value=1, max_value=MAX_TARGETS_LIMIT, initial=20,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("请填写每次最多场所数"), "invalid": _("请填写整数"),
                        "min_value": _("每次最多场所数至少为 1"),
                        "max_value": _("每次最多场所数不能超过 %(limit_value)s")})

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is None:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = teams


class BuildForm(forms.Form):
    """Rebuild a plan's day: the date must be one of the plan's inspection days."""

    date = forms.DateField(label=_("检查日期"), widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"required": _("请选择日期"), "invalid": _("日期格式应为 YYYY-MM-DD")})

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan

    def clean_date(self) -> datetime.date:
        date = self.cleaned_data["date"]
        if date.isoweekday() != self.plan.weekday:
            raise forms.ValidationError(_("%(date)s 不是该计划的检查日（%(weekday)s）"), params={
                "date": date.isoformat(), "weekday": self.plan.get_weekday_display()})
        return date
