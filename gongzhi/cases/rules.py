"""Who may do what to a case. One function answers it for services, pages and the API.

- command center (roles marked 指挥中心角色: 受理员/派遣员/值班长) over the case's area, or the city
  center for cases not yet located: check, file, not file, dispatch, merge, decide extensions,
  locate, set urgent, verify;
- supervisors and grid roles (监督员, 网格员, 网格长) over the case's area: check (核实) and verify (核查);
- staff of the department the case is dispatched to: accept, return, request extension, handle;
- the reporter: withdraw (before filing) and rate (after closing).
"""

from __future__ import annotations

from django.conf import settings

from gongzhi.core.scoping import jurisdiction

from .choices import TRANSITIONS
from .models import Case

FIELD_ROLES = ("supervisor", "grid_worker", "grid_head")

COMMAND = {"check", "file", "not_file", "dispatch", "merge", "decide_extension", "locate", "set_urgent", "verify"}
FIELD = {"check", "verify"}
DEPARTMENT = {"accept", "return", "request_extension", "handle"}
REPORTER = {"withdraw", "rate"}


def allowed_by_role(user, action: str, case: Case) -> bool:
    scope = jurisdiction(user)
    if scope.everything:
        return True
    path = case.area_path or None
    if action in COMMAND and scope.commands_path(path):
        return True
    if action in FIELD and path and scope.holds_role_over(FIELD_ROLES, path):
        return True
    if action in DEPARTMENT and case.department_id and case.department_id in scope.department_ids:
        return True
    return action in REPORTER and case.reporter_id is not None and case.reporter_id == user.pk


def can(user, action: str, case: Case) -> bool:
    """Allowed by role and possible from the case's state (pages show only these actions)."""
    if case.status not in TRANSITIONS.get(action, ()):
        return False
    if action == "rate" and case.rated_at is not None:
        return False
    if not allowed_by_role(user, action, case):
        return False
    if action == "decide_extension" and not case.extensions.filter(decided_at__isnull=True).exists():
        return False
    return not (action == "request_extension" and case.extensions.filter(decided_at__isnull=True).exists())


def allowed_actions(user, case: Case) -> list[str]:
    return [action for action in TRANSITIONS if can(user, action, case)]


def sees_details(user, case: Case) -> bool:
    """Whether the viewer sees what the reporter wrote (description, extra fields, timeline notes):
    staff who serve an area or a department, and the reporter. A resident who only follows the
    case (关注) sees its progress, not another resident's words."""
    scope = jurisdiction(user)
    return not scope.empty or bool(scope.department_ids) or (case.reporter_id is not None
                                                             and case.reporter_id == getattr(user, "pk", None))


def is_trusted_reporter(user) -> bool:
    """Reports from these roles may be filed and dispatched in one step (auto-dispatch)."""
    scope = jurisdiction(user)
    return any(scope.role_paths.get(code) for code in settings.CASE_TRUSTED_REPORTER_ROLES)
