"""Who may do what with safety grades (seeing them is ``PoliceArea.objects.visible_to``).

- enter or import figures: the police station's own staff, a command-center role (受理/派遣/值班长)
  at or above an area the jurisdiction covers, a superuser;
- publish a grade and set follow-up measures: a command-center role or a 领导 (leader) at or above a
  covered area, a superuser;
- report feedback on a measure: the police station's staff, the staff of the measure's responsible
  department, a command-center role over a covered area, a superuser.
"""

from __future__ import annotations

from django.db.models import Q

from gongzhi.core.scoping import jurisdiction

LEADER_ROLES = ("leader",)


def covered_paths(police_area) -> list[str]:
    cached = getattr(police_area, "_covered_paths", None)
    if cached is None:
        cached = list(police_area.covers.values_list("path", flat=True))
        police_area._covered_paths = cached
    return cached


def _commands(scope, police_area) -> bool:
    return any(scope.commands_path(p) for p in covered_paths(police_area))


def can_enter(user, police_area) -> bool:
    scope = jurisdiction(user)
    if scope.everything:
        return True
    return police_area.department_id in scope.department_ids or _commands(scope, police_area)


def can_publish(user, police_area) -> bool:
    scope = jurisdiction(user)
    if scope.everything:
        return True
    return _commands(scope, police_area) or any(scope.holds_role_over(LEADER_ROLES, p)
                                                for p in covered_paths(police_area))


can_set_measures = can_publish


def can_feedback(user, measure) -> bool:
    scope = jurisdiction(user)
    if scope.everything:
        return True
    police_area = measure.grade.police_area
    return (police_area.department_id in scope.department_ids or measure.department_id in scope.department_ids
            or _commands(scope, police_area))


def draft_filter(user) -> Q:
    """Grades still in draft that this user may see: those they may enter or publish."""
    scope = jurisdiction(user)
    if scope.everything:
        return Q()
    q = Q(police_area__department__in=scope.department_ids)
    for path in (*scope.command_paths, *scope.role_paths.get("leader", ())):
        q |= Q(police_area__covers__path__startswith=path)
    from .models import Grade

    return Q(pk__in=Grade.objects.filter(q).values("pk"))


def enterable_areas(user):
    """The jurisdictions whose figures this user may enter (for the form's choices)."""
    from .models import PoliceArea

    scope = jurisdiction(user)
    qs = PoliceArea.objects.filter(is_active=True)
    if scope.everything:
        return qs
    q = Q(department__in=scope.department_ids)
    for path in scope.command_paths:
        q |= Q(covers__path__startswith=path)
    return qs.filter(pk__in=PoliceArea.objects.filter(q).values("pk"))
