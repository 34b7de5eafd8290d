"""Signing in on the pages, with failed attempts limited per account and per network address, so
a password cannot be guessed at the speed of a form. (The API's token endpoint has its own limit:
DRF's `auth` throttle scope.)

Failures are counted in the cache in fixed windows; an attempt is refused while the current and
the previous window together hold the limit, so a lockout lasts one to two windows. A refused
attempt never reaches the password check. If the cache is down, nobody is locked out."""

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

audit_log = logging.getLogger("dispute_desk.audit")


def _counters(request, username: str) -> list[tuple[str, int]]:
    """(cache key, limit) for the account tried and for the address it came from."""
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    address = request.META.get("REMOTE_ADDR", "")
    return [
        (f"signin-failures:account:{account}", settings.SIGNIN_FAILURES_PER_ACCOUNT),
        (f"signin-failures:address:{address}", settings.SIGNIN_FAILURES_PER_ADDRESS),
    ]


def _window_seconds() -> int:
    return settings.SIGNIN_FAILURE_WINDOW_MINUTES * 60


def _window(now: datetime) -> int:
    return int(now.timestamp() // _window_seconds())


def signin_wait(request, username: str) -> int:
    """Seconds until this account may try again from this address (0: it may now). Blocked while
    the current and the previous window hold the limit: that ends when the next window starts, or
    the one after if the current window alone holds the limit."""
    now = timezone.now()
    current = _window(now)
    wait = 0
    try:
        for key, limit in _counters(request, username):
            counts = cache.get_many([f"{key}:{current}", f"{key}:{current - 1}"])
            now_count = counts.get(f"{key}:{current}", 0)
            if now_count + counts.get(f"{key}:{current - 1}", 0) >= limit:
                free_at = (current + (2 if now_count >= limit else 1)) * _window_seconds()
                wait = max(wait, int(free_at - now.timestamp()) + 1)
    except Exception:  # a cache outage must not lock everybody out
        audit_log.warning("signin throttle unavailable: cache error", exc_info=True)
        return 0
    return wait


def record_failure(request, username: str) -> None:
    current = _window(timezone.now())
    timeout = 2 * _window_seconds()
    try:
        for key, _limit in _counters(request, username):
            bucket = f"{key}:{current}"
            if not cache.add(bucket, 1, timeout):
                cache.incr(bucket)
    except Exception:
        audit_log.warning("signin throttle unavailable: cache error", exc_info=True)


def forget_failures(request, username: str) -> None:
    """After a good sign-in, the account's own count starts again (the address's does not)."""
    key, _limit = _counters(request, username)[0]
    current = _window(timezone.now())
    try:
        cache.delete_many([f"{key}:{current}", f"{key}:{current - 1}"])
    except Exception:
        audit_log.warning("signin throttle unavailable: cache error", exc_info=True)


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _(
            "Too many failed sign-ins for this account or from this network. Try again in %(minutes)s minutes."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        wait = signin_wait(self.request, username) if self.request is not None else 0
        if wait:
            audit_log.info("signin refused username=%r address=%s why=too_many_failures", username, address)
            minutes = -(-wait // 60)  # rounded up
            raise ValidationError(self.error_messages["throttled"], code="throttled", params={"minutes": minutes})
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.request is not None:
                record_failure(self.request, username)
            audit_log.info("signin failed username=%r address=%s", username, address)
            raise
        if self.request is not None:
            forget_failures(self.request, username)
        return cleaned


class SignInView(LoginView):
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response
