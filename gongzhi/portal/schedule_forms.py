"""Forms of the service-schedule pages. The services (``schedules.py``) check everything again; the
forms give the phone clear Chinese messages first."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ServiceSchedule
from .schedules import WEEKDAY_NAMES

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _date(label, *, required=True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DATE_WIDGET,
                           error_messages={"required": _("请填写日期"), "invalid": _("日期格式不正确")})


class ScheduleForm(forms.Form):
    area = forms.ModelChoiceField(label=_("服务范围"), queryset=None,
                                  error_messages={"required": _("请选择服务范围"),
                                                  "invalid_choice": _("请选择您管理的区域")})
    kind = forms.ChoiceField(label=_("类别"), choices=ServiceSchedule.Kind.choices,
                             error_messages={"required": _("请选择类别"), "invalid_choice": _("请选择类别")})
    title = forms.CharField(label=_("名称"), max_length=100,
                            error_messages={"required": _("请填写名称"), "max_length": _("名称不能超过 100 个字符")})
    times = forms.CharField(label=_("时间"), max_length=400, help_text=_("如 07:30 12:30 19:30，或 09:00-12:00"),
                            error_messages={"required": _("请填写时间，如 07:30 或 09:00-12:00")})
    calendar_rule = forms.ChoiceField(label=_("节假日规则"), choices=ServiceSchedule.CalendarRule.choices,
                                      error_messages={"required": _("请选择节假日规则"),
                                                      "invalid_choice": _("请选择节假日规则")})
    weekdays = forms.TypedMultipleChoiceField(
        label=_("星期"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(i, name) for i, name in enumerate(WEEKDAY_NAMES)], help_text=_("不选为每天；“仅工作日”不看星期"),
        error_messages={"invalid_choice": _("星期应为 0（周一）到 6（周日）")})
    place = forms.CharField(label=_("地点"), max_length=100, required=False,
                            error_messages={"max_length": _("地点不能超过 100 个字符")})
    note = forms.CharField(label=_("说明"), max_length=200, required=False,
                           error_messages={"max_length": _("说明不能超过 200 个字符")})
    is_public = forms.BooleanField(label=_("对外公开"), required=False, initial=True)
    valid_from = _date(_("开始日期"))
    valid_until = _date(_("结束日期"), required=False)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas

    def clean(self):
        data = super().clean()
        start, until = data.get("valid_from"), data.get("valid_until")
        if start and until and until < start:
            self.add_error("valid_until", _("结束日期不能早于开始日期"))
        return data

    @classmethod
    def initial_of(cls, schedule: ServiceSchedule) -> dict:
        return {"area": schedule.area_id, "kind": schedule.kind, "title": schedule.title,
                "times": " ".join(schedule.times), "calendar_rule": schedule.calendar_rule,
                "weekdays": list(schedule.weekdays), "place": schedule.place, "note": schedule.note,
                "is_public": schedule.is_public, "valid_from": schedule.valid_from,
                "valid_until": schedule.valid_until}


class ExceptionForm(forms.Form):
    date = _date(_("日期"))
    cancelled = forms.BooleanField(label=_("当天停止"), required=False)
    times = forms.CharField(label=_("当天时间"), max_length=400, required=False,
                            help_text=_("如 09:00；选“当天停止”时不填"))
    note = forms.CharField(label=_("说明"), max_length=200, required=False,
                           help_text=_("如：春节：仅 09:00 清运一次"),
                           error_messages={"max_length": _("说明不能超过 200 个字符")})

    def clean(self):
        data = super().clean()
        if not data.get("cancelled") and not (data.get("times") or "").strip() and "times" not in self.errors:
            self.add_error("times", _("请填写当天的时间，或选择当天停止"))
        return data


class AreaFilterForm(forms.Form):
    area = forms.ModelChoiceField(label=_("区域"), queryset=None, required=False, empty_label=_("全部区域"))

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
