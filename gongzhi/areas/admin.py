"""Admin for the area tree. Every write goes through ``services`` so that it leaves an audit row,
moves the point→area index stamp and obeys the same checks as the API and the importer."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.adminaudit import AuditedModelAdmin

from . import services
from .models import Area, AreaLevel

AREA_FIELDS = ("name", "name_en", "code", "geometry", "attributes")


@admin.register(AreaLevel)
class AreaLevelAdmin(AuditedModelAdmin):
    """Levels are reference data; each save and delete leaves an audit row."""

    list_display = ["rank", "slug", "name", "name_en", "code_length"]
    list_display_links = ["slug", "name"]
    ordering = ["rank"]


class GeometryField(forms.JSONField):
    """GeoJSON as text; an empty box means "no polygon" (not the text ``null``)."""

    def prepare_value(self, value):
        if value is None:
            return ""
        return super().prepare_value(value)


class AreaAdminForm(forms.ModelForm):
    """Validates through ``services.clean_area`` so the admin, the API and the importer agree."""

    #: Set by ``AreaAdmin.get_form``: the user editing.
    request_user = None

    geometry = GeometryField(
        label=gettext_lazy("边界"), required=False,
        help_text=gettext_lazy("GeoJSON 的 Polygon 或 MultiPolygon（WGS84 经纬度），留空表示没有边界"),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90, "style": "font-family: monospace"}),
    )

    class Meta:
        model = Area
        fields = ["level", "parent", "name", "name_en", "code", "geometry", "attributes"]

    #: For an edit that both moves the area and changes its fields: move before updating?
    move_first = True

    def _add_errors(self, exc: ValidationError, *, prefix: str = "", only: str | None = None) -> None:
        for name, messages in exc.message_dict.items():
            target = only or (name if name in self.fields else None)
            for message in messages:
                self.add_error(target, f"{prefix}{message}")

    def clean(self):
        data = super().clean()
        instance = self.instance if self.instance.pk else None
        level = instance.level if instance is not None else data.get("level")
        watched = ("level", "parent", "name", "code", "geometry")
        if level is None or any(name in self.errors for name in watched):
            return data  # a field failed its own validation; that message is enough
        parent = data.get("parent")
        user = self.request_user
        if instance is None and parent is None and user is not None and not user.is_superuser:
            self.add_error("parent", _("只有管理员可以创建顶级区域"))
            return data
        values = {"code": data.get("code"), "geometry": data.get("geometry"), "name": data.get("name") or ""}
        if instance is not None:
            current = Area.objects.select_related("level", "parent").get(pk=instance.pk)
            moved = (parent.pk if parent else None) != current.parent_id
            if moved and parent is None:
                self.add_error("parent", _("已有区域不能改为顶级区域"))
                return data
            if moved and parent.path.startswith(current.path):
                self.add_error("parent", _("不能把区域移到它自己或它的下级之下"))
                return data
            if moved and any(name in self.changed_data for name in ("name", "code", "geometry")):
                self._choose_order(level, current, parent, values)
                if self.errors:
                    return data
        try:
            services.clean_area(level=level, parent=parent, instance=instance, **values)
        except ValidationError as exc:
            self._add_errors(exc)
        return data

    def _choose_order(self, level: AreaLevel, current: Area, parent: Area, values: dict) -> None:
        """A move and an edit are two service calls; find an order whose middle step is valid."""
        old = {"code": current.code, "geometry": current.geometry, "name": current.name}
        try:  # move first: the old fields under the new parent
            services.clean_area(level=level, parent=parent, instance=current, **old)
            self.move_first = True
            return
        except ValidationError as move_first_error:
            first_error = move_first_error
        try:  # edit first: the new fields under the old parent
            services.clean_area(level=level, parent=current.parent, instance=current, **values)
            self.move_first = False
            return
        except ValidationError:
            pass
        self._add_errors(first_error, prefix=_("无法同时移动并修改，请分两次保存：") + " ", only="parent")


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    """The area tree for configurators; staff who are not superusers see only their jurisdiction."""

    form = AreaAdminForm
    list_display = ["name", "code", "level", "parent"]
    list_filter = ["level"]
    list_select_related = ["level", "parent"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth", "label_lon", "label_lat", "updated_at"]
    fieldsets = [
        (None, {"fields": ["level", "parent", "name", "name_en", "code"]}),
        (gettext_lazy("边界与属性"), {"fields": ["geometry", "attributes"]}),
        (gettext_lazy("系统字段"), {"classes": ["collapse"],
                                 "fields": ["path", "depth", "label_lon", "label_lat", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "level"] if obj is not None else fields  # services can't change a level

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = Area.objects.visible_to(request.user).select_related("level")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.children.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            area = services.create_area(
                actor=request.user, level=obj.level, parent=obj.parent, name=obj.name, code=obj.code,
                geometry=obj.geometry, attributes=obj.attributes, name_en=obj.name_en)
        else:
            area = Area.objects.get(pk=obj.pk)
            changes = {name: getattr(obj, name) for name in AREA_FIELDS if name in form.changed_data}
            moved = obj.parent_id != area.parent_id
            if moved and form.move_first:
                area = services.move_area(area, actor=request.user, new_parent=obj.parent)
            if changes:
                area = services.update_area(area, actor=request.user, **changes)
            if moved and not form.move_first:
                area = services.move_area(area, actor=request.user, new_parent=obj.parent)
        obj.pk = area.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_area(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for area in queryset.order_by("-depth"):  # children before their parents
            services.delete_area(area, actor=request.user)
