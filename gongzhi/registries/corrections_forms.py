"""Forms of the community-corrections pages (the rules live in ``corrections.py``)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.areas.models import Area

from . import corrections, rules
from .models import Correction, CorrectionReport, PlacementBase, Registry, TeamMember

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _date(label, **kw):
    return forms.DateField(label=label, widget=DATE, initial=timezone.localdate, **kw)


class _Form(forms.Form):
    """Several forms share one page: each gets its own element ids (``<name>_<field>``)."""

    id_prefix = "f"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


def writable_areas(user):
    """Areas (street and below) where ``user`` may write corrections."""
    area_paths = rules.paths(user, Registry.CORRECTIONS, write=True)
    qs = Area.objects.all() if area_paths is None else Area.objects.under_paths(area_paths)
    return qs.select_related("level").order_by("path")


class CorrectionForm(_Form):
    id_prefix = "correction"

    department = forms.ModelChoiceField(label=_("司法所"), queryset=None)
    kind = forms.ChoiceField(label=_("矫正类别"), choices=Correction.Kind.choices)
    offence = forms.CharField(label=_("罪名与刑期"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("加密存储；页面只显示脱敏值"))
    term_start = _date(_("矫正起始日"))
    term_end = forms.DateField(label=_("矫正期满日"), widget=DATE)
    report_every_days = forms.IntegerField(label=_("报到周期（天）"), min_value=1,
                                           max_value=corrections.MAX_REPORT_EVERY_DAYS, initial=7)

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        from gongzhi.orgs.models import Department

        ids = [d.pk for d in Department.objects.filter(kind="judicial", is_active=True)
               if corrections.serves(d, person.area)]
        self.fields["department"].queryset = Department.objects.filter(pk__in=ids)


class LookupForm(_Form):
    """Find the person to register by identity number (sent in the body, never in a URL)."""

    id_prefix = "lookup"

    id_number = forms.CharField(label=_("身份证号"), max_length=32,
                                help_text=_("按身份证号查找已登记的人员；未登记的人员请先由网格员登记"))


class TeamMemberForm(_Form):
    id_prefix = "team"

    role = forms.ChoiceField(label=_("小组角色"), choices=TeamMember.Role.choices)
    name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    username = forms.CharField(label=_("平台账号（可选）"), max_length=150, required=False,
                               help_text=_("填写后该成员可查看此对象并登记报到"))

    def clean_username(self):
        from gongzhi.orgs.models import User

        username = self.cleaned_data["username"].strip()
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("没有这个账号"))
        return user


class AnnounceForm(_Form):
    id_prefix = "announce"

    on = _date(_("宣告日期"))
    record = forms.CharField(label=_("宣告记录"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class ReportForm(_Form):
    id_prefix = "report"

    kind = forms.ChoiceField(label=_("类型"), choices=CorrectionReport.Kind.choices)
    on = _date(_("日期"))
    note = forms.CharField(label=_("内容"), max_length=4000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class RiskForm(_Form):
    id_prefix = "risk"

    on = _date(_("评估日期"))
    note = forms.CharField(label=_("评估意见"), max_length=4000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, (label, top) in corrections.RISK_FACTORS.items():
            self.fields[f"score_{code}"] = forms.IntegerField(
                label=label, min_value=0, max_value=top, help_text=_("0 至 %(n)s 分") % {"n": top})

    def scores(self) -> dict[str, int]:
        return {code: self.cleaned_data[f"score_{code}"] for code in corrections.RISK_FACTORS}


class HoursForm(_Form):
    id_prefix = "hours"

    base = forms.ModelChoiceField(label=_("基地"), queryset=None, required=False)
    on = _date(_("日期"))
    hours = forms.DecimalField(label=_("时长（小时）"), max_digits=4, decimal_places=1, min_value=0.1, max_value=24)
    activity = forms.CharField(label=_("活动内容"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        area_paths = rules.paths(user, Registry.CORRECTIONS, write=True)
        qs = PlacementBase.objects.filter(is_active=True)
        if area_paths is not None:
            qs = qs.filter(area__in=Area.objects.under_paths(area_paths))
        self.fields["base"].queryset = qs


class ReleaseForm(_Form):
    id_prefix = "release"

    on = _date(_("解除日期"))


class RevokeForm(_Form):
    id_prefix = "revoke"

    on = _date(_("收监日期"))
    reason = forms.ChoiceField(label=_("法定事由"), choices=list(corrections.REVOKE_REASONS.items()))


class BaseForm(_Form):
    id_prefix = "base"

    area = forms.ModelChoiceField(label=_("所在区域"), queryset=None)
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=PlacementBase.Kind.choices)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    contact = forms.CharField(label=_("联系人"), max_length=64, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = writable_areas(user)


class FilterForm(_Form):
    id_prefix = "filter"

    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + Correction.Status.choices)
    due = forms.ChoiceField(label=_("报到"), required=False,
                            choices=[("", _("全部")), ("overdue", _("已到期")), ("week", _("7 天内到期"))])
