"""Forms of the assistance and relief pages. They only shape input; the rules are in
``assistance.py`` and ``relief.py`` (whose refusals land on the form via add_service_errors)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.orgs.models import User

from .models import DifficultyKind, HelpRecord, NeedCase

DATE = forms.DateInput(attrs={"type": "date"})


class NeedCaseForm(forms.Form):
    kinds = forms.ModelMultipleChoiceField(label=_("困难类型"), queryset=DifficultyKind.objects.all(),
                                           widget=forms.CheckboxSelectMultiple)
    level = forms.ChoiceField(label=_("困难程度"), choices=NeedCase.Level.choices)
    details = forms.CharField(label=_("困难情况"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("加密保存，列表中不显示"))
    helper = forms.ModelChoiceField(label=_("结对帮扶人"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, helpers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["helper"].queryset = helpers if helpers is not None else User.objects.none()


class HelperForm(forms.Form):
    helper = forms.ModelChoiceField(label=_("结对帮扶人"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, helpers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["helper"].queryset = helpers if helpers is not None else User.objects.none()


class PlanForm(forms.Form):
    measures = forms.CharField(label=_("帮扶措施"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    responsible = forms.ModelChoiceField(label=_("负责人"), queryset=User.objects.none(), required=False)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE, initial=timezone.localdate)
    review_on = forms.DateField(label=_("复核日期"), widget=DATE, required=False)

    def __init__(self, *args, helpers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = helpers if helpers is not None else User.objects.none()


class HelpForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=HelpRecord.Kind.choices)
    on = forms.DateField(label=_("日期"), widget=DATE, initial=timezone.localdate)
    description = forms.CharField(label=_("内容"), max_length=200)
    amount = forms.DecimalField(label=_("金额（元）"), required=False, min_value=0, max_digits=10,
                                decimal_places=2)


class CloseForm(forms.Form):
    on = forms.DateField(label=_("结案日期"), widget=DATE, initial=timezone.localdate)
    reason = forms.CharField(label=_("结案原因"), max_length=64,
                             widget=forms.TextInput(attrs={"placeholder": _("例如：已就业，收入稳定")}))


class BatchForm(forms.Form):
    area = forms.ChoiceField(label=_("发放区域"))
    name = forms.CharField(label=_("名称"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("例如：冬季御寒物资")}))
    goods = forms.CharField(label=_("物资"), max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": _("例如：棉被一床、棉大衣一件")}))
    per_household = forms.IntegerField(label=_("每户数量"), min_value=1, max_value=1000, initial=1)

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "—")] + [(str(a.pk), a.name) for a in areas]


class ListForm(forms.Form):
    numbers = forms.CharField(label=_("户号"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("多个户号用空格、逗号或换行分隔"))


class IssueForm(forms.Form):
    signed_by = forms.CharField(label=_("签收人"), max_length=64)
    signature = forms.ImageField(label=_("签名照片"), required=False)
