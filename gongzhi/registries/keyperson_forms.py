"""Forms of the key-person and visit pages. They only shape input: the rules live in
``keypersons.py`` and ``visits.py`` (errors come back through ``add_service_errors``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.orgs.models import User

from .crypto import SEALED_HELP
from .keypersons import MAX_EVERY_DAYS, RESPONSIBLE_ROLES
from .models import KeyCategory, KeyPerson, Visit


def responsible_choices(area):
    """People who may be responsible for a key person in ``area``: active holders of a grid role at
    or above it."""
    ids = [int(i) for i in area.path.strip("/").split("/") if i]
    return (User.objects.filter(is_active=True, memberships__ended_on__isnull=True,
                                memberships__role__code__in=RESPONSIBLE_ROLES, memberships__area_id__in=ids)
            .distinct().order_by("display_name", "username"))


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return getattr(obj, "display_name", "") or obj.get_username()


class KeyPersonForm(forms.Form):
    category = forms.ModelChoiceField(label=_("类别"), queryset=KeyCategory.objects.filter(is_active=True))
    level = forms.ChoiceField(label=_("关注程度"), choices=KeyPerson.Level.choices)
    responsible = UserChoiceField(label=_("责任网格员"), queryset=User.objects.none(), required=False)
    visit_every_days = forms.IntegerField(label=_("走访周期（天）"), required=False, min_value=1,
                                          max_value=MAX_EVERY_DAYS, help_text=_("留空按类别的周期"))
    details = forms.CharField(label=_("具体情况"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}), help_text=SEALED_HELP)

    def __init__(self, *args, area, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = responsible_choices(area)


class LevelForm(forms.Form):
    level = forms.ChoiceField(label=_("关注程度"), choices=KeyPerson.Level.choices)


class ResponsibleForm(forms.Form):
    responsible = UserChoiceField(label=_("责任网格员"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, area, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = responsible_choices(area)


class EndForm(forms.Form):
    reason = forms.CharField(label=_("解除原因"), max_length=64)


class VisitForm(forms.Form):
    area = forms.ModelChoiceField(label=_("走访区域"), queryset=None, required=False)
    purpose = forms.ChoiceField(label=_("走访类型"), choices=Visit.Purpose.choices)
    notes = forms.CharField(label=_("民情记录"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
                            help_text=SEALED_HELP)

    def __init__(self, *args, areas, fixed_area: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_area:
            del self.fields["area"]
        else:
            self.fields["area"].queryset = areas
            self.fields["area"].required = True


class VisitCaseForm(forms.Form):
    title = forms.CharField(label=_("案件标题"), max_length=100)
    description = forms.CharField(label=_("问题描述"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("案件对受理和处置部门可见：请只写需要处置的问题，不要抄录民情记录"))
    category = forms.ModelChoiceField(label=_("问题分类"), queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        from gongzhi.cases.forms import active_categories

        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = active_categories()
