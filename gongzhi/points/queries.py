"""Reads: balances (the sum of the entries), a resident's history, checks of the ledger's invariants."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from gongzhi.core.scoping import jurisdiction

from . import ledger
from .models import (
    Account,
    Activity,
    EarningBatch,
    Entry,
    GoodDeed,
    LeaderboardChoice,
    Merchant,
    MerchantStaff,
    Signup,
    Transaction,
    Voucher,
)

Kind = Account.Kind


def balance(account: Account) -> int:
    """The truth: the sum of the account's entries (the cached column must equal it)."""
    return ledger.entries_sum(account)


def points_of(user) -> int:
    account = Account.objects.filter(kind=Kind.RESIDENT_POINTS, user=user).first()
    return balance(account) if account else 0


def minutes_of(user) -> int:
    account = Account.objects.filter(kind=Kind.RESIDENT_HOURS, user=user).first()
    return balance(account) if account else 0


def history(user):
    """The resident's entries, newest first, with their transactions."""
    return (Entry.objects.filter(account__user=user).select_related("transaction", "account")
            .order_by("-transaction__created_at", "-id"))


def expiring(user, before):
    """Batches of the resident that still hold points and expire before ``before``."""
    return EarningBatch.objects.filter(account__user=user, account__kind=Kind.RESIDENT_POINTS, remaining__gt=0,
                                       expired_at__isnull=True, expires_at__lt=before).order_by("expires_at", "id")


# ------------------------------------------------------------------------------------ pages


def manager_paths(user) -> tuple[str, ...] | None:
    """The subtrees where ``services.can_manage`` holds for ``user``: ``None`` for everything."""
    from .services import MANAGER_ROLES

    scope = jurisdiction(user)
    if scope.everything:
        return None
    return tuple(scope.command_paths) + tuple(p for code in MANAGER_ROLES for p in scope.role_paths.get(code, ()))


def _under(paths, field: str) -> Q:
    if paths is None:
        return Q()
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{field}__startswith": path})
    return query


def manageable_areas(user):
    """The areas where the user may publish activities (``can_manage``), top first."""
    from gongzhi.areas.models import Area

    paths = manager_paths(user)
    if paths == ():
        return Area.objects.none()
    return Area.objects.filter(_under(paths, "path")).select_related("level").order_by("depth", "path")


def calendar(now):
    """Published activities that have not ended, soonest first, with the live sign-ups counted."""
    return (Activity.objects.filter(status=Activity.Status.PUBLISHED, ends_at__gt=now)
            .select_related("area")
            .annotate(taken=Count("signups", filter=~Q(signups__status=Signup.Status.CANCELLED)))
            .order_by("starts_at", "id"))


def organised_by(user):
    """Activities whose sign-up list the user runs: their own, and those in areas they manage."""
    paths = manager_paths(user)
    query = Q(organiser=user) if paths is not None else Q()
    if paths:
        query |= _under(paths, "area__path")
    return Activity.objects.filter(query).select_related("area")


def may_organise(user, activity: Activity) -> bool:
    from .services import can_manage

    return activity.organiser_id == user.pk or can_manage(user, activity.area)


def deeds_to_review(user):
    """Good deeds waiting in areas the user manages (never their own)."""
    paths = manager_paths(user)
    if paths == ():
        return GoodDeed.objects.none()
    return (GoodDeed.objects.filter(_under(paths, "area__path"), status=GoodDeed.Status.REPORTED)
            .exclude(resident=user).select_related("area", "resident", "reported_by").order_by("reported_at", "id"))


def staff_merchants(user):
    """The merchants where the user is active staff."""
    return Merchant.objects.filter(staff__user=user, staff__is_active=True, is_active=True).distinct()


def settling_merchants(user):
    """The merchants whose settlement statement the user may see: those in areas they manage, and
    those where they are a 店长."""
    paths = manager_paths(user)
    managed = Q(pk__in=MerchantStaff.objects.filter(user=user, is_active=True, is_manager=True)
                .values("merchant_id"))
    if paths is None:
        return Merchant.objects.all().order_by("name", "id")
    if paths:
        managed |= _under(paths, "area__path")
    return Merchant.objects.filter(managed).order_by("name", "id")


def may_settle(user) -> bool:
    """The settlement page is for managers of an area and merchants' managers."""
    return manager_paths(user) != () or MerchantStaff.objects.filter(user=user, is_active=True,
                                                                      is_manager=True).exists()


def settlement(merchant: Merchant, start, end):
    """The merchant's vouchers used in [start, end) — what the community owes it at the year-end
    settlement (the ``use`` transactions into its receivable), oldest first."""
    return (Voucher.objects.filter(merchant=merchant, status=Voucher.Status.REDEEMED, redeemed_at__gte=start,
                                   redeemed_at__lt=end)
            .select_related("offer", "redeemed_by").order_by("redeemed_at", "id"))


# ------------------------------------------------------------------------------------ leaderboard

PERIODS = ("year", "month", "all")
LEADERBOARD_SIZE = 20


