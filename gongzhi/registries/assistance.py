"""People in need (困难帮扶): need cases with their one-to-one helper, assistance plans and the help
given (docs/registries.md). Every write of the assistance registry goes through these functions.

Writers: ``rules.can_write(actor, Registry.ASSISTANCE, household.area)``; the case's own helper may
also record the help they gave. The difficulty details are sealed: audit rows keep the mask only.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict
from gongzhi.core.forms import clean_text

from . import rules
from .models import DifficultyKind, HelpRecord, Household, NeedCase, Registry

MAX_DETAILS = 2000
MAX_MEASURES = 2000
MAX_DESCRIPTION = 200
MAX_REASON = 64
#: the largest single amount of help recorded (元): a typo guard, not a policy
MAX_AMOUNT = Decimal("1000000")

CASE_FIELDS = ["household", "level", "details", "helper", "opened_on", "closed_on", "close_reason"]


def _require_writer(actor, area) -> None:
    if not rules.can_write(actor, Registry.ASSISTANCE, area):
        raise PermissionDenied(_("您不能在该区域登记困难帮扶信息"))


def _require_open(case: NeedCase) -> None:
    if case.closed_on is not None:
        raise Conflict(_("该帮扶档案已于 %(date)s 结案") % {"date": case.closed_on.isoformat()})


def _date(value, field: str, label: str, *, required: bool = True) -> datetime.date | None:
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("请填写%(label)s") % {"label": label}})
        return None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ValidationError({field: _("%(label)s格式不正确") % {"label": label}})
    return value


def _not_future(value: datetime.date, field: str, label: str) -> None:
    if value > timezone.localdate():
        raise ValidationError({field: _("%(label)s不能晚于今天") % {"label": label}})


def _active_user(user, field: str, label: str):
    if user is None:
        return None
    if not getattr(user, "is_active", False) or not getattr(user, "pk", None):
        raise ValidationError({field: _("%(label)s必须是有效的账号") % {"label": label}})
    return user


def _kinds(kinds) -> list[DifficultyKind]:
    found: dict[int, DifficultyKind] = {}
    for kind in kinds or ():
        if not isinstance(kind, DifficultyKind):
            kind = DifficultyKind.objects.filter(code=str(kind)).first()
            if kind is None:
                raise ValidationError({"kinds": _("困难类型不存在")})
        found[kind.pk] = kind
    if not found:
        raise ValidationError({"kinds": _("请至少选择一种困难类型")})
    return list(found.values())


def _lock(case: NeedCase) -> NeedCase:
    return NeedCase.objects.select_for_update().select_related("household__area").get(pk=case.pk)


def open_need_case(actor, household: Household, *, kinds, level, details, helper=None) -> NeedCase:
    """Register a household in difficulty. A household has at most one open case."""
    _require_writer(actor, household.area)
    if household.closed_at is not None or household.anonymised_at is not None:
        raise ValidationError({"household": _("该户已注销，不能建立帮扶档案")})
    if level not in NeedCase.Level.values:
        raise ValidationError({"level": _("请选择困难程度")})
    kinds = _kinds(kinds)
    details = clean_text(details, "details", _("困难情况"), MAX_DETAILS)
    helper = _active_user(helper, "helper", _("结对帮扶人"))
    already = _("该户已有未结案的帮扶档案，请在原档案中补充情况")
    if NeedCase.objects.filter(household=household, closed_on__isnull=True).exists():
        raise ValidationError({"household": already})
    try:
        with transaction.atomic():
            case = NeedCase.objects.create(household=household, level=level, details=details, helper=helper)
            case.kinds.set(kinds)
            audit.record(actor, "registries.need_case_open", case,
                         after={**audit.snapshot(case, CASE_FIELDS), "kinds": sorted(k.code for k in kinds)})
    except IntegrityError:  # someone opened one at the same moment (needcase_one_open_per_household)
        raise ValidationError({"household": already}) from None
    return case


def assign_helper(actor, case: NeedCase, helper) -> NeedCase:
    """Pair the household with a helper (结对帮扶人), or remove the pairing with ``helper=None``."""
    _require_writer(actor, case.household.area)
    helper = _active_user(helper, "helper", _("结对帮扶人"))
    with transaction.atomic():
        case = _lock(case)
        _require_open(case)
        before = audit.snapshot(case, ["helper"])
        case.helper = helper
        case.save(update_fields=["helper"])
        audit.record(actor, "registries.need_case_helper", case, before=before,
                     after=audit.snapshot(case, ["helper"]))
    return case


def add_plan(actor, case: NeedCase, *, measures, responsible=None, starts_on, review_on=None):
    """A one-to-one assistance plan: measures, who is responsible, when it is reviewed."""
    from .models import AssistancePlan

    _require_writer(actor, case.household.area)
    measures = clean_text(measures, "measures", _("帮扶措施"), MAX_MEASURES)
    responsible = _active_user(responsible, "responsible", _("负责人"))
    starts_on = _date(starts_on, "starts_on", _("开始日期"))
    review_on = _date(review_on, "review_on", _("复核日期"), required=False)
    if review_on is not None and review_on < starts_on:
        raise ValidationError({"review_on": _("复核日期不能早于开始日期")})
    with transaction.atomic():
        case = _lock(case)
        _require_open(case)
        plan = AssistancePlan.objects.create(case=case, measures=measures, responsible=responsible,
                                             starts_on=starts_on, review_on=review_on)
        audit.record(actor, "registries.assistance_plan_add", plan,
                     after=audit.snapshot(plan, ["case", "responsible", "starts_on", "review_on"]))
    return plan


def can_record_help(actor, case: NeedCase) -> bool:
    """Writers of the area, and the case's own helper."""
    if rules.can_write(actor, Registry.ASSISTANCE, case.household.area):
        return True
    return actor is not None and case.helper_id is not None and case.helper_id == getattr(actor, "pk", None)


