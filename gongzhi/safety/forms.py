from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Feedback, PoliceArea


class FiguresForm(forms.Form):
    police_area = forms.ModelChoiceField(PoliceArea.objects.none(), label=_("警务辖区"))
    month = forms.CharField(label=_("月份"), widget=forms.TextInput(attrs={"type": "month"}))
    criminal = forms.IntegerField(label=_("刑事案件（件）"), min_value=0)
    public_order = forms.IntegerField(label=_("治安案件（件）"), min_value=0)
    robbery_theft = forms.IntegerField(label=_("两抢一盗（件）"), min_value=0)
    fraud = forms.IntegerField(label=_("诈骗案件（件）"), min_value=0)
    satisfaction = forms.DecimalField(label=_("群众满意率（%）"), min_value=0, max_value=100, decimal_places=2,
                                      required=False, help_text=_("直接填百分数，或留空并填写下面的调查人数"))
    surveyed = forms.IntegerField(label=_("满意度调查：受访人数"), min_value=1, required=False)
    satisfied = forms.IntegerField(label=_("满意度调查：满意人数"), min_value=0, required=False)

    def clean(self):
        data = super().clean()
        if data.get("satisfaction") is None and (data.get("surveyed") is None or data.get("satisfied") is None):
            raise forms.ValidationError(_("请填写满意率，或填写调查的受访人数和满意人数"))
        return data

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        if areas is not None:
            self.fields["police_area"].queryset = areas


class ImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx 文件"))
    commit = forms.BooleanField(label=_("确认写入（不勾选则只试运行）"), required=False)


class MeasureForm(forms.Form):
    what = forms.CharField(label=_("措施内容"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    owner = forms.CharField(label=_("责任人"), max_length=100)
    due_on = forms.DateField(label=_("完成期限"), widget=forms.DateInput(attrs={"type": "date"}))


class FeedbackForm(forms.Form):
    result = forms.ChoiceField(label=_("落实结果"), choices=Feedback.Result.choices)
    note = forms.CharField(label=_("反馈内容"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