def period_start(period: str, now):
    """The start of this year / this month (local time), or ``None`` for all time."""
    from django.utils import timezone

    local = timezone.localtime(now)
    if period == "month":
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "year":
        return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def community_of(area):
    """The community (level ``community``) at or above ``area``; the area itself when there is none."""
    from gongzhi.areas.models import Area

    if area.level.slug == "community":
        return area
    above = Area.objects.filter(pk__in=area.ancestor_ids(), level__slug="community").first()
    return above or area


def leaderboard_areas(user) -> list:
    """The areas whose leaderboard the user may see: the communities where they hold a role or have
    earned hours or points (most recent first), then the areas they manage (the top of each subtree
    and the communities under it). Their own community comes first: it is the default."""
    from gongzhi.areas.models import Area
    from gongzhi.orgs.models import Membership

    own: list = []
    earned = (Transaction.objects.filter(kind=Transaction.Kind.AWARD, entries__account__user=user,
                                         area__isnull=False)
              .order_by("-created_at").values_list("area_id", flat=True)[:200])
    held = Membership.objects.filter(user=user, ended_on__isnull=True).values_list("area_id", flat=True)
    for area_id in list(dict.fromkeys(list(earned) + list(held))):
        community = community_of(Area.objects.select_related("level").get(pk=area_id))
        if community not in own:
            own.append(community)
    paths = manager_paths(user)
    if paths == ():
        return own
    managed = Area.objects.filter(_under(paths, "path")).select_related("level")
    tops = [a for a in managed.filter(path__in=paths)] if paths is not None else []
    communities = list(managed.filter(level__slug="community").order_by("path")[:200])
    return own + [a for a in tops + communities if a not in own]


def leaderboard(area, period: str, now, viewer=None):
    """The residents who earned service hours or points in ``area`` (and below) during the period, by
    service minutes, then points. Awards that were reversed count for nothing. Returns
    ``(rows, mine)``: ``rows`` only those who chose to be shown (rank among them, equal figures share
    a rank), at most ``LEADERBOARD_SIZE``; ``mine`` the viewer's own figures and the rank they would
    have among those shown (``None`` when they earned nothing) — for their eyes only."""
    from django.contrib.auth import get_user_model

    entries = Entry.objects.filter(account__kind__in=Account.GUARDED, account__user__is_active=True,
                                   transaction__kind=Transaction.Kind.AWARD,
                                   transaction__reversed_by__isnull=True,
                                   transaction__area__path__startswith=area.path)
    start = period_start(period, now)
    if start is not None:
        entries = entries.filter(transaction__created_at__gte=start)
    totals: dict[int, list[int]] = {}
    for user_id, kind, amount in (entries.values("account__user", "account__kind").annotate(s=Sum("amount"))
                                  .values_list("account__user", "account__kind", "s")):
        slot = totals.setdefault(user_id, [0, 0])
        slot[0 if kind == Kind.RESIDENT_HOURS else 1] += amount
    shown_ids = set(LeaderboardChoice.objects.filter(shown=True, user_id__in=list(totals))
                    .values_list("user_id", flat=True))
    ranked = sorted(((m, p, uid) for uid, (m, p) in totals.items() if uid in shown_ids and (m or p)),
                    key=lambda row: (-row[0], -row[1], row[2]))
    users = get_user_model().objects.in_bulk([uid for _m, _p, uid in ranked[:LEADERBOARD_SIZE]])
    rows, rank, previous = [], 0, None
    for position, (minutes, points, uid) in enumerate(ranked[:LEADERBOARD_SIZE], 1):
        if (minutes, points) != previous:
            rank, previous = position, (minutes, points)
        user = users[uid]
        rows.append({"rank": rank, "user_id": uid, "name": user.display_name or _("未署名志愿者"),
                     "minutes": minutes, "points": points, "is_viewer": viewer is not None and uid == viewer.pk})
    mine = None
    if viewer is not None and any(totals.get(viewer.pk, [0, 0])):
        minutes, points = totals[viewer.pk]
        better = sum(1 for m, p, uid in ranked if (m, p) > (minutes, points) and uid != viewer.pk)
        mine = {"rank": better + 1, "minutes": minutes, "points": points, "shown": viewer.pk in shown_ids,
                "of": len(ranked) + (0 if viewer.pk in shown_ids else 1)}
    return rows, mine


def leaderboard_shown(user) -> bool:
    return LeaderboardChoice.objects.filter(user=user, shown=True).exists()


# ------------------------------------------------------------------------------------ certificate


def certified_awards(user):
    """The confirmed activities that credited the resident service hours and were not reversed:
    ``(entry, signup)`` oldest first. Their minutes add up to the hours balance."""
    entries = (Entry.objects.filter(account__kind=Kind.RESIDENT_HOURS, account__user=user, amount__gt=0,
                                    transaction__kind=Transaction.Kind.AWARD,
                                    transaction__reversed_by__isnull=True)
               .select_related("transaction__signup__activity__area", "transaction__area")
               .order_by("transaction__created_at", "id"))
    return list(entries)


