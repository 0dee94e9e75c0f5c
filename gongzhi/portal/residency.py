"""Who lives where (docs/portal.md#residency): a resident asks to be registered at a building (or
another area below the community), staff who may verify there confirm or refuse, a resident moves
out. A user may hold several homes; only a verified residency opens an area's board.

A home may also come from the community's records (docs/portal.md#from-registry): when a registry
writer links an account to an open person of the residents' registry, ``follow_registry`` gives the
account a verified residency (``source=registry``) at the person's area, and ends or moves it when the
person is closed, moved or unlinked. Only the account and the area cross over from the registry."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area, AreaLevel
from gongzhi.core import audit
from gongzhi.core.forms import clean_text
from gongzhi.core.scoping import jurisdiction, signed_in
from gongzhi.registries import rules as registry_rules
from gongzhi.registries.models import Registry

from . import queries
from .models import Residency

LIVE = (Residency.Status.PENDING, Residency.Status.VERIFIED)
FIELDS = ["user", "area", "unit", "status", "decided_by", "decided_at", "ended_at", "source"]


def community_rank() -> int:
    """The rank of the community level (areas below it are homes); 3 with the default levels."""
    rank = AreaLevel.objects.filter(slug="community").values_list("rank", flat=True).first()
    return 3 if rank is None else rank


def is_home_area(area) -> bool:
    """Below community level (grid, estate, building): where a residency may be."""
    return isinstance(area, Area) and area.level.rank > community_rank()


def home_areas() -> QuerySet:
    """Areas a resident may ask to be registered at: everything below community level."""
    return Area.objects.filter(level__rank__gt=community_rank()).select_related("level", "parent")


def _verifier_q(actor, lookup: str = "area") -> Q | None:
    """The areas where ``actor`` may verify residents, as a filter (None: nowhere)."""
    if not signed_in(actor):
        return None
    scope = jurisdiction(actor)
    if scope.everything:
        return Q()
    paths = set(scope.command_paths)
    for code in queries.VERIFIER_ROLES:
        paths.update(scope.role_paths.get(code, ()))
    if not paths:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{f"{lookup}__path__startswith": path})
    return q


def may_verify_anywhere(actor) -> bool:
    return _verifier_q(actor) is not None


def verify_for(actor) -> QuerySet:
    """Pending requests the actor may decide (never their own)."""
    q = _verifier_q(actor)
    if q is None:
        return Residency.objects.none()
    return (Residency.objects.filter(q, status=Residency.Status.PENDING).exclude(user=actor)
            .select_related("user", "area", "area__parent").order_by("requested_at", "pk"))


def mine(user) -> QuerySet:
    """The user's residencies, live ones first."""
    if not signed_in(user):
        return Residency.objects.none()
    return Residency.objects.filter(user=user).select_related("area", "area__parent")


def movable(actor) -> QuerySet:
    """Residencies ``actor`` may end: their own, and live ones where they verify."""
    if not signed_in(actor):
        return Residency.objects.none()
    q = Q(user=actor)
    vq = _verifier_q(actor)
    if vq is not None:
        q |= vq
    return Residency.objects.filter(q, status__in=LIVE)


def request_residency(user, *, area, unit) -> Residency:
    if not signed_in(user):
        raise PermissionDenied
    unit = clean_text(unit, "unit", _("房号"), 32)
    if area is None or not isinstance(area, Area):
        raise ValidationError({"area": _("请选择楼栋")})
    if area.level.rank <= community_rank():
        raise ValidationError({"area": _("请选择社区以下的楼栋或小区，不能直接登记在社区或更高的区域")})
    refused = ValidationError({"area": _("您在该楼栋已有待核实或已核实的登记")})
    try:
        with transaction.atomic():
            if Residency.objects.filter(user=user, area=area, status__in=LIVE).exists():
                raise refused
            residency = Residency.objects.create(user=user, area=area, unit=unit)
            audit.record(user, "portal.residency_request", residency, after=audit.snapshot(residency, FIELDS))
    except IntegrityError:  # a second request at the same moment (residency_one_live_per_area)
        raise refused from None
    return residency


