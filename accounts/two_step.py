"""Two-step sign-in (TOTP from an authenticator app, with one-time backup codes), on django-otp.

Who must use it: a member of the dispute team (while TWO_STEP_REQUIRED_FOR_TEAM is on), and anyone
who has turned it on for themselves (a confirmed device). For them every door asks for the code:
the sign-in page (a second step after the password), admin (which signs in through that page) and
POST /api/auth/token/ (an `otp` field). A team member without a device yet is sent to set one up
before admin or the API will serve them.
"""

import base64
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Exists
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import User
from core.audit import audit

BACKUP_CODES = 10


def has_two_step(user: User) -> bool:
    known = getattr(user, "_has_two_step", None)  # read with the user's token (accounts.authentication)
    if known is None:
        known = user._has_two_step = _has_confirmed_device(user)
    return known


def _has_confirmed_device(user: User) -> bool:
    """A confirmed authenticator or set of backup codes, in one query (every request of a signed-in
    person asks, through TwoStepRequiredMiddleware)."""
    totp = TOTPDevice.objects.filter(user=user, confirmed=True)
    static = StaticDevice.objects.filter(user=user, confirmed=True)
    return User.objects.filter(pk=user.pk).filter(Exists(totp) | Exists(static)).exists()


def must_use_two_step(user: User) -> bool:
    """Whether every door must ask this user for a code (or first send them to set one up): anyone
    who turned it on, and, while the setting holds, the dispute team and every other staff account
    (admin moves money and reads everyone's data)."""
    if not user.is_authenticated:
        return False
    if has_two_step(user):
        return True
    return settings.TWO_STEP_REQUIRED_FOR_TEAM and (user.is_staff or roles.is_dispute_team(user))


def verify(user: User, code: str):
    """The device that accepts this code (a TOTP code or an unused backup code), or None."""
    code = (code or "").replace(" ", "").strip()
    if not code:
        return None
    return match_token(user, code)


def code_wait(user: User) -> int:
    """Seconds until django-otp will check a code again after wrong ones (its own growing delay,
    on every device at once); 0 when a code may be checked now."""
    waits = []
    for device in devices_for_user(user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if allowed:
            return 0
        until = (data or {}).get("locked_until")
        waits.append(int((until - timezone.now()).total_seconds()) + 1 if until else 1)
    return max(waits, default=0)


def start_setup(user: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user (replacing any earlier unconfirmed one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def pending_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


@transaction.atomic
def confirm_setup(user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the authenticator with a first code; returns fresh backup codes, shown once."""
    if not device.verify_token((code or "").replace(" ", "").strip()):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    backup = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    codes = [secrets.token_hex(5) for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    audit("two_step.enabled", user=user.username)
    return codes


def turn_off(user: User) -> None:
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    audit("two_step.disabled", user=user.username)


def otpauth_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


class TwoStepRequiredMiddleware:
    """A signed-in person who must use two-step sign-in but has not verified this session (a team
    member without a device yet) reaches only the setup page, sign-out and static files. Admin
    and the pages are closed until then; the API refuses their token at the door."""

    ALLOWED = ("/accounts/", "/static/", "/i18n/")
    PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The probes and the scraper are answered before anything reads the session.
        if request.path in self.PROBES or request.path.startswith(self.ALLOWED):
            return self.get_response(request)
        user = getattr(request, "user", None)
        # (A token-authenticated API call has no session user here; its door checks at issue time.)
        if user is not None and user.is_authenticated and not user.is_verified() and must_use_two_step(user):
            if request.path.startswith("/api/"):
                body = {"code": "otp_required", "detail": str(_("Set up two-step sign-in on the website first."))}
                return JsonResponse(body, status=401)
            return redirect(f"{reverse('two_step_setup')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
