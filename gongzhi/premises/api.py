"""/api/v1/premises: list (filters), detail, create — all through the read door and ``services``."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import Pagination, errors

from . import queries, services
from .models import Licence, PremisesType, RiskLevel

router = Router(tags=["premises 场所"])


class TypeOut(Schema):
    code: str
    name: str


class LicenceOut(Schema):
    kind: str
    number: str
    valid_until: datetime.date | None


class LicenceIn(Schema):
    kind: Licence.Kind = Field(..., description="证照类型")
    number: str = Field(..., min_length=1, max_length=60)
    valid_until: datetime.date | None = None


class PremisesOut(Schema):
    id: int
    code: str | None
    name: str
    type: TypeOut
    address: str
    lon: float | None
    lat: float | None
    area_id: int | None = Field(None, description="所在网格（最小的包含该点的区域）；空表示待定位")
    operator_name: str
    contact_phone: str
    risk_level: str
    is_active: bool


class PremisesDetailOut(PremisesOut):
    licences: list[LicenceOut]

    @staticmethod
    def resolve_licences(obj):
        return list(obj.licences.all())


class PremisesIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    type: str = Field(..., max_length=32, description="场所类型代码，如 shop、group_rental")
    code: str | None = Field(None, max_length=40)
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    operator_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=20)
    risk_level: RiskLevel = RiskLevel.LOW
    notes: str = Field("", max_length=2000)
    licences: list[LicenceIn] = Field(default_factory=list, max_length=20)


class PremisesFilter(Schema):
    q: str = Field("", max_length=100, description="名称、地址、经营者或编号")
    type: str = Field("", max_length=32, description="场所类型代码")
    risk: RiskLevel | None = None
    area: int | None = Field(None, description="该区域及其下级")
    expiring: int | None = Field(None, ge=0, le=3650, description="证照在这么多天内到期（含已过期）")
    unlocated: bool = False


@router.get("", response={200: list[PremisesOut], **errors(404)})
@paginate(Pagination)
def list_premises(request, filters: Query[PremisesFilter]):
    return queries.search(request.user, queries.Filters(
        q=filters.q, type=filters.type, risk=filters.risk.value if filters.risk else "", area=filters.area,
        expiring=filters.expiring, unlocated=filters.unlocated))


@router.get("/{int:premises_id}", response={200: PremisesDetailOut, **errors(404)})
def get_premises(request, premises_id: int):
    return queries.get_premises(request.user, premises_id)


@router.post("", response={201: PremisesDetailOut, **errors(400, 403)})
def create_premises(request, payload: PremisesIn):
    if not services.can_register(request.user):
        raise PermissionDenied(_("您没有登记场所的权限"))
    kind = PremisesType.objects.filter(code=payload.type, is_active=True).first()
    if kind is None:
        raise ValidationError({"type": [_("未知的场所类型：%(type)s") % {"type": payload.type}]})
    premises = services.create_premises(
        actor=request.user, name=payload.name, type=kind, code=payload.code, address=payload.address,
        lon=payload.lon, lat=payload.lat, operator_name=payload.operator_name,
        contact_phone=payload.contact_phone, risk_level=payload.risk_level.value, notes=payload.notes,
        licences=[{"kind": lic.kind.value, "number": lic.number, "valid_until": lic.valid_until}
                  for lic in payload.licences])
    return Status(201, queries.get_premises(request.user, premises.pk))
