"""Every write to the area tree goes through these functions; each leaves an audit row."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from gongzhi.core import audit

from . import geo
from .models import Area, AreaIndexStamp, AreaLevel

EDITABLE_FIELDS = ("name", "name_en", "code", "geometry", "attributes", "level", "parent")


def bump_index_stamp() -> None:
    """Tell every process that its point→area index is stale."""
    updated = AreaIndexStamp.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        AreaIndexStamp.objects.get_or_create(pk=1, defaults={"version": 1})


def clean_area(*, level: AreaLevel, parent: Area | None, code: str | None, geometry, name: str,
               instance: Area | None = None) -> dict:
    """Check one area's fields against its parent. Returns cleaned values or raises ValidationError
    with a message per field, in the user's language."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("名称不能为空")
    elif len(name) > 100:
        errors["name"] = _("名称不能超过 100 个字符")
    code = (code or "").strip() or None
    if parent is not None and parent.level.rank >= level.rank:
        errors["level"] = _("层级“%(level)s”不能位于“%(parent)s”（%(plevel)s）之下") % {
            "level": level.name, "parent": parent.name, "plevel": parent.level.name}
    if parent is None and level.rank != AreaLevel.objects.order_by("rank").values_list("rank", flat=True).first():
        errors["parent"] = _("只有最高层级的区域可以没有上级")
    if code is not None:
        if not re.fullmatch(r"[0-9A-Za-z-]{1,32}", code):
            errors["code"] = _("编码只能包含字母、数字和连字符")
        elif level.code_length and (len(code) != level.code_length or not code.isdigit()):
            errors["code"] = _("%(level)s编码应为 %(n)d 位数字") % {"level": level.name, "n": level.code_length}
        elif (parent is not None and parent.code and level.code_length and parent.level.code_length
              and parent.level.code_length < level.code_length and not code.startswith(parent.code)):
            errors["code"] = _("编码 %(code)s 应以上级编码 %(pcode)s 开头") % {"code": code, "pcode": parent.code}
        else:
            clash = Area.objects.filter(code=code)
            if instance is not None and instance.pk:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                errors["code"] = _("编码 %(code)s 已被使用") % {"code": code}
    if parent is not None and name:
        sibling = Area.objects.filter(parent=parent, name=name)
        if instance is not None and instance.pk:
            sibling = sibling.exclude(pk=instance.pk)
        if sibling.exists():
            errors["name"] = _("“%(parent)s”下已有名为“%(name)s”的区域") % {"parent": parent.name, "name": name}
    shape = None
    if geometry:
        try:
            shape = geo.parse_geometry(geometry)
            if parent is not None and parent.geometry:
                geo.check_inside(shape, geo.parse_geometry(parent.geometry))
        except geo.GeometryError as exc:
            errors["geometry"] = str(exc)
    if errors:
        raise ValidationError(errors)
    label = geo.label_point(shape) if shape is not None else (None, None)
    return {"name": name, "code": code, "geometry": geometry or None, "label": label}


@transaction.atomic
def create_area(*, actor, level: AreaLevel, parent: Area | None, name: str, code: str | None = None,
                geometry=None, attributes: dict | None = None, name_en: str = "") -> Area:
    clean = clean_area(level=level, parent=parent, code=code, geometry=geometry, name=name)
    area = Area.objects.create(
        level=level, parent=parent, name=clean["name"], name_en=name_en or "", code=clean["code"],
        geometry=clean["geometry"], attributes=attributes or {},
        label_lon=clean["label"][0], label_lat=clean["label"][1],
    )
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    area.depth = parent.depth + 1 if parent else 0
    Area.objects.filter(pk=area.pk).update(path=area.path, depth=area.depth)
    if area.geometry:
        bump_index_stamp()
    audit.record(actor, "area.create", area, after=audit.snapshot(area))
    return area


@transaction.atomic
def update_area(area: Area, *, actor, **changes) -> Area:
    """Change an area's own fields (name, code, polygon, attributes). Moving is ``move_area``."""
    area = Area.objects.select_for_update().get(pk=area.pk)
    before = audit.snapshot(area)
    unknown = set(changes) - {"name", "name_en", "code", "geometry", "attributes"}
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    merged = {f: changes.get(f, getattr(area, f)) for f in ("name", "code", "geometry")}
    clean = clean_area(level=area.level, parent=area.parent, instance=area, **merged)
    area.name, area.code, area.geometry = clean["name"], clean["code"], clean["geometry"]
    area.label_lon, area.label_lat = clean["label"]
    if "name_en" in changes:
        area.name_en = changes["name_en"] or ""
    if "attributes" in changes:
        area.attributes = changes["attributes"] or {}
    area.save()
    if before.get("geometry") != area.geometry:
        bump_index_stamp()
    audit.record(actor, "area.update", area, before=before, after=audit.snapshot(area))
    return area


@transaction.atomic
def move_area(area: Area, *, actor, new_parent: Area) -> Area:
    """Re-parent an area and its whole subtree (one UPDATE rewrites every descendant's path)."""
    area = Area.objects.select_for_update().get(pk=area.pk)
    if new_parent.path.startswith(area.path):
        raise ValidationError({"parent": _("不能把区域移到它自己或它的下级之下")})
    before = audit.snapshot(area)
    clean_area(level=area.level, parent=new_parent, code=area.code, geometry=area.geometry, name=area.name,
               instance=area)
    old_path, new_path = area.path, f"{new_parent.path}{area.pk}/"
    delta = new_parent.depth + 1 - area.depth
    Area.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)), depth=F("depth") + delta
    )
    Area.objects.filter(pk=area.pk).update(parent=new_parent)
    area.refresh_from_db()
    bump_index_stamp()
    audit.record(actor, "area.move", area, before=before, after=audit.snapshot(area))
    return area


def area_at(lon: float, lat: float) -> Area | None:
    """The smallest area containing the point (e.g. a grid or a building)."""
    area_id = geo.current_index().lookup(lon, lat)
    return Area.objects.select_related("level").filter(pk=area_id).first() if area_id else None
