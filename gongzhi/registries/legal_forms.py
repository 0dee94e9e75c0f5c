"""Forms of the legal-service and mediation pages (the rules live in ``legal.py``)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.areas.models import Area

from . import legal, rules
from .corrections_forms import DATE
from .corrections_forms import _Form as Form
from .models import Mediation, MediationParty, Registry

COMMUNITY = legal.COMMUNITY


def legal_areas(user, *, consult: bool = False):
    """Communities where ``user`` may write the legal registry (and, with ``consult``, those where they
    are the adviser in post)."""
    area_paths = rules.paths(user, Registry.LEGAL, write=True)
    qs = Area.objects.all() if area_paths is None else Area.objects.under_paths(area_paths)
    qs = qs.filter(level__slug=COMMUNITY)
    if consult:
        qs = qs | Area.objects.filter(pk__in=legal.advised_areas(user).values("area"))
    return qs.distinct().order_by("path")


def _user_by_name(username: str):
    from gongzhi.orgs.models import User

    username = (username or "").strip()
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise forms.ValidationError(_("没有这个账号"))
    return user


class AdviserForm(Form):
    id_prefix = "adviser"

    area = forms.ModelChoiceField(label=_("服务社区"), queryset=None)
    name = forms.CharField(label=_("姓名"), max_length=64)
    firm = forms.CharField(label=_("执业机构"), max_length=100, required=False)
    phone = forms.CharField(label=_("工作电话"), max_length=20, required=False)
    office_hours = forms.CharField(label=_("坐班时间"), max_length=100, required=False,
                                   widget=forms.TextInput(attrs={"placeholder": _("例如：每周三上午")}))
    username = forms.CharField(label=_("平台账号（可选）"), max_length=150, required=False,
                               help_text=_("填写后该顾问可登记本社区的法律咨询"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = legal_areas(user)

    def clean_username(self):
        return _user_by_name(self.cleaned_data["username"])


class ConsultationForm(Form):
    id_prefix = "consultation"

    area = forms.ModelChoiceField(label=_("社区"), queryset=None)
    on = forms.DateField(label=_("日期"), widget=DATE, initial=timezone.localdate)
    topic = forms.CharField(label=_("事项类别"), max_length=32,
                            widget=forms.TextInput(attrs={"placeholder": _("婚姻家庭、劳动、合同、物业……")}))
    requester = forms.CharField(label=_("咨询人姓名"), max_length=64)
    question = forms.CharField(label=_("咨询内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    advice = forms.CharField(label=_("解答意见"), max_length=4000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = legal_areas(user, consult=True)


class MediationForm(Form):
    id_prefix = "mediation"

    area = forms.ModelChoiceField(label=_("社区"), queryset=None)
    kind = forms.ChoiceField(label=_("纠纷类型"), choices=Mediation.Kind.choices)
    received_on = forms.DateField(label=_("受理日期"), widget=DATE, initial=timezone.localdate)
    summary = forms.CharField(label=_("纠纷概况"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    mediator = forms.CharField(label=_("调解员账号（可选）"), max_length=150, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = legal_areas(user)

    def clean_mediator(self):
        return _user_by_name(self.cleaned_data["mediator"])


class PartyForm(Form):
    id_prefix = "party"

    side = forms.ChoiceField(label=_("当事人身份"), choices=MediationParty.Side.choices)
    name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)


class SessionForm(Form):
    id_prefix = "session"

    on = forms.DateField(label=_("日期"), widget=DATE, initial=timezone.localdate)
    place = forms.CharField(label=_("地点"), max_length=100, required=False)
    note = forms.CharField(label=_("调解记录"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class ConcludeForm(Form):
    id_prefix = "conclude"

    status = forms.ChoiceField(label=_("结案方式"), choices=[(s, Mediation.Status(s).label) for s in legal.CLOSED])
    agreement = forms.CharField(label=_("调解协议"), max_length=8000, required=False,
                                widget=forms.Textarea(attrs={"rows": 3}), help_text=_("达成协议时必填；加密存储"))
    outcome = forms.CharField(label=_("结果"), max_length=200, required=False,
                              help_text=_("调解不成或撤回时必填；请勿填写当事人的个人信息"))


class MediationFilter(Form):
    id_prefix = "filter"

    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + Mediation.Status.choices)