def _amount(amount) -> Decimal | None:
    if amount in (None, ""):
        return None
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"amount": _("金额格式不正确")}) from None
    if not value.is_finite():
        raise ValidationError({"amount": _("金额格式不正确")})
    if value < 0:
        raise ValidationError({"amount": _("金额不能为负数")})
    if value > MAX_AMOUNT:
        raise ValidationError({"amount": _("单笔金额不能超过 %(n)s 元") % {"n": f"{MAX_AMOUNT:,}"}})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError({"amount": _("金额最多保留两位小数")})
    return value


def record_help(actor, case: NeedCase, *, kind, on, description, amount=None) -> HelpRecord:
    """Record help given to the household (by the helper or a writer of the area)."""
    if not can_record_help(actor, case) and not can_record_help(actor, NeedCase.objects.get(pk=case.pk)):
        raise PermissionDenied(_("您不能为该户登记帮扶记录"))
    if kind not in HelpRecord.Kind.values:
        raise ValidationError({"kind": _("请选择帮扶类型")})
    on = _date(on, "on", _("日期"))
    _not_future(on, "on", _("日期"))
    description = clean_text(description, "description", _("内容"), MAX_DESCRIPTION)
    amount = _amount(amount)
    with transaction.atomic():
        case = _lock(case)
        if not can_record_help(actor, case):  # the pairing changed meanwhile
            raise PermissionDenied(_("您不能为该户登记帮扶记录"))
        _require_open(case)
        if on < case.opened_on:
            raise ValidationError({"on": _("日期不能早于建档日期 %(date)s") % {"date": case.opened_on.isoformat()}})
        record = HelpRecord.objects.create(case=case, kind=kind, on=on, description=description, amount=amount,
                                           given_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit.record(actor, "registries.help_record", record,
                     after=audit.snapshot(record, ["case", "kind", "on", "amount", "given_by"]))
    return record


def close_need_case(actor, case: NeedCase, *, on, reason) -> NeedCase:
    """The household is out of difficulty (脱困) or gone: the case closes; its history stays."""
    _require_writer(actor, case.household.area)
    on = _date(on, "on", _("结案日期"))
    _not_future(on, "on", _("结案日期"))
    reason = clean_text(reason, "reason", _("结案原因"), MAX_REASON)
    with transaction.atomic():
        case = _lock(case)
        _require_open(case)
        if on < case.opened_on:
            raise ValidationError({"on": _("结案日期不能早于建档日期 %(date)s") % {"date": case.opened_on.isoformat()}})
        before = audit.snapshot(case, ["closed_on", "close_reason"])
        case.closed_on, case.close_reason = on, reason
        case.save(update_fields=["closed_on", "close_reason"])
        audit.record(actor, "registries.need_case_close", case, before=before,
                     after=audit.snapshot(case, ["closed_on", "close_reason"]))
    return case


# ------------------------------------------------------------------------------ the need map

#: counts below this are shown as "<3": nobody can single out a household from the map
SUPPRESS_BELOW = 3
#: a level count withheld so that a small one cannot be worked out from the others
HIDDEN_BREAKDOWN = "*"


def _shown(n: int) -> str:
    return str(n) if n >= SUPPRESS_BELOW else f"<{SUPPRESS_BELOW}"


def suppress(total: int, by_level: dict[str, int]) -> tuple[str, dict[str, str]]:
    """The total and per-level counts as shown. A count below 3 is "<3". When the total is shown
    but some level has 1 or 2 households, the whole breakdown is hidden ("*"): with the total known,
    the other levels' exact counts would give the small one away by subtraction."""
    if total < SUPPRESS_BELOW:
        return _shown(total), {level: _shown(0) for level in by_level}
    if any(0 < n < SUPPRESS_BELOW for n in by_level.values()):
        return _shown(total), {level: HIDDEN_BREAKDOWN for level in by_level}
    return _shown(total), {level: _shown(n) for level, n in by_level.items()}


def band(total: int) -> str:
    """A colour band that says no more than the shown count does."""
    if total < SUPPRESS_BELOW:
        return "few"
    return "some" if total < 10 else "many"


def need_map(user) -> list[dict]:
    """Per grid the user's jurisdiction covers (grids with a polygon): the open need cases, in
    total and by level, suppressed. Never a household, an address or a name."""
    from django.db.models import Q

    from gongzhi.areas.models import Area
    from gongzhi.core.scoping import jurisdiction

    scope = jurisdiction(user)
    if scope.empty:
        return []
    grids = list(Area.objects.visible_to(user).filter(level__slug="grid", geometry__isnull=False)
                 .only("pk", "name", "path", "geometry", "label_lon", "label_lat").order_by("path"))
    if not grids:
        return []
    by_id = {str(g.pk): g for g in grids}
    counts: dict[int, dict[str, int]] = {g.pk: dict.fromkeys(NeedCase.Level.values, 0) for g in grids}
    q = Q()  # the jurisdiction's few subtrees (not one condition per grid: a city has thousands)
    if not scope.everything:
        q = Q(pk__in=[])
        for path in scope.paths:
            q |= Q(household__area__path__startswith=path)
    for path, level in NeedCase.objects.filter(q, closed_on__isnull=True).values_list("household__area__path",
                                                                                      "level"):
        for part in path.strip("/").split("/"):
            grid = by_id.get(part)
            if grid is not None:
                counts[grid.pk][level] += 1
                break
    result = []
    for grid in grids:
        total = sum(counts[grid.pk].values())
        shown_total, shown_levels = suppress(total, counts[grid.pk])
        result.append({"area": grid, "total": shown_total, "levels": shown_levels, "band": band(total),
                       "link": rules.can_see(user, Registry.ASSISTANCE, grid)})
    return result
