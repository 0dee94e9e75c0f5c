"""Who may see the wall screen and the monthly reports: a command-center role (受理员, 派遣员, 值班长),
a 领导 (leader), or a superuser. What they see is their jurisdiction (``core.scoping``), nothing more.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from gongzhi.core.scoping import jurisdiction

LEADER_ROLES = ("leader",)


def may_view(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    scope = jurisdiction(user)
    return scope.everything or bool(scope.command_paths) or any(scope.role_paths.get(c) for c in LEADER_ROLES)


def require_view(user) -> None:
    if not may_view(user):
        raise PermissionDenied(_("只有指挥中心人员、领导和管理员可以查看指挥大屏和月报"))
