"""Forms of the notice board and of residency requests (the services validate again)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.cases.forms import MultipleFileField, MultipleFileInput

from . import notices, residency


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        parent = getattr(obj, "parent", None)
        return f"{parent.name} · {obj.name}" if parent is not None else obj.name


ACCEPT = ",".join(f".{ext}" for ext in notices.ALLOWED)


class NoticeForm(forms.Form):
    area = AreaChoiceField(label=_("发布范围"), queryset=None)
    title = forms.CharField(label=_("标题"), max_length=120)
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 8}), max_length=notices.MAX_BODY)
    valid_from = forms.DateField(label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("失效日期"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text=_("留空为长期有效"))
    pinned = forms.BooleanField(label=_("置顶"), required=False)
    is_public = forms.BooleanField(label=_("对外公开（不登录也能看到）"), required=False)
    needs_relay = forms.BooleanField(label=_("需楼栋长逐户传达"), required=False)
    attachments = MultipleFileField(
        label=_("附件"), required=False, widget=MultipleFileInput(attrs={"accept": ACCEPT}),
        help_text=_("PDF、图片或办公文档，每个不超过 10 MB，最多 5 个"))

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = notices.publish_areas(user).select_related("parent")
        self.fields["valid_from"].initial = timezone.localdate()


class ResidencyForm(forms.Form):
    area = AreaChoiceField(label=_("楼栋"), queryset=None)
    unit = forms.CharField(label=_("房号"), max_length=32, widget=forms.TextInput(attrs={"placeholder": "1-502"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = residency.home_areas().order_by("path")
