"""Forms shared by the registry pages (each part adds its own below or in its own module)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AccessLog


class PurposeForm(forms.Form):
    """The stated purpose before a full view or an export (access.check_purpose has the rules)."""

    purpose = forms.ChoiceField(label=_("查看用途"), choices=[("", "—")] + list(AccessLog.Purpose.choices))
    reason = forms.CharField(label=_("用途说明"), max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": _("例如：核实低保申请，走访前核对住址")}))
