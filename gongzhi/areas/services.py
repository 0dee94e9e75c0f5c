"""Every write to the area tree goes through these functions; each leaves an audit row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import shapely
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


@dataclass
class ParentFacts:
    """What the checks need to know about a parent, saved or not.

    ``clean_area`` builds one from a saved ``Area``; the importer also builds them from rows of the
    file that will only become areas when the file is committed.
    """

    name: str
    level: AreaLevel
    code: str | None = None
    geometry: dict | None = None
    _shape: shapely.Geometry | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, area: Area) -> ParentFacts:
        return cls(name=area.name, level=area.level, code=area.code, geometry=area.geometry)

    def shape(self) -> shapely.Geometry | None:
        """The parsed polygon (parsed once), or None. Raises ``geo.GeometryError`` when invalid."""
        if self._shape is None and self.geometry:
            self._shape = geo.parse_geometry(self.geometry)
        return self._shape


def top_rank() -> int | None:
    """The rank of the highest level: the only level whose areas may have no parent."""
    return AreaLevel.objects.order_by("rank").values_list("rank", flat=True).first()


def check_area_fields(*, level: AreaLevel, parent: ParentFacts | None, code: str | None, geometry, name: str,
                      root_rank: int | None = None) -> tuple[dict, dict[str, str]]:
    """The checks of one area's fields that need no query (the importer runs them on every row).

    Returns ``(clean, errors)``: ``clean`` holds name, code, geometry, shape (shapely or None) and
    label; ``errors`` maps a field to a message in the user's language. Code uniqueness and sibling
    names are left to the caller (``clean_area`` asks the database).
    """
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
    if parent is None and level.rank != (top_rank() if root_rank is None else root_rank):
        errors["parent"] = _("只有最高层级的区域可以没有上级")
    if code is not None:
        if not re.fullmatch(r"[0-9A-Za-z-]{1,32}", code):
            errors["code"] = _("编码只能包含字母、数字和连字符")
        elif level.code_length and (len(code) != level.code_length or not code.isdigit()):
            errors["code"] = _("%(level)s编码应为 %(n)d 位数字") % {"level": level.name, "n": level.code_length}
        elif (parent is not None and parent.code and level.code_length and parent.level.code_length
              and parent.level.code_length < level.code_length and not code.startswith(parent.code)):
            errors["code"] = _("编码 %(code)s 应以上级编码 %(pcode)s 开头") % {"code": code, "pcode": parent.code}
    shape = None
    if geometry:
        try:
            shape = geo.parse_geometry(geometry)
            parent_shape = parent.shape() if parent is not None else None
            if parent_shape is not None:
                geo.check_inside(shape, parent_shape)
        except geo.GeometryError as exc:
            errors["geometry"] = str(exc)
    label = geo.label_point(shape) if shape is not None else (None, None)
    return {"name": name, "code": code, "geometry": geometry or None, "shape": shape, "label": label}, errors


def clean_area(*, level: AreaLevel, parent: Area | None, code: str | None, geometry, name: str,
               instance: Area | None = None) -> dict:
    """Check one area's fields against its parent. Returns cleaned values or raises ValidationError
    with a message per field, in the user's language."""
    clean, errors = check_area_fields(level=level, parent=ParentFacts.of(parent) if parent is not None else None,
                                      code=code, geometry=geometry, name=name)
    code, name = clean["code"], clean["name"]
    if code is not None and "code" not in errors:
        clash = Area.objects.filter(code=code)
        if instance is not None and instance.pk:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["code"] = _("编码 %(code)s 已被使用") % {"code": code}
    if parent is not None and name and "name" not in errors:
        sibling = Area.objects.filter(parent=parent, name=name)
        if instance is not None and instance.pk:
            sibling = sibling.exclude(pk=instance.pk)
        if sibling.exists():
            errors["name"] = _("“%(parent)s”下已有名为“%(name)s”的区域") % {"parent": parent.name, "name": name}
    if errors:
        raise ValidationError(errors)
    return {"name": name, "code": code, "geometry": clean["geometry"], "label": clean["label"]}


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


@transaction.atomic
def delete_area(area: Area, *, actor) -> None:
    """Delete an area that has no children. Rows elsewhere that point at it PROTECT it
    (``ProtectedError``), and the whole call then rolls back, audit row included."""
    area = Area.objects.select_for_update().get(pk=area.pk)
    if area.children.exists():
        raise ValidationError(_("“%(name)s”还有下级区域，不能删除") % {"name": area.name})
    audit.record(actor, "area.delete", area, before=audit.snapshot(area))
    had_geometry = bool(area.geometry)
    area.delete()
    if had_geometry:
        bump_index_stamp()


def area_at(lon: float, lat: float) -> Area | None:
    """The smallest area containing the point (e.g. a grid or a building).

    A miss is checked once more against the database's index stamp, so an area created or
    replaced a moment ago (within the index's one-second check window) is found too.
    """
    index = geo.current_index()
    for attempt in range(2):
        area_id = index.lookup(lon, lat)
        area = Area.objects.select_related("level").defer("geometry").filter(pk=area_id).first() if area_id else None
        if area is not None or attempt:
            return area
        fresh = geo.current_index(recheck=True)
        if fresh is index:
            return None
        index = fresh
    return None
