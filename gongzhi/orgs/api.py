"""/api/v1: the current user, people in roles, departments, personal API tokens."""


import datetime

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from gongzhi.core.api import Pagination, errors
from gongzhi.core.models import ApiToken
from gongzhi.core.scoping import jurisdiction

from . import queries, services

router = Router(tags=["orgs 人员与部门"])


class RoleOut(Schema):
    code: str
    name: str


class PersonOut(Schema):
    id: int
    username: str
    display_name: str


class MembershipOut(Schema):
    id: int
    user: PersonOut
    role: RoleOut
    area_id: int
    area_name: str = Field(..., alias="area.name")


class MeOut(PersonOut):
    is_superuser: bool
    roles: list[MembershipOut]
    department_ids: list[int]


class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    phone: str
    area_ids: list[int]

    @staticmethod
    def resolve_area_ids(obj) -> list[int]:
        return [a.pk for a in obj.areas.all()]


class PeopleFilter(Schema):
    q: str = Field("", max_length=50)
    role: str | None = Field(None, max_length=32)


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    scope: ApiToken.Scope = ApiToken.Scope.READ
    expires_at: datetime.datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(..., description="令牌明文，只显示这一次")


@router.get("/me", response=MeOut)
def me(request):
    user = request.user
    roles = user.memberships.active().select_related("role", "area", "user")
    return {
        "id": user.pk, "username": user.username, "display_name": user.display_name,
        "is_superuser": user.is_superuser, "roles": list(roles),
        "department_ids": sorted(jurisdiction(user).department_ids),
    }


@router.get("/people", response=list[MembershipOut])
@paginate(Pagination)
def list_people(request, filters: Query[PeopleFilter]):
    return queries.search_people(request.user, filters.q, role=filters.role)


@router.get("/departments", response=list[DepartmentOut])
@paginate(Pagination)
def list_departments(request):
    return queries.visible_departments(request.user).prefetch_related("areas")


@router.get("/departments/{int:department_id}", response=DepartmentOut)
def get_department(request, department_id: int):
    return queries.get_department(request.user, department_id)


def _session_only(request) -> None:
    # A token must not mint or list tokens: only the person, logged in, manages them.
    if getattr(request, "api_token", None) is not None:
        raise PermissionDenied(_("请登录网页管理 API 令牌"))


@router.get("/me/tokens", response={200: list[TokenOut], **errors(403)})
def list_tokens(request):
    _session_only(request)
    return request.user.api_tokens.order_by("-created_at")


@router.post("/me/tokens", response={201: NewTokenOut})
def create_token(request, payload: TokenIn):
    _session_only(request)
    token, raw = services.create_api_token(actor=request.user, user=request.user, name=payload.name,
                                           scope=payload.scope, expires_at=payload.expires_at)
    token.token = raw
    return Status(201, token)


@router.delete("/me/tokens/{int:token_id}", response={204: None})
def revoke_token(request, token_id: int):
    _session_only(request)
    services.revoke_api_token(get_object_or_404(ApiToken, pk=token_id, user=request.user), actor=request.user)
    return Status(204, None)
