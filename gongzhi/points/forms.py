"""Forms of the points pages. The services check everything again; the forms give the phone clear
Chinese messages first."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from .services import MAX_GOOD_DEED_POINTS

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
NUMERIC = {"inputmode": "numeric"}


def _format(template, **values) -> str:
    return str(template) % values


#: ``template % values`` evaluated when shown, in the language of the request
fmt = lazy(_format, str)


def _whole(label, *, minimum: int, maximum: int, required: bool = True, **extra) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=minimum, max_value=maximum, required=required, widget=forms.NumberInput(attrs=NUMERIC),
        error_messages={"required": fmt(_("请填写%(label)s"), label=label), "invalid": _("请填写整数"),
                        "min_value": fmt(_("%(label)s至少为 %(n)s"), label=label, n=minimum),
                        "max_value": fmt(_("%(label)s不能超过 %(n)s"), label=label, n=maximum)},
        **extra)


def _when(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": fmt(_("请填写%(label)s"), label=label),
                        "invalid": fmt(_("%(label)s格式不正确"), label=label)})


class ActivityForm(forms.Form):
    area = forms.ModelChoiceField(label=_("所属区域"), queryset=None,
                                  error_messages={"required": _("请选择所属区域"),
                                                  "invalid_choice": _("请选择您管理的区域")})
    title = forms.CharField(label=_("活动名称"), max_length=120,
                            error_messages={"required": _("请填写活动名称"),
                                            "max_length": _("活动名称不能超过 120 个字符")})
    place = forms.CharField(label=_("地点"), max_length=200, required=False,
                            error_messages={"max_length": _("地点不能超过 200 个字符")})
    description = forms.CharField(label=_("活动内容"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  error_messages={"max_length": _("活动内容不能超过 5000 个字符")})
    starts_at = _when(_("开始时间"))
    ends_at = _when(_("结束时间"))
    slots = _whole(_("名额"), minimum=1, maximum=100000, initial=10)
    points_per_hour = _whole(_("每小时积分"), minimum=0, maximum=10000, initial=10)
    difficulty = forms.DecimalField(label=_("难度系数"), min_value=0.1, max_value=10, decimal_places=2, initial=1,
                                    widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                                    error_messages={"required": _("请填写难度系数"),
                                                    "invalid": _("难度系数应为 0.1 到 10 之间的数，最多两位小数"),
                                                    "min_value": _("难度系数应为 0.1 到 10 之间的数，最多两位小数"),
                                                    "max_value": _("难度系数应为 0.1 到 10 之间的数，最多两位小数"),
                                                    "max_decimal_places": _("难度系数最多两位小数"),
                                                    "max_digits": _("难度系数应为 0.1 到 10 之间的数，最多两位小数")})
    cap_minutes = _whole(_("计时上限（分钟）"), minimum=1, maximum=24 * 60, initial=120)
    cap_points = _whole(_("积分上限"), minimum=0, maximum=100000, initial=30)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("结束时间应晚于开始时间"))
        return data


class ConfirmForm(forms.Form):
    """Confirm an attendance: by the clock (check-in to check-out), or the minutes given."""

    minutes = _whole(_("认定时长（分钟）"), minimum=0, maximum=24 * 60, required=False)


class ApproveForm(forms.Form):
    points = _whole(_("积分"), minimum=1, maximum=MAX_GOOD_DEED_POINTS)
    note = forms.CharField(label=_("审核意见"), max_length=500, required=False,
                           error_messages={"max_length": _("审核意见不能超过 500 个字符")})


class RejectForm(forms.Form):
    note = forms.CharField(label=_("不通过的理由"), max_length=500,
                           error_messages={"required": _("请填写不通过的理由"),
                                           "max_length": _("审核意见不能超过 500 个字符")})


class RedeemForm(forms.Form):
    code = forms.CharField(label=_("券码"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "autofocus": True}),
                           error_messages={"required": _("请输入券码"), "max_length": _("券码无效")})


class SettlementForm(forms.Form):
    merchant = forms.ModelChoiceField(label=_("商户"), queryset=None,
                                      error_messages={"required": _("请选择商户"),
                                                      "invalid_choice": _("请选择您管理的商户")})
    start = forms.DateField(label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"required": _("请填写起始日期"), "invalid": _("起始日期格式不正确")})
    end = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}),
                          error_messages={"required": _("请填写截止日期"), "invalid": _("截止日期格式不正确")})

    def __init__(self, *args, merchants=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = merchants

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("截止日期不能早于起始日期"))
            elif (end - start).days > 366:
                self.add_error("end", _("结算期不能超过一年"))
        return data


class GoodDeedForm(forms.Form):
    """Report someone's good deed: the person by their account name or mobile number."""

    person = forms.CharField(label=_("当事人账号或手机号"), max_length=150,
                             error_messages={"required": _("请填写当事人的账号或手机号"),
                                             "max_length": _("找不到该账号")})
    area = forms.ModelChoiceField(label=_("所在社区"), queryset=None,
                                  error_messages={"required": _("请选择所在社区"),
                                                  "invalid_choice": _("请选择所在社区")})
    occurred_on = forms.DateField(label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}),
                                  error_messages={"required": _("请填写发生日期"),
                                                  "invalid": _("发生日期格式不正确")})
    description = forms.CharField(label=_("事迹"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                                  error_messages={"required": _("请填写事迹"),
                                                  "max_length": _("事迹不能超过 2000 个字符")})

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas

    def clean_person(self):
        from django.contrib.auth import get_user_model

        value = self.cleaned_data["person"].strip()
        users = get_user_model().objects.filter(is_active=True)
        person = users.filter(username=value).first() or (users.filter(phone=value).first() if value else None)
        if person is None:
            raise forms.ValidationError(_("找不到该账号"))
        return person
