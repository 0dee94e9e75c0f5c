"""/api/v1/registries: people (masked), exact search by identity number, the reveal door and the
access log (docs/registries.md#api).

Every read goes through the read door (``queries``): a person who is not the caller's is a 404, like
one who does not exist. Sensitive values are the mask (``str(sealed)``) in every answer except the
reveal, which needs ``registries.reveal_sensitive``, a stated purpose and reason, and writes one
access-log row. An identity number is searched for in the request body (never in a URL: URLs end up
in logs), through the blind index.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import Pagination, errors

from . import access, queries, rules
from .crypto import blind_index
from .models import Person

router = Router(tags=["registries 人员台账"])
NO_STORE = "no-store, private"  # answers about people are never cached (shared proxies, the browser)


class RegistryPersonOut(Schema):
    id: int
    name: str
    gender: str
    birth_year: int | None
    residence: str
    area_id: int
    area: str
    household_id: int | None
    id_number: str = Field(..., description="脱敏身份证号，如 1503**********1234")
    phone: str = Field(..., description="脱敏电话，如 138****0001")
    address: str = Field(..., description="脱敏地址（前几个字）")
    closed: bool

    @staticmethod
    def resolve_area(obj):
        return obj.area.name

    @staticmethod
    def resolve_id_number(obj):
        return str(obj.id_number)

    @staticmethod
    def resolve_phone(obj):
        return str(obj.phone)

    @staticmethod
    def resolve_address(obj):
        return str(obj.address)

    @staticmethod
    def resolve_closed(obj):
        return obj.closed_at is not None


class SearchIn(Schema):
    id_number: str = Field(..., max_length=32, description="完整身份证号（精确匹配，经盲索引查找，不解密全表）")


class RevealIn(Schema):
    purpose: str = Field(..., max_length=32, description="查看用途：" + ", ".join(access.Purpose.values))
    reason: str = Field(..., max_length=500, description="用途说明（至少 4 个字）")


class RevealedField(Schema):
    name: str
    label: str
    value: str


class RevealOut(Schema):
    access_log_id: int = Field(..., description="本次查看写入的访问日志编号")
    kind: str
    id: int
    fields: list[RevealedField]


class AccessLogOut(Schema):
    id: int
    at: datetime.datetime
    user_name: str
    registry: str
    object_type: str
    object_id: str
    person_id: int | None
    person: str | None
    purpose: str
    reason: str
    fields: list[str]

    @staticmethod
    def resolve_person(obj):
        return obj.person.name if obj.person_id else None


def _people(user):
    return queries.visible_people(user).select_related("area").order_by("area__path", "name", "pk")


@router.get("/people", response=list[RegistryPersonOut], summary="人员列表（脱敏）")
@paginate(Pagination)
def list_people(request):
    return _people(request.user)


@router.post("/people/search", response=list[RegistryPersonOut], summary="按身份证号精确查找（脱敏）")
def search_people(request, response: HttpResponse, payload: SearchIn):
    response["Cache-Control"] = NO_STORE
    digest = blind_index(payload.id_number)
    if not digest:
        raise ValidationError({"id_number": [_("请填写身份证号")]})
    return list(_people(request.user).filter(id_number_index=digest)[:20])


@router.get("/people/{person_id}", response=RegistryPersonOut, summary="人员（脱敏）")
def get_person(request, response: HttpResponse, person_id: int):
    response["Cache-Control"] = NO_STORE
    return queries.get_visible_or_404(Person, request.user, pk=person_id)


@router.post("/reveal/{kind}/{object_id}", response={200: RevealOut, **errors(403)},
             summary="说明用途后查看完整信息（写访问日志）")
def reveal(request, response: HttpResponse, kind: str, object_id: int, payload: RevealIn):
    response["Cache-Control"] = NO_STORE
    model = access.REVEALABLE.get(kind)
    if model is None:
        raise Http404
    obj = queries.get_visible_or_404(model, request.user, pk=object_id)
    if not rules.may_reveal(request.user):
        raise PermissionDenied(_("您没有查看完整敏感信息的权限"))
    # a missing purpose or reason is a 400 like every refused input (its messages never echo values)
    row, shown = access.reveal(request.user, obj, purpose=payload.purpose, reason=payload.reason)
    values = [{"name": f.name, "label": label, "value": value}  # access.reveal's fields, in its order
              for f, (label, value) in zip(access.sealed_fields(model), shown, strict=True)]
    return Status(200, {"access_log_id": row.pk, "kind": kind, "id": obj.pk, "fields": values})


@router.get("/access-log", response=list[AccessLogOut], summary="敏感信息访问日志")
@paginate(Pagination)
def access_log(request):
    return queries.access_log(request.user)
