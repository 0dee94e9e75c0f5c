"""Forms of the vote pages: starting a decision, a ballot (online or typed in from paper), voiding
entries, the sign-in sheet, cancelling, publishing the result, objections. The services check
everything again; these only give the pages clear field errors (Chinese) and keep what was typed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import presets, queries
from .models import Decision, Participation, Vote
from .publicity import MAX_DAYS

CHOICE_ERRORS = {"required": _("请选择同意、反对或弃权"), "invalid_choice": _("请选择同意、反对或弃权")}
WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
WHEN_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.level.name}）" if getattr(obj, "level", None) else obj.name


class RollChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.area.name}"


class DecisionForm(forms.Form):
    area = AreaChoice(label=_("所属区域"), queryset=None, empty_label=None,
                      error_messages={"required": _("请选择区域"), "invalid_choice": _("请选择您能管理的区域")})
    roll = RollChoice(label=_("表决名册"), queryset=None,
                      error_messages={"required": _("请选择名册"), "invalid_choice": _("请选择您能看到的名册")})
    title = forms.CharField(label=_("表决事项"), max_length=200,
                            error_messages={"required": _("请填写表决事项"),
                                            "max_length": _("表决事项不能超过 200 个字符")})
    description = forms.CharField(label=_("说明"), required=False, max_length=10000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    preset = forms.ChoiceField(label=_("规则模板"), choices=(),
                               error_messages={"required": _("请选择规则模板"),
                                               "invalid_choice": _("未知的规则模板")})
    building = forms.CharField(label=_("本栋楼栋号（加装电梯）"), required=False, max_length=64,
                               help_text=_("仅“加装电梯”模板需要：本栋业主这一表决范围所在的楼栋"))
    ballot_unit = forms.ChoiceField(label=_("投票单位"), required=False,
                                    choices=[("", _("按模板默认"))] + list(Decision.BallotUnit.choices),
                                    error_messages={"invalid_choice": _("未知的投票单位")})
    secret = forms.BooleanField(label=_("无记名投票"), required=False,
                                help_text=_("谁投了票与投了什么分开存放：表决意见不记选民，只留下计票所需的楼栋和面积"))
    opens_at = forms.DateTimeField(label=_("开始时间"), required=False, widget=WHEN, input_formats=WHEN_FORMATS,
                                   error_messages={"invalid": _("请填写正确的日期和时间")})
    closes_at = forms.DateTimeField(label=_("截止时间"), required=False, widget=WHEN, input_formats=WHEN_FORMATS,
                                    error_messages={"invalid": _("请填写正确的日期和时间")})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        areas = queries.manageable_areas(user)
        self.fields["area"].queryset = areas
        paths = queries.manager_paths(user)
        rolls = queries.visible_rolls(user).order_by("area__path", "name")
        if paths is not None:
            rolls = rolls.filter(area__in=areas)
        self.fields["roll"].queryset = rolls
        self.presets = presets.for_form()
        self.fields["preset"].choices = [(code, name) for code, name, _d in self.presets]


class BallotForm(forms.Form):
    """One radio group per question (``q<position>``); ``prefix`` keeps two on one page apart."""

    def __init__(self, *args, decision: Decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(decision.questions.order_by("position"))
        for q in self.questions:
            self.fields[f"q{q.position}"] = forms.ChoiceField(
                label=f"{q.position}. {q.text}", choices=Vote.Choice.choices, widget=forms.RadioSelect,
                error_messages=CHOICE_ERRORS)

    def question_fields(self):
        return [self[f"q{q.position}"] for q in self.questions]

    def other_fields(self):
        names = {f"q{q.position}" for q in self.questions}
        return [self[name] for name in self.fields if name not in names]

    def choices(self) -> dict[int, str]:
        return {q.position: self.cleaned_data.get(f"q{q.position}") for q in self.questions}


class ElectorChoice(forms.ModelChoiceField):
    voted: set = set()  # the ids of electors who have a ballot already (marked in the list)

    def label_from_instance(self, obj):
        label = f"{obj.unit_codes} · {obj.label}"
        return label + gettext("（已投票）") if obj.pk in self.voted else label


def _electors(decision: Decision):
    return decision.electors.order_by("building", "unit_codes", "key")


class PaperForm(BallotForm):
    channel = forms.ChoiceField(label=_("方式"), choices=[(c, Participation.Channel(c).label) for c in
                                                          ("paper", "door")],
                                error_messages={"invalid_choice": _("请选择书面或入户")})
    serial = forms.CharField(label=_("选票编号"), required=False, max_length=40,
                             error_messages={"max_length": _("选票编号不能超过 40 个字符")})

    def __init__(self, *args, decision: Decision, **kwargs):
        super().__init__(*args, decision=decision, **kwargs)
        if decision.secret:
            self.fields["serial"].required = True
            self.fields["serial"].error_messages["required"] = _("请填写选票编号")
            self.fields["building"] = forms.CharField(label=_("选票上的楼栋"), required=False, max_length=64)
            self.fields["floor_area"] = forms.DecimalField(
                label=_("选票上的建筑面积（㎡）"), required=False, min_value=0, max_digits=12, decimal_places=2,
                error_messages={"invalid": _("建筑面积应为不小于 0 的数，最多两位小数"),
                                "min_value": _("建筑面积应为不小于 0 的数，最多两位小数"),
                                "max_digits": _("建筑面积应为不小于 0 的数，最多两位小数"),
                                "max_decimal_places": _("建筑面积应为不小于 0 的数，最多两位小数")})
        else:
            self.fields["elector"] = ElectorChoice(
                label=_("选民（按房号查找）"), queryset=_electors(decision),
                error_messages={"required": _("请选择选民"), "invalid_choice": _("请选择该表决的选民")})
            self.order_fields(["elector"])


class ElectorForm(forms.Form):
    elector = ElectorChoice(label=_("选民"), queryset=None,
                            error_messages={"required": _("请选择选民"), "invalid_choice": _("请选择该表决的选民")})
    channel = forms.ChoiceField(label=_("方式"), required=False, choices=[("paper", _("书面")), ("door", _("入户"))],
                                error_messages={"invalid_choice": _("请选择书面或入户")})

    def __init__(self, *args, decision: Decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["elector"].queryset = _electors(decision)


class VoidForm(forms.Form):
    elector = forms.IntegerField(required=False, min_value=1, max_value=2**62,
                                 error_messages={"invalid": _("请指定要作废的选票")})
    serial = forms.CharField(required=False, max_length=40)
    reason = forms.CharField(label=_("作废原因"), max_length=500,
                             error_messages={"required": _("请填写作废原因"),
                                             "max_length": _("作废原因不能超过 500 个字符")})


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=500,
                             error_messages={"required": _("请填写撤销原因"),
                                             "max_length": _("撤销原因不能超过 500 个字符")})


class PublishForm(forms.Form):
    channel = forms.CharField(label=_("公示渠道"), max_length=200, initial=_("小区公告栏、平台公告"),
                              error_messages={"required": _("请填写公示渠道"),
                                              "max_length": _("公示渠道不能超过 200 个字符")})
    days = forms.IntegerField(label=_("公示天数"), min_value=1, max_value=MAX_DAYS, initial=7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wrong = gettext("公示期应为 1 到 %(n)s 天") % {"n": MAX_DAYS}
        self.fields["days"].error_messages.update(
            required=gettext("请填写公示天数"), invalid=wrong, min_value=wrong, max_value=wrong)


class ObjectionForm(forms.Form):
    text = forms.CharField(label=_("异议内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": _("请填写异议内容"),
                                           "max_length": _("异议内容不能超过 5000 个字符")})


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("请填写答复"), "max_length": _("答复不能超过 5000 个字符")})
