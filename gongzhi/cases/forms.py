"""Web forms for cases. Every rule here is checked again by the services (intake, transitions): the
form gives the user all of their mistakes at once, in their language, next to the field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import photos
from .extra_fields import ExtraField, fields_of
from .models import Category

#: Django's built-in messages in our words (Chinese first; English from the .po file).
REQUIRED = {"required": _("请填写此项")}


def active_categories():
    """Categories a new case may be filed under: active, in the active directory version."""
    return Category.objects.filter(is_active=True, version__is_active=True)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type=file multiple>`` (Django's documented pattern)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


class ExtraValueField(forms.Field):
    """One of the chosen category's extra fields (``extra.<name>``); the rules and the messages are
    the intake's own (``ExtraField.clean``)."""

    def __init__(self, definition: ExtraField, **kwargs) -> None:
        self.definition = definition
        kwargs.setdefault("label", definition.display_label)
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        return self.definition.clean(value)


class ReportForm(forms.Form):
    """The phone report page (上报问题): what a resident or a grid worker types and photographs."""

    title = forms.CharField(
        label=_("标题"), max_length=100, strip=True,
        error_messages={**REQUIRED, "max_length": _("标题不能超过 %(limit_value)d 个字符（现有 %(show_value)d 个）")},
    )
    category = forms.ModelChoiceField(
        label=_("问题分类"), queryset=active_categories(), to_field_name="code", required=False,
        error_messages={"invalid_choice": _("该分类不存在或已停用，请重新选择")},
    )
    description = forms.CharField(
        label=_("问题描述"), required=False, max_length=5000, widget=forms.Textarea,
        error_messages={"max_length": _("描述不能超过 %(limit_value)d 个字符（现有 %(show_value)d 个）")},
    )
    lon = forms.FloatField(
        label=_("经度"), required=False, min_value=-180, max_value=180,
        error_messages={"invalid": _("经度格式不正确"), "min_value": _("经纬度超出范围"),
                        "max_value": _("经纬度超出范围")},
    )
    lat = forms.FloatField(
        label=_("纬度"), required=False, min_value=-90, max_value=90,
        error_messages={"invalid": _("纬度格式不正确"), "min_value": _("经纬度超出范围"),
                        "max_value": _("经纬度超出范围")},
    )
    address = forms.CharField(
        label=_("地址"), required=False, max_length=200,
        error_messages={"max_length": _("地址不能超过 %(limit_value)d 个字符（现有 %(show_value)d 个）")},
    )
    urgent = forms.BooleanField(label=_("紧急"), required=False)
    photos = MultipleFileField(label=_("现场照片"), required=False,
                               error_messages={"invalid": _("文件不是可识别的照片"), "empty": _("照片文件为空")})
    idempotency_key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput,
                                      error_messages={"max_length": _("提交编号无效，请刷新页面后重试")})

    def __init__(self, *args, category: Category | None = None, **kwargs) -> None:
        """``category``: the chosen category when the caller has it; else it is looked up from the
        submitted code. Its extra fields become fields named ``extra.<name>``."""
        super().__init__(*args, **kwargs)
        if category is None and self.is_bound:
            code = str(self.data.get("category") or "").strip()[:16]
            category = active_categories().filter(code=code).first() if code else None
        self.chosen_category = category
        self.extra_definitions = fields_of(category)
        for definition in self.extra_definitions:
            self.fields[definition.input_name] = ExtraValueField(definition)

    def extra_items(self) -> list[dict]:
        """The extra fields as the template draws them: definition, input id, value, errors."""
        items = []
        for definition in self.extra_definitions:
            bound = self[definition.input_name]
            value = bound.value()
            items.append({"field": definition, "name": definition.input_name, "id": f"id_extra_{definition.name}",
                          "value": "" if value is None else str(value), "errors": bound.errors})
        return items

    def extra_values(self) -> dict:
        """The checked extra values (for ``intake.Report.extra``), empty ones left out."""
        data = getattr(self, "cleaned_data", {})
        return {d.name: data[d.input_name] for d in self.extra_definitions if data.get(d.input_name) is not None}

    def clean_photos(self) -> list:
        uploads = self.cleaned_data.get("photos") or []
        # The count first: don't decode twenty photos to say "at most nine".
        if len(uploads) > settings.CASE_PHOTO_MAX_COUNT:
            raise ValidationError(_("最多上传 %(n)d 张照片") % {"n": settings.CASE_PHOTO_MAX_COUNT})
        photos.check_uploads(uploads)
        return uploads

    def clean(self) -> dict:
        data = super().clean()
        lon, lat = data.get("lon"), data.get("lat")
        if "lon" not in self.errors and "lat" not in self.errors and (lon is None) != (lat is None):
            self.add_error("lon", _("经度和纬度需同时提供"))
        if lon is None and lat is None and not self.errors.get("lon") and not (data.get("address") or "").strip():
            self.add_error("address", _("请在地图上选点或填写地址"))
        return data
