"""Forms of the residents' pages. Sealed values (identity number, phone, address) are never put into
a form as initial values: an edit form shows their mask as the placeholder, and an empty field keeps
what is stored (``residents.update_person`` takes ``None``/"" as "unchanged")."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import residents
from .models import Person

TEXT_MAX = 200
ID_MAX = 32  # an identity number with spaces; longer input is refused by the form, not stored


class PersonForm(forms.Form):
    """A new person (``edit=False``) or changes to one (``edit=True``: sealed fields optional)."""

    area = forms.ModelChoiceField(queryset=None, label=_("所在区域"))
    name = forms.CharField(label=_("姓名"), max_length=residents.NAME_MAX)
    id_number = forms.CharField(label=_("身份证号"), max_length=ID_MAX,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    gender = forms.ChoiceField(label=_("性别"), required=False,
                               choices=[("", _("按身份证号")), *Person.Gender.choices[:2]])
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}))
    address = forms.CharField(label=_("详细地址"), max_length=residents.ADDRESS_MAX, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))
    household = forms.ModelChoiceField(queryset=None, label=_("户"), required=False)
    relation = forms.CharField(label=_("与户主关系"), max_length=residents.RELATION_MAX, required=False,
                               help_text=_("如：户主、配偶、子女"))
    residence = forms.ChoiceField(label=_("人口类型"), choices=Person.Residence.choices)

    SEALED = ("id_number", "phone", "address")

    def __init__(self, *args, areas, households, person: Person | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["household"].queryset = households
        if person is not None:
            for name in self.SEALED:
                field = self.fields[name]
                field.required = False
                shown = str(getattr(person, name))
                field.widget.attrs["placeholder"] = shown or "—"
                field.help_text = _("留空则保持不变")


class CloseForm(forms.Form):
    reason = forms.ChoiceField(label=_("注销原因"), choices=list(residents.CLOSE_REASONS.items()))


class AccountForm(forms.Form):
    """Link a platform account to a person: the account is found by its username or mobile number."""

    account = forms.CharField(label=_("关联账号"), max_length=150,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("用户名或手机号")}))

    def clean_account(self):
        from gongzhi.orgs.models import User

        value = self.cleaned_data["account"].strip()
        active = User.objects.filter(is_active=True)
        found = active.filter(username=value).first() or active.filter(phone=value).first()  # phone: unique
        if found is None:
            raise ValidationError(_("未找到该账号（请输入用户名或手机号）"))
        return found


class HouseholdForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=_("所在区域"))
    number = forms.CharField(label=_("户号"), max_length=residents.NUMBER_MAX, required=False)
    address = forms.CharField(label=_("详细地址"), max_length=residents.ADDRESS_MAX, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class StayForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=_("居住区域"))
    address = forms.CharField(label=_("居住地址"), max_length=residents.ADDRESS_MAX, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))
    moved_in_on = forms.DateField(label=_("迁入日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("来此事由"), max_length=residents.STAY_TEXT_MAX, required=False,
                             help_text=_("如：务工、经商、就学"))
    housing = forms.CharField(label=_("居住方式"), max_length=residents.STAY_TEXT_MAX, required=False,
                              help_text=_("如：租赁、单位宿舍、借住"))

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class StayEndForm(forms.Form):
    moved_out_on = forms.DateField(label=_("迁出日期"), widget=forms.DateInput(attrs={"type": "date"}))


class PeopleFilterForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=_("区域"), required=False)
    name = forms.CharField(label=_("姓名"), max_length=residents.NAME_MAX, required=False)
    closed = forms.BooleanField(label=_("含已注销"), required=False)

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class HouseholdFilterForm(forms.Form):
    area = forms.ModelChoiceField(queryset=None, label=_("区域"), required=False)
    number = forms.CharField(label=_("户号"), max_length=residents.NUMBER_MAX, required=False)

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class NoEchoInput(forms.TextInput):
    """A text input that never renders a submitted value back into the page."""

    def format_value(self, value):
        return None


class IdSearchForm(forms.Form):
    """Exact search by identity number: posted (never in a URL), matched through the blind index."""

    id_number = forms.CharField(label=_("按身份证号精确查找"), max_length=ID_MAX,
                                widget=NoEchoInput(attrs={"autocomplete": "off"}))

    def clean_id_number(self):
        try:
            return residents.valid_id_number(self.cleaned_data["id_number"], checksum=False)
        except ValidationError as exc:  # the service's error names its field; a form field wants a list
            raise ValidationError(exc.message_dict["id_number"]) from None


class ImportForm(forms.Form):
    file = forms.FileField(label=_("人员文件（xlsx 或 CSV，不超过 5 MB）"))
    commit = forms.BooleanField(required=False, widget=forms.HiddenInput)
    digest = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