def verify(actor, residency: Residency, *, approve: bool, note: str = "") -> Residency:
    """Confirm (``approve``) or refuse a pending request; refusing needs no note."""
    note = clean_text(note, "note", _("说明"), 200, required=False)
    with transaction.atomic():
        residency = Residency.objects.select_for_update().select_related("area").get(pk=residency.pk)
        if not queries.can_verify(actor, residency.area):
            raise PermissionDenied
        if actor is not None and residency.user_id == actor.pk:
            raise PermissionDenied  # nobody verifies their own home
        if residency.status != Residency.Status.PENDING:
            raise ValidationError(_("该登记已处理"))
        before = audit.snapshot(residency, FIELDS)
        residency.status = Residency.Status.VERIFIED if approve else Residency.Status.REFUSED
        residency.decided_by = actor if signed_in(actor) else None
        residency.decided_at = timezone.now()
        residency.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(actor, "portal.residency_verify" if approve else "portal.residency_refuse", residency,
                     before=before, after=audit.snapshot(residency, FIELDS), note=note)
    return residency


def move_out(actor, residency: Residency) -> Residency:
    """End a residency (verified, or a pending request withdrawn): the resident or a verifier."""
    with transaction.atomic():
        residency = Residency.objects.select_for_update().select_related("area").get(pk=residency.pk)
        own = signed_in(actor) and residency.user_id == actor.pk
        if not own and not queries.can_verify(actor, residency.area):
            raise PermissionDenied
        if residency.status not in LIVE:
            raise ValidationError(_("该登记已结束"))
        before = audit.snapshot(residency, FIELDS)
        residency.status = Residency.Status.ENDED
        residency.ended_at = timezone.now()
        residency.save(update_fields=["status", "ended_at"])
        audit.record(actor, "portal.residency_move_out", residency, before=before,
                     after=audit.snapshot(residency, FIELDS))
    return residency


# ------------------------------------------------------------------------------ from the registry


def _registry_writer(actor, area) -> None:
    """Only a writer of the residents' registry over the area speaks for it (the system: ``None``)."""
    if not registry_rules.can_write(actor, Registry.RESIDENTS, area):
        raise PermissionDenied


def verify_from_registry(actor, user, area) -> Residency | None:
    """A verified home for ``user`` at ``area`` on the registry's word: the residents' registry has an
    open person there linked to the account. Nothing when the area is not below community level, the
    account is inactive, or the user already has a live residency there (theirs stays as it is)."""
    _registry_writer(actor, area)
    if user is None or not getattr(user, "is_active", False) or not is_home_area(area):
        return None
    try:
        with transaction.atomic():
            if Residency.objects.filter(user=user, area=area, status__in=LIVE).exists():
                return None
            now = timezone.now()
            residency = Residency.objects.create(
                user=user, area=area, status=Residency.Status.VERIFIED, source=Residency.Source.REGISTRY,
                requested_at=now, decided_at=now, decided_by=actor if signed_in(actor) else None)
            audit.record(actor, "portal.residency_registry_verify", residency,
                         after=audit.snapshot(residency, FIELDS))
    except IntegrityError:  # a live residency appeared at the same moment: that one stands
        return None
    return residency


def end_from_registry(actor, user, area) -> Residency | None:
    """End the live residency of ``user`` at ``area`` that came from the registry (the person was
    closed, moved or unlinked). A residency the resident asked for is never touched."""
    _registry_writer(actor, area)
    if user is None:
        return None
    with transaction.atomic():
        residency = (Residency.objects.select_for_update()
                     .filter(user=user, area=area, source=Residency.Source.REGISTRY, status__in=LIVE).first())
        if residency is None:
            return None
        before = audit.snapshot(residency, FIELDS)
        residency.status = Residency.Status.ENDED
        residency.ended_at = timezone.now()
        residency.save(update_fields=["status", "ended_at"])
        audit.record(actor, "portal.residency_registry_end", residency, before=before,
                     after=audit.snapshot(residency, FIELDS))
    return residency


def follow_registry(actor, *, before: tuple, after: tuple) -> None:
    """A registry entry's (account, area) went from ``before`` to ``after`` (account ``None``: none,
    or the person is closed): end the old registry home, give the new one. The registries' services
    call this after their own checks; linking the same account again changes nothing."""
    (old_user, old_area), (new_user, new_area) = before, after
    if old_user is not None and (old_user, old_area) != (new_user, new_area):
        end_from_registry(actor, old_user, old_area)
    if new_user is not None:
        verify_from_registry(actor, new_user, new_area)
