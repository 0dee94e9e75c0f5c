"""Every write to the premises registry; each leaves an audit row (``premises.*``) that the history
page shows. Views, the API, the importer and the admin call these and nothing else.

Who may write: anyone whose jurisdiction covers the premises' area (grid workers register the shops
of their grid, department staff those of the areas they serve); a premises not yet located may be
written by whoever sees it (its registrant, the city center). The check is made again *after* the
write, inside the transaction (ARCHITECTURE pattern 8): moving a premises out of one's own
jurisdiction is refused and rolled back.
"""

from __future__ import annotations

import datetime
import math
import re
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area
from gongzhi.areas.services import area_at
from gongzhi.core import audit
from gongzhi.core.scoping import jurisdiction

from .models import Licence, Premises, PremisesPhoto, PremisesType, RiskLevel

#: Fields a caller may set through ``create_premises`` / ``update_premises``.
EDITABLE = ("code", "name", "type", "address", "lon", "lat", "operator_name", "contact_phone", "risk_level",
            "notes", "is_active")
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")
MAX_PHOTOS = 20


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def locate(lon: float | None, lat: float | None) -> Area | None:
    """The smallest area containing the point; ``None`` for no point ("to be located").

    Raises ValidationError (field ``lon``) for half a point, a number that is not a coordinate, or a
    point outside every area of the city.
    """
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise ValidationError({"lon": [_("经度和纬度须同时填写")]})
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({"lon": [_("经纬度不是有效的坐标")]})
    area = area_at(lon, lat)
    if area is None:
        raise ValidationError({"lon": [_("位置（%(lon).6f, %(lat).6f）不在本市范围内") % {"lon": lon, "lat": lat}]})
    return area


def clean_fields(values: dict) -> dict:
    """Normalise and check the editable fields present in ``values``; raise ValidationError."""
    errors: dict[str, list[str]] = {}
    out = dict(values)
    for key in ("code", "name", "address", "operator_name", "contact_phone", "notes"):
        if key in out:
            out[key] = (out[key] or "").strip()
    if "code" in out:
        out["code"] = out["code"] or None
        if out["code"] and len(out["code"]) > 40:
            errors["code"] = [_("编号不能超过 40 个字符")]
    if "name" in out:
        if not out["name"]:
            errors["name"] = [_("名称不能为空")]
        elif len(out["name"]) > 120:
            errors["name"] = [_("名称不能超过 120 个字符")]
    if "address" in out and len(out["address"]) > 200:
        errors["address"] = [_("地址不能超过 200 个字符")]
    if "operator_name" in out and len(out["operator_name"]) > 100:
        errors["operator_name"] = [_("经营者不能超过 100 个字符")]
    if out.get("contact_phone") and not PHONE_RE.match(out["contact_phone"]):
        errors["contact_phone"] = [_("联系电话格式不正确")]
    if "risk_level" in out and out["risk_level"] not in RiskLevel.values:
        errors["risk_level"] = [_("风险等级应为 low、medium 或 high")]
    if "type" in out:
        kind = out["type"]
        if not isinstance(kind, PremisesType) or not kind.is_active:
            errors["type"] = [_("请选择一个启用的场所类型")]
    if errors:
        raise ValidationError(errors)
    return out


def can_write(user, premises: Premises) -> bool:
    scope = jurisdiction(user)
    if scope.everything:
        return True
    if premises.area_id is None:
        return scope.sees_unlocated or (premises.created_by_id is not None and premises.created_by_id == user.pk)
    return scope.covers_path(premises.area_path)


def can_register(user) -> bool:
    """May ``user`` register premises at all (somewhere in their jurisdiction)?"""
    return not jurisdiction(user).empty


def _check_can_write(user, premises: Premises) -> None:
    if user is None:  # system: commands, the demo
        return
    if not can_write(user, premises):
        raise PermissionDenied(_("该场所不在您的管辖范围内"))


def _check_unique_code(code: str | None, exclude_pk: int | None = None) -> None:
    if code and Premises.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        raise ValidationError({"code": [_("编号 %(code)s 已被其他场所使用") % {"code": code}]})


# --------------------------------------------------------------------------------------------
# Premises
# --------------------------------------------------------------------------------------------


def create_premises(*, actor, name: str, type: PremisesType, licences: list[dict] | None = None,
                    **fields) -> Premises:
    """Register a premises (and its licences). ``fields``: any of ``EDITABLE``."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown premises fields: {sorted(unknown)}")
    values = clean_fields({"name": name, "type": type, **fields})
    area = locate(values.get("lon"), values.get("lat"))
    _check_unique_code(values.get("code"))
    with transaction.atomic():
        premises = Premises(**values, area=area, area_path=area.path if area else "",
                            created_by=actor if getattr(actor, "is_authenticated", False) else None)
        if actor is not None and not can_register(actor):
            raise PermissionDenied(_("您没有登记场所的权限"))
        _check_can_write(actor, premises)
        premises.save()
        audit.record(actor, "premises.create", premises, after=audit.snapshot(premises))
        for licence in licences or []:
            add_licence(premises, actor=actor, **licence)
    return premises


def update_premises(premises: Premises, *, actor, **changes) -> Premises:
    """Change some fields; moving the point re-locates the premises. No change, no audit row."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown premises fields: {sorted(unknown)}")
    values = clean_fields(changes)
    with transaction.atomic():
        premises = Premises.objects.select_for_update().get(pk=premises.pk)
        _check_can_write(actor, premises)
        before = audit.snapshot(premises)
        for key, value in values.items():
            setattr(premises, key, value)
        if "lon" in values or "lat" in values:
            area = locate(premises.lon, premises.lat)
            premises.area, premises.area_path = area, (area.path if area else "")
        if "code" in values:
            _check_unique_code(premises.code, premises.pk)
        after = audit.snapshot(premises)
        if before == after:
            return premises
        premises.save()
        _check_can_write(actor, premises)  # still inside the jurisdiction after the move
        audit.record(actor, "premises.update", premises, before=before, after=after)
    return premises


