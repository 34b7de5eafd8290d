"""One sign-in throttle for every door that checks a password: the sign-in page, admin (which
signs in through the same page) and the API token endpoint.

Failures are rows with a timestamp (`SignInFailure`), counted over a sliding window, three ways:
- per account and address together: a guesser at one account from one place;
- per address alone: one place trying many accounts;
- per account alone: many places trying one account. Past this limit only the addresses that have
  never signed in to the account wait (`KnownAddress`), so its owner still gets in.
Past a limit the wait grows with each further failure (30 s, 1 min, 2 min, ... up to the cap): an
attack slows itself down but never locks an account for good. A refused attempt never reaches the
password check. Rows, not cache counters: the windows are timestamps, tests travel in time, and a
cache outage changes nothing.

Why not django-axes: its lockouts are fixed cool-offs per parameter combination; it has no notion of
an address known to the account (the owner's exemption) nor of growing delays, and adding both
means replacing its handler, which is most of it.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from accounts.middleware import header_language
from accounts.models import KnownAddress, SignInFailure, User
from core.audit import audit
from core.client import client_address


def account_key(username: str) -> str:
    """Failures are kept per account name tried, hashed (names of accounts that do not exist too)."""
    return hashlib.sha256((username or "").strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    wait_seconds: int
    why: str  # "account_address", "address", "account"

    @property
    def minutes(self) -> int:
        return max(1, -(-self.wait_seconds // 60))


def _delay(failures: int, limit: int) -> timedelta:
    over = failures - limit
    base = settings.SIGNIN_DELAY_BASE_SECONDS * (2 ** min(over, 20))
    return timedelta(seconds=min(base, settings.SIGNIN_DELAY_MAX_SECONDS))


def _window_start(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.SIGNIN_FAILURE_WINDOW_MINUTES)


def _known(username: str, address: str) -> bool:
    since = timezone.now() - timedelta(days=settings.SIGNIN_KNOWN_ADDRESS_DAYS)
    return KnownAddress.objects.filter(
        user__username__iexact=(username or "").strip(), address=address, last_signed_in_at__gte=since
    ).exists()


def refusal_for(request, username: str, *, attempt: int | None = None) -> Refusal | None:
    """Whether this attempt must wait, and how long. Reads three counts in one query (leaving out
    the attempt's own row, which `begin` wrote first)."""
    now = timezone.now()
    address = client_address(request)
    key = account_key(username)
    recent = SignInFailure.objects.filter(at__gte=_window_start(now)).exclude(pk=attempt)
    pair, by_address, by_account = Q(account=key, address=address), Q(address=address), Q(account=key)
    # (Names apart from the model's fields: an aggregate named "address" would shadow the column.)
    counts = recent.aggregate(
        n_pair=Count("pk", filter=pair),
        last_pair=Max("at", filter=pair),
        n_address=Count("pk", filter=by_address),
        last_address=Max("at", filter=by_address),
        n_account=Count("pk", filter=by_account),
        last_account=Max("at", filter=by_account),
    )
    rules = [
        ("account_address", counts["n_pair"], counts["last_pair"], settings.SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS),
        ("address", counts["n_address"], counts["last_address"], settings.SIGNIN_FAILURES_PER_ADDRESS),
        ("account", counts["n_account"], counts["last_account"], settings.SIGNIN_FAILURES_PER_ACCOUNT),
    ]
    worst: Refusal | None = None
    for why, failures, last, limit in rules:
        if failures < limit or last is None:
            continue
        free_at = last + _delay(failures, limit)
        if free_at <= now:
            continue
        if why == "account" and _known(username, address):
            continue  # the owner, from a place they have signed in from before
        wait = int((free_at - now).total_seconds()) + 1
        if worst is None or wait > worst.wait_seconds:
            worst = Refusal(wait, why)
    return worst


@dataclass(frozen=True)
class Attempt:
    """A password (or code) check about to happen, already written down as a failure: requests
    racing each other each see the others' rows, so parallel guesses can't all slip under a limit."""

    pk: int
    username: str
    door: str


def begin(request, username: str, *, door: str) -> Attempt | Refusal:
    """Call before checking a password or a code: either the attempt may go ahead, or a refusal
    (logged) that must be answered with 429, the check never made."""
    row = SignInFailure.objects.create(
        account=account_key(username), address=client_address(request), at=timezone.now()
    )
    refusal = refusal_for(request, username, attempt=row.pk)
    if refusal is None:
        return Attempt(row.pk, username, door)
    row.delete()  # refused before any check: not a guess
    audit(
        "signin.refused",
        door=door,
        username=username,
        address=client_address(request),
        why=refusal.why,
        wait_seconds=refusal.wait_seconds,
    )
    return refusal


def failed(request, attempt: Attempt) -> None:
    """The check failed: the attempt's row stays, as a failure."""
    audit("signin.failed", door=attempt.door, username=attempt.username, address=client_address(request))


def not_a_guess(attempt: Attempt) -> None:
    """Nothing was checked after all (a blank field) or only the first of two steps passed: the
    attempt does not count either way."""
    SignInFailure.objects.filter(pk=attempt.pk).delete()


def succeeded(request, user: User, attempt: Attempt) -> None:
    """A good sign-in (after the code, for two-step users): the address becomes known to the
    account, and its own failures from there are forgotten (the address's and the account's counts
    stand: others may still be guessing). The language the request asks for is remembered as the
    sign-in's (`User.signin_language`): what someone who never chose one reads."""
    address = client_address(request)
    now = timezone.now()
    KnownAddress.objects.update_or_create(user=user, address=address, defaults={"last_signed_in_at": now})
    _remember_signin_language(request, user)
    SignInFailure.objects.filter(account=account_key(user.get_username()), address=address).delete()
    SignInFailure.objects.filter(pk=attempt.pk).delete()
    audit("signin.ok", door=attempt.door, username=user.get_username(), address=address)


def _remember_signin_language(request, user: User) -> None:
    """A sign-in that says nothing of languages (no Accept-Language, as many API clients send) leaves the
    last one as it was; one that asks only for languages the site does not speak records "" (none known)."""
    if not request.META.get("HTTP_ACCEPT_LANGUAGE", "").strip():
        return
    language = header_language(request)
    if user.signin_language != language:
        # An update, not a save: no signal (a save is how a password change is noticed) and no other column.
        User.objects.filter(pk=user.pk).update(signin_language=language)
        user.signin_language = language


def forget_old_failures(*, now: datetime | None = None) -> int:
    """Failures older than the window count for nothing: drop them (the sweep runs this)."""
    now = now or timezone.now()
    deleted, _ = SignInFailure.objects.filter(at__lt=_window_start(now)).delete()
    return deleted