def residents_of(user):
    """The users whose certificate the user may download as a manager: those who earned hours or
    points in, or hold a role in, an area the user manages (``None`` paths: everybody)."""
    from django.contrib.auth import get_user_model

    from gongzhi.orgs.models import Membership

    users = get_user_model().objects.all()
    paths = manager_paths(user)
    if paths is None:
        return users
    if paths == ():
        return users.none()
    earned = Entry.objects.filter(_under(paths, "transaction__area__path"), account__user__isnull=False,
                                  transaction__kind=Transaction.Kind.AWARD).values("account__user")
    held = Membership.objects.filter(_under(paths, "area__path"), ended_on__isnull=True).values("user")
    return users.filter(Q(pk__in=earned) | Q(pk__in=held))


def invariant_violations() -> list[str]:
    """Everything that should never happen, as sentences (empty: the ledger is sound). Used by the
    tests after every step, and cheap enough for an operator's check on a small city."""
    problems: list[str] = []
    for row in (Entry.objects.values("transaction_id", "account__unit").annotate(s=Sum("amount"))
                .exclude(s=0)):
        problems.append(f"transaction {row['transaction_id']} does not sum to zero in {row['account__unit']}")
    for row in Entry.objects.values("account__unit").annotate(s=Sum("amount")).exclude(s=0):
        problems.append(f"all entries in {row['account__unit']} sum to {row['s']}, not zero")
    empty = Transaction.objects.filter(entries__isnull=True).values_list("pk", flat=True)
    problems += [f"transaction {pk} has no entries" for pk in empty]
    sums = dict(Entry.objects.values_list("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))
    for acc in Account.objects.all():
        total = sums.get(acc.pk, 0)
        if acc.kind in Account.GUARDED:
            if acc.balance != total:
                problems.append(f"account {acc.pk}: cached balance {acc.balance} != sum of entries {total}")
            if total < 0:
                problems.append(f"account {acc.pk} is negative: {total}")
        elif acc.balance is not None:
            problems.append(f"account {acc.pk}: an unguarded account has a cached balance")
        if acc.kind == Kind.RESIDENT_POINTS:
            live = EarningBatch.objects.filter(account=acc, expired_at__isnull=True).aggregate(
                s=Sum("remaining"))["s"] or 0
            if live != total:
                problems.append(f"account {acc.pk}: live batches hold {live}, the balance is {total}")
    for batch in EarningBatch.objects.annotate(moved=Sum("moves__amount")):
        if batch.remaining != batch.amount + (batch.moved or 0):
            problems.append(f"batch {batch.pk}: remaining {batch.remaining} != amount + moves")
    return problems


# ------------------------------------------------------------------------------------ the API's reads


def visible_activities(user, now):
    """The activities ``user`` may see (the API's read door): the calendar (published, not ended —
    the same for everyone signed in, as on ``/points/activities/``), plus those they signed up for
    and those they run (``organised_by``), whatever their state. Anything else is a 404. Annotated
    with ``taken`` (live sign-ups), ``my_signup_id`` and ``my_status`` (the user's live sign-up)."""
    from django.db.models import OuterRef, Subquery

    mine = Signup.objects.filter(activity=OuterRef("pk"), resident=user).exclude(status=Signup.Status.CANCELLED)
    seen = (Q(status=Activity.Status.PUBLISHED, ends_at__gt=now)
            | Q(pk__in=Signup.objects.filter(resident=user).values("activity_id"))
            | Q(pk__in=organised_by(user).values("pk")))
    return (Activity.objects.filter(seen).select_related("area")
            .annotate(taken=Count("signups", filter=~Q(signups__status=Signup.Status.CANCELLED)),
                      my_signup_id=Subquery(mine.values("pk")[:1]), my_status=Subquery(mine.values("status")[:1])))


def live_signup(user, activity):
    """The user's sign-up for the activity that is not cancelled, or ``None``."""
    return Signup.objects.filter(activity=activity, resident=user).exclude(status=Signup.Status.CANCELLED).first()


def offers_on_sale(now):
    """Offers a resident may buy now (as on ``/points/offers/``): active, of an active merchant,
    inside their window."""
    from .models import Offer

    return (Offer.objects.filter(is_active=True, merchant__is_active=True, valid_from__lte=now)
            .exclude(valid_until__lte=now).select_related("merchant"))


def vouchers_of(user):
    """The user's own vouchers, newest first."""
    return Voucher.objects.filter(resident=user).select_related("offer", "merchant").order_by("-issued_at", "-id")


def may_redeem(user) -> bool:
    """The 核销 counter is for active staff of an active merchant (and superusers), as ``/points/redeem/``."""
    return bool(getattr(user, "is_superuser", False)) or staff_merchants(user).exists()


def communities():
    """The areas a good deed may be reported in (as ``/points/deeds/report/``): every community."""
    from gongzhi.areas.models import Area

    return Area.objects.filter(level__slug="community").order_by("path")