# --------------------------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------------------------


def _clean_licence(kind: str, number: str, valid_until) -> tuple[str, str, datetime.date | None]:
    errors: dict[str, list[str]] = {}
    number = (number or "").strip()
    if kind not in Licence.Kind.values:
        errors["kind"] = [_("未知的证照类型：%(kind)s") % {"kind": kind}]
    if not number:
        errors["number"] = [_("证照号码不能为空")]
    elif len(number) > 60:
        errors["number"] = [_("证照号码不能超过 60 个字符")]
    if isinstance(valid_until, str):
        try:
            valid_until = datetime.date.fromisoformat(valid_until.strip()) if valid_until.strip() else None
        except ValueError:
            errors["valid_until"] = [_("有效期应写作 2027-06-30")]
    elif isinstance(valid_until, datetime.datetime):
        valid_until = valid_until.date()
    if errors:
        raise ValidationError(errors)
    return kind, number, valid_until


def add_licence(premises: Premises, *, actor, kind: str, number: str,
                valid_until: datetime.date | str | None = None) -> Licence:
    kind, number, valid_until = _clean_licence(kind, number, valid_until)
    _check_can_write(actor, premises)
    if premises.licences.filter(kind=kind, number=number).exists():
        raise ValidationError({"number": [_("该场所已登记此证照")]})
    with transaction.atomic():
        licence = Licence.objects.create(premises=premises, kind=kind, number=number, valid_until=valid_until)
        audit.record(actor, "premises.licence_add", premises, after=audit.snapshot(licence),
                     note=str(licence))
    return licence


def update_licence(licence: Licence, *, actor, kind: str, number: str,
                   valid_until: datetime.date | str | None = None) -> Licence:
    kind, number, valid_until = _clean_licence(kind, number, valid_until)
    premises = licence.premises
    _check_can_write(actor, premises)
    if premises.licences.filter(kind=kind, number=number).exclude(pk=licence.pk).exists():
        raise ValidationError({"number": [_("该场所已登记此证照")]})
    with transaction.atomic():
        before = audit.snapshot(licence)
        licence.kind, licence.number, licence.valid_until = kind, number, valid_until
        after = audit.snapshot(licence)
        if before != after:
            licence.save()
            audit.record(actor, "premises.licence_update", premises, before=before, after=after, note=str(licence))
    return licence


def remove_licence(licence: Licence, *, actor) -> None:
    premises = licence.premises
    _check_can_write(actor, premises)
    with transaction.atomic():
        audit.record(actor, "premises.licence_remove", premises, before=audit.snapshot(licence), note=str(licence))
        licence.delete()


# --------------------------------------------------------------------------------------------
# Photos (checked and re-encoded by the cases' photo code: gongzhi/cases/photos.py)
# --------------------------------------------------------------------------------------------


def add_photo(premises: Premises, upload, *, actor, caption: str = "") -> PremisesPhoto:
    from gongzhi.cases import photos

    _check_can_write(actor, premises)
    if premises.photos.count() >= MAX_PHOTOS:
        raise ValidationError({"photo": [_("每个场所最多 %(n)d 张照片") % {"n": MAX_PHOTOS}]})
    image = photos.check_upload(upload)  # sniffed, size- and pixel-limited, fully decoded
    name = uuid.uuid4().hex
    photo = PremisesPhoto(premises=premises, caption=(caption or "").strip()[:100], width=image.width,
                          height=image.height,
                          uploaded_by=actor if getattr(actor, "is_authenticated", False) else None)
    with photos.removed_on_error(), transaction.atomic():  # no orphaned files if the row is not written
        # Re-encoded without EXIF: nothing of the upload but the pixels is kept.
        photos.write_jpeg(photo.image, f"{name}.jpg", image, max_side=1600, quality=85)
        photos.write_jpeg(photo.thumbnail, f"{name}-thumb.jpg", image, max_side=320, quality=75)
        photo.save()
        audit.record(actor, "premises.photo_add", premises, after={"photo": photo.pk}, note=photo.caption)
    return photo


def remove_photo(photo: PremisesPhoto, *, actor) -> None:
    premises = photo.premises
    _check_can_write(actor, premises)
    files = [(photo.image.storage, photo.image.name), (photo.thumbnail.storage, photo.thumbnail.name)]
    with transaction.atomic():
        audit.record(actor, "premises.photo_remove", premises, before={"photo": photo.pk}, note=photo.caption)
        photo.delete()
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])
