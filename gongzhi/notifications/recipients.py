"""Who hears about a case event: one table (``RULES``), action → the groups of people to tell.

The groups are small functions of the event. To change who is told, edit ``RULES``; to add a
group, write one more function with the same signature. The actor is never told of their own
action, and inactive accounts are never told (``recipients_for``).

The people lookups (``command_center``, ``department_heads`` …) are also used by the deadline
sweeper to name the people a case is escalated to (督办).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator

from gongzhi.areas.models import Area
from gongzhi.cases.choices import Rating, Status
from gongzhi.cases.models import Case, CaseEvent
from gongzhi.orgs.models import Membership, Staff

#: Roles that check reports and verify results on the ground (same as ``cases.rules.FIELD_ROLES``).
FIELD_ROLES = ("supervisor", "grid_worker", "grid_head")

#: The level slug (``areas.AreaLevel.slug``) of the district, the second escalation level.
DISTRICT_LEVEL = "district"

Group = Callable[[CaseEvent, Case], Iterable[int]]


# --------------------------------------------------------------------------- people lookups

#: While ``batch()`` is active: the people lookups' answers, so that a pass of the outbox asks the
#: database once per department (or area) however many of its events concern it.
_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("gongzhi_recipients_memo", default=None)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Remember the people lookups for the length of one fan-out pass (a few hundred milliseconds
    at most: a role or staff change made meanwhile applies from the next pass)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _remembered(key: tuple, load: Callable[[], list[int]]) -> list[int]:
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return list(memo[key])



def area_chain(path: str) -> list[int]:
    """Area ids from the root down to the area itself, from a materialised path ``/1/5/23/``."""
    return [int(part) for part in (path or "").strip("/").split("/") if part]


def _command_members(area_ids: Iterable[int]) -> dict[int, set[int]]:
    rows = (Membership.objects.active()
            .filter(area_id__in=list(area_ids), role__is_command_center=True, user__is_active=True)
            .values_list("area_id", "user_id"))
    found: dict[int, set[int]] = {}
    for area_id, user_id in rows:
        found.setdefault(area_id, set()).add(user_id)
    return found


def command_center(path: str, *, top: int | None = None) -> list[int]:
    """The command center over an area: users with a command-center role at the nearest area, from
    the area itself upwards, that has any.

    ``top`` limits the search to the part of the chain at or above that index (0 = the root,
    1 = the district under a city …). A case not yet located (empty path) belongs to the root-level
    center.
    """
    return _remembered(("center", path, top), lambda: _command_center(path, top))


def _command_center(path: str, top: int | None) -> list[int]:
    chain = area_chain(path)
    if not chain:
        roots = list(Area.objects.filter(parent__isnull=True).values_list("pk", flat=True))
        return sorted({u for users in _command_members(roots).values() for u in users})
    if top is not None:
        chain = chain[: max(top, 0) + 1]
    found = _command_members(chain)
    for area_id in reversed(chain):
        if found.get(area_id):
            return sorted(found[area_id])
    return []


def district_index(path: str) -> int:
    """The position in the area chain of the case's district (by level slug; else the root's child)."""
    chain = area_chain(path)
    if not chain:
        return 0
    district = Area.objects.filter(pk__in=chain, level__slug=DISTRICT_LEVEL).values_list("pk", flat=True).first()
    if district is not None:
        return chain.index(district)
    return min(1, len(chain) - 1)


def field_roles(path: str) -> list[int]:
    """Supervisors, grid workers and grid heads holding the role at the area or above it."""
    chain = area_chain(path)
    if not chain:
        return []
    return _remembered(("field", path), lambda: sorted(set(
        Membership.objects.active().filter(area_id__in=chain, role__code__in=FIELD_ROLES, user__is_active=True)
        .values_list("user_id", flat=True))))


def department_staff(department_id: int | None, *, heads_only: bool = False) -> list[int]:
    """Everyone working for the department (or only its heads, ``Staff.is_head``)."""
    if department_id is None:
        return []

    def load() -> list[int]:
        qs = Staff.objects.filter(department_id=department_id, department__is_active=True, user__is_active=True)
        if heads_only:
            qs = qs.filter(is_head=True)
        return sorted(set(qs.values_list("user_id", flat=True)))
    return _remembered(("staff", department_id, heads_only), load)


def department_heads(department_id: int | None) -> list[int]:
    return department_staff(department_id, heads_only=True)


# --------------------------------------------------------------------------- groups


def _department_of(event: CaseEvent, case: Case) -> int | None:
    """The department the event concerns (the event's own, since a return clears the case's)."""
    return event.department_id or case.department_id


def center(event: CaseEvent, case: Case) -> Iterable[int]:
    return command_center(case.area_path)


def staff(event: CaseEvent, case: Case) -> Iterable[int]:
    return department_staff(_department_of(event, case))


def heads(event: CaseEvent, case: Case) -> Iterable[int]:
    return department_heads(_department_of(event, case))


def field(event: CaseEvent, case: Case) -> Iterable[int]:
    return field_roles(case.area_path)


def reporter(event: CaseEvent, case: Case) -> Iterable[int]:
    return [case.reporter_id] if case.reporter_id else []


def followers(event: CaseEvent, case: Case) -> Iterable[int]:
    """People following the case (cases.CaseFollower: residents who found it open near them, the
    reporters of duplicates merged into it)."""
    from gongzhi.cases.models import CaseFollower

    return CaseFollower.objects.filter(case_id=case.pk).values_list("user_id", flat=True)


def targets(event: CaseEvent, case: Case) -> Iterable[int]:
    """The people the sweeper named in ``event.data["to"]`` (escalation targets)."""
    return [int(u) for u in (event.data or {}).get("to", []) if isinstance(u, int) or str(u).isdigit()]


def when(test: Callable[[CaseEvent], bool], group: Group) -> Group:
    """``group`` only for events that pass ``test`` (e.g. only unsatisfied ratings)."""
    def conditional(event: CaseEvent, case: Case) -> Iterable[int]:
        return group(event, case) if test(event) else []
    conditional.__name__ = f"when_{getattr(group, '__name__', 'group')}"
    return conditional


def unless_verifying(group: Group) -> Group:
    """``group``, except when the late step is verification (the department's part is done)."""
    return when(lambda event: event.to_status != Status.HANDLED, group)


def _data(key: str, value) -> Callable[[CaseEvent], bool]:
    return lambda event: (event.data or {}).get(key) == value


#: action → groups told of it. Actions not listed (file, accept, check, locate …) tell nobody.
RULES: dict[str, tuple[Group, ...]] = {
    "report": (center,),
    "dispatch": (staff,),           # also auto-dispatch (data["via"] == "auto_dispatch")
    "auto_dispatch": (staff,),
    "return": (center,),
    "handle": (field, center, followers),
    "verify": (when(_data("passed", True), reporter),     # closed 结案
               when(_data("passed", True), followers),
               when(_data("passed", False), staff)),      # rework 返工
    "not_file": (reporter, followers),
    "merge": (reporter, followers),  # the duplicate's reporter: merged, and now following the master
    "warn": (unless_verifying(heads), unless_verifying(staff), targets),
    "overdue": (unless_verifying(heads), targets),
    "escalate": (unless_verifying(heads), targets),
    "request_extension": (center,),
    "decide_extension": (staff,),
    "rate": (when(_data("rating", Rating.UNSATISFIED), center),
             when(_data("reopen", True), staff)),
}


def wanted_for(event: CaseEvent, case: Case) -> set[int]:
    """The union of the event's groups, minus the actor (not yet filtered to active accounts)."""
    wanted: set[int] = set()
    for group in RULES.get(event.action, ()):
        wanted.update(group(event, case))
    wanted.discard(event.actor_id)
    return wanted


def active_users(user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` whose accounts are active (one query; none for an empty set)."""
    user_ids = set(user_ids)
    if not user_ids:
        return set()
    from django.contrib.auth import get_user_model

    return set(get_user_model().objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))


def recipients_for(event: CaseEvent, case: Case | None = None) -> list[int]:
    """User ids to notify of ``event``: the union of its groups, minus the actor, active users only."""
    return sorted(active_users(wanted_for(event, case or event.case)))
