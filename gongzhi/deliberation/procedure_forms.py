"""Forms of the 四议三公开 and meeting pages. The services (``procedures``, ``meetings``) check
everything again; the forms give the phone clear Chinese messages first."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from .meetings import KIND_MONTHS, MAX_MONTHS, MAX_REMIND_DAYS, QUORUM_PRESETS
from .models import MeetingSeries
from .procedures import MAX_ATTENDEES, MAX_MINUTES, MAX_PERSONS

NUMERIC = {"inputmode": "numeric"}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
#: The attendance rows shown on an empty form (the page's script adds more).
BLANK_ROWS = 3


def _format(template, **values) -> str:
    return str(template) % values


fmt = lazy(_format, str)


def _whole(label, *, minimum: int = 0, maximum: int = MAX_PERSONS, required: bool = True, **extra):
    return forms.IntegerField(
        label=label, min_value=minimum, max_value=maximum, required=required, widget=forms.NumberInput(attrs=NUMERIC),
        error_messages={"required": fmt(_("请填写%(label)s"), label=label), "invalid": _("请填写整数"),
                        "min_value": fmt(_("%(label)s至少为 %(n)s"), label=label, n=minimum),
                        "max_value": fmt(_("%(label)s不能超过 %(n)s"), label=label, n=maximum)},
        **extra)


def _date(label, *, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"},
                                                                                   format="%Y-%m-%d"),
                           error_messages={"required": fmt(_("请填写%(label)s"), label=label),
                                           "invalid": fmt(_("%(label)s格式不正确"), label=label)})


def _text(label, max_length: int, *, required: bool = True, rows: int | None = None) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required,
                           widget=forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput(),
                           error_messages={"required": fmt(_("请填写%(label)s"), label=label),
                                           "max_length": fmt(_("%(label)s不能超过 %(n)s 个字符"), label=label,
                                                             n=max_length)})


def _area() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(label=_("所属区域"), queryset=None,
                                  error_messages={"required": _("请选择所属区域"),
                                                  "invalid_choice": _("请选择您管理的区域")})


class ProcedureForm(forms.Form):
    area = _area()
    title = _text(_("议题"), 200)
    description = _text(_("议题内容"), MAX_MINUTES, required=False, rows=4)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class StageForm(forms.Form):
    held_on = _date(_("召开日期"))
    eligible = _whole(_("应到人数"), minimum=1)
    present = _whole(_("实到人数"), required=False,
                     help_text=_("填写了签到名单时可以不填，按名单中到会的人数计算"))
    votes_for = _whole(_("同意人数"))
    votes_against = _whole(_("反对人数"), required=False, initial=0)
    minutes = _text(_("会议记录"), MAX_MINUTES, rows=4)

    def clean(self):
        data = super().clean()
        if data.get("votes_against") is None and "votes_against" not in self.errors:
            data["votes_against"] = 0
        return data


def attendance_rows(post, files, prefix: str = "att") -> tuple[list[dict], list[dict], str | None]:
    """The attendance rows of a form: (rows for the service, rows to show again, an error or None).
    Row ``i`` has fields ``{prefix}-{i}-name``, ``-role``, ``-present`` (a checkbox) and ``-signature``
    (a file); rows without a name are skipped."""
    rows, shown = [], []
    for i in range(MAX_ATTENDEES + 1):
        key = f"{prefix}-{i}-"
        if key + "name" not in post and key + "role" not in post:
            if i >= BLANK_ROWS:
                break
            continue
        name = (post.get(key + "name") or "").strip()
        role = (post.get(key + "role") or "").strip()
        present = bool(post.get(key + "present"))
        signature = files.get(key + "signature")
        shown.append({"name": name, "role": role, "present": present})
        if not name:
            if role or signature:
                return rows, shown, str(_("请填写第 %(n)s 行参会人员的姓名") % {"n": i + 1})
            continue
        if len(rows) >= MAX_ATTENDEES:
            return rows, shown, str(_("参会人员不能超过 %(n)s 人") % {"n": MAX_ATTENDEES})
        rows.append({"name": name, "role": role, "present": present, "signature": signature})
    while len(shown) < BLANK_ROWS:
        shown.append({"name": "", "role": "", "present": True})
    return rows, shown, None


def blank_rows() -> list[dict]:
    return [{"name": "", "role": "", "present": True} for _i in range(BLANK_ROWS)]


class PublishForm(forms.Form):
    content = _text(_("公开内容"), 100_000, rows=5)
    channel = _text(_("公开渠道"), 200)
    starts_on = _date(_("公开开始日期"))
    days = _whole(_("公开天数"), minimum=1, maximum=366, initial=7)


class LinkDecisionForm(forms.Form):
    decision = forms.ModelChoiceField(label=_("村民会议的表决"), queryset=None, required=False,
                                      empty_label=_("（不关联）"),
                                      error_messages={"invalid_choice": _("请选择本区域的表决")})

    def __init__(self, *args, decisions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].queryset = decisions


QUORUM_CHOICES = [("", _("不设法定人数"))] + [(key, label) for key, (label, _rule) in QUORUM_PRESETS.items()]


class SeriesForm(forms.Form):
    area = _area()
    kind = forms.ChoiceField(label=_("类别"), choices=MeetingSeries.Kind.choices,
                             error_messages={"required": _("请选择例会类别"), "invalid_choice": _("请选择例会类别")})
    name = _text(_("名称"), 120)
    every_months = _whole(_("周期（月）"), minimum=1, maximum=MAX_MONTHS, required=False,
                          help_text=_("留空按类别：意见征询会每 2 个月，三方联席会议每季度，业主大会每年"))
    next_due = _date(_("下次应召开"))
    remind_days = _whole(_("提前提醒天数"), minimum=0, maximum=MAX_REMIND_DAYS, initial=7)
    quorum = forms.ChoiceField(label=_("法定人数"), choices=QUORUM_CHOICES, required=False,
                               error_messages={"invalid_choice": _("请选择法定人数规则")})
    organise = forms.BooleanField(label=_("由我担任召集人（接收提醒）"), required=False, initial=True)

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("every_months") is None and data["kind"] not in KIND_MONTHS \
                and "every_months" not in self.errors:
            self.add_error("every_months", _("请填写周期（月）"))
        return data


class MeetingForm(forms.Form):
    area = _area()
    title = _text(_("会议名称"), 200)
    held_at = forms.DateTimeField(label=_("召开时间"), input_formats=DATETIME_FORMATS,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                                  error_messages={"required": _("请填写召开时间"), "invalid": _("召开时间格式不正确")})
    place = _text(_("地点"), 200, required=False)
    agenda = _text(_("议程"), MAX_MINUTES, required=False, rows=3)
    minutes = _text(_("会议纪要"), MAX_MINUTES, rows=4)
    eligible = _whole(_("应到人数"), minimum=1, required=False)
    present = _whole(_("实到人数"), required=False, help_text=_("填写了签到名单时可以不填，按名单中到会的人数计算"))
    decisions = forms.ModelMultipleChoiceField(label=_("本次会议的表决"), queryset=None, required=False,
                                               widget=forms.CheckboxSelectMultiple,
                                               error_messages={"invalid_choice": _("请选择本区域的表决"),
                                                               "invalid_pk_value": _("请选择本区域的表决")})

    def __init__(self, *args, areas=None, decisions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["decisions"].queryset = decisions
