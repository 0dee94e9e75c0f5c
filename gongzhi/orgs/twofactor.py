"""TOTP two-factor authentication (django-otp), required for staff roles.

Who must use it (when ``settings.GONGZHI_REQUIRE_2FA`` is on, the production default): anyone with
``is_staff``/``is_superuser``, department staff (``Staff``), and holders of a command-center role
(``Role.is_command_center``, e.g. 派遣员). Residents and grid workers without such a role are not
forced, but may enrol; once a person has a confirmed authenticator, every login asks for a code,
whatever the switch says.

The state of a login lives in the session under ``SESSION_KEY``:

- ``"verify"``: the password was right, a code is still owed (the person has an authenticator);
- ``"enrol"``: the password was right, the person must set up an authenticator first;
- ``"ok"``: nothing owed (verified, or not required).

``AccountSecurityMiddleware`` keeps a session in "verify"/"enrol" on the two-factor pages; the API's
session auth refuses it. The state is computed at login (one query), so a role granted to someone
already logged in takes effect at their next login.
"""

from __future__ import annotations

import base64
import io

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core import audit

from .models import Membership, Staff, User

SESSION_KEY = "gz_2fa"
VERIFY, ENROL, OK = "verify", "enrol", "ok"
RECOVERY_CODE_COUNT = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def required_for(user: User) -> bool:
    """Whether this person must use two-factor authentication."""
    if not getattr(settings, "GONGZHI_REQUIRE_2FA", False) or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    if Staff.objects.filter(user=user).exists():
        return True
    return Membership.objects.active().filter(user=user, role__is_command_center=True).exists()


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def state_for(user: User) -> str:
    """The two-factor state a fresh login starts in."""
    if has_authenticator(user):
        return VERIFY
    return ENROL if required_for(user) else OK


def pending(request) -> str | None:
    """"verify" or "enrol" while the logged-in session still owes its second factor, else None."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    state = session.get(SESSION_KEY)
    return state if state in (VERIFY, ENROL) else None


def start(request, user: User) -> str:
    """Called at every login: set the session's two-factor state."""
    state = state_for(user)
    request.session[SESSION_KEY] = state
    return state


def _mark_verified(request, device) -> None:
    otp_login(request, device)
    request.session[SESSION_KEY] = OK


# --- enrolment -------------------------------------------------------------------------------------

def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator shown on the set-up page (the same one until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def qr_svg_data_uri(text: str) -> str:
    """A QR code as an ``data:image/svg+xml`` URI, drawn on the server (no CDN, no script)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def secret_base32(device: TOTPDevice) -> str:
    raw = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _new_recovery_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME,
                                                          defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def confirm_enrolment(request, *, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm an authenticator with its first code. Returns the new recovery codes (shown once),
    or None when the code is wrong."""
    user = request.user
    code = normalize(code)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
        if not code.isdigit() or not device.verify_token(code):
            failed = True
        else:
            failed = False
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = _new_recovery_codes(user)
            audit.record(user, "two_factor.enrol", user, after={"device": device.persistent_id})
    if failed:
        audit.record(user, "two_factor.enrol_failed", user)
        return None
    _mark_verified(request, device)
    return codes


# --- verification at login -------------------------------------------------------------------------

def normalize(code: str) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()[:32]


def verify(request, user: User, code: str) -> bool:
    """Check a six-digit authenticator code, or a recovery code (each works once)."""
    code = normalize(code)
    device = None
    if code:
        with transaction.atomic():
            if code.isdigit():
                candidates = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
            else:
                candidates = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
            for candidate in candidates:
                if candidate.verify_token(code):
                    device = candidate
                    break
    if device is None:
        audit.record(user, "two_factor.failed", user)
        return False
    _mark_verified(request, device)
    if isinstance(device, StaticDevice):
        left = device.token_set.count()
        audit.record(user, "two_factor.recovery_code_used", user, after={"left": left})
    return True


def throttled(user: User) -> bool:
    """Whether django-otp's back-off (1, 2, 4, 8 … s after each wrong code) refuses codes now."""
    return any(not d.verify_is_allowed()[0] for d in TOTPDevice.objects.filter(user=user, confirmed=True))


# --- management ------------------------------------------------------------------------------------

@transaction.atomic
def regenerate_recovery_codes(*, actor, user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record(actor, "two_factor.recovery_codes", user, after={"count": len(codes)})
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def reset(*, actor, user: User) -> None:
    """Remove a person's authenticator and recovery codes (a lost phone) and end their sessions;
    if two-factor is required for them, they set up a new authenticator at their next login."""
    from .sessions import end_sessions

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(actor, "two_factor.reset", user)
    end_sessions(actor=actor, user=user, note=_("重置两步验证"))


def disable(request) -> bool:
    """A person for whom two-factor is optional turns it off (from a verified session)."""
    user = request.user
    if required_for(user):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(user, "two_factor.disable", user)
    request.session[SESSION_KEY] = OK
    return True
