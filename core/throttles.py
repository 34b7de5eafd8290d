"""Per-user limits on the writes that cost (photos decoded, disputes opened, people notified),
the same on the API and on the pages: one counter per user and scope, in the cache.

The scopes and their rates are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]: messages,
evidence, dispute_open, extension). The API answers 429 in the error shape; a page answers 429
with a sentence saying when to try again.

With Redis down or slow the throttles fail open: the request goes ahead uncounted, for as long as the cache's
breaker says Redis is out (core/cache.py) and no longer. A limit is there to keep one client from costing
everyone; refusing everyone because the counter is away would be the larger harm. Each scope says so once per
outage in the audit log. (Sign-in limits are rows in the database, accounts/throttle.py, and hold throughout.)"""

from functools import wraps

from django.core.cache import caches
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import throttling as drf_throttling
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.audit import audit
from core.cache import CacheUnavailable, RedisCache


def _count(key: str, seconds: int) -> tuple[int, int]:
    """Add one to the counter `key`, started at 0 for `seconds` by the first request; return the count and
    the seconds left before it starts again. One round trip to Redis. CacheUnavailable when Redis is out."""
    backend = caches["default"]  # this thread's cache itself (`cache` is a proxy to it)
    if isinstance(backend, RedisCache):
        return backend.call(_count_in_redis, backend, key, seconds)
    backend.add(key, 0, seconds)
    try:
        return backend.incr(key), seconds
    except ValueError:  # it expired between the two
        backend.set(key, 1, seconds)
        return 1, seconds


class CountingRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counted in a window that the first request opens for the rate's length: one
    counter, one round trip a request. (DRF's own keeps every request's time in a list that it reads and
    writes back whole, so at 2,000 a minute a busy client's every request moved a 2,000-entry list.) A
    client may make up to twice the rate across the end of one window and the start of the next."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            count, self.left = _count(f"{self.key}:n", self.duration)
        except CacheUnavailable as outage:
            self.left = None
            _failing_open(self.scope, outage)
            return True
        return count <= self.num_requests

    def wait(self) -> float | None:
        return None if self.left is None else float(self.left)


def _count_in_redis(backend: RedisCache, key: str, seconds: int) -> tuple[int, int]:
    full_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(full_key, write=True)
    pipe = client.pipeline(transaction=False)
    pipe.set(full_key, 0, ex=seconds, nx=True)
    pipe.incr(full_key)
    pipe.ttl(full_key)
    _started, count, left = pipe.execute()
    if left < 0:  # it expired between the SET and the INCR, which made it again without a lifetime
        client.expire(full_key, seconds)
        left = seconds
    return int(count), int(left)


def _failing_open(scope: str | None, outage: CacheUnavailable) -> None:
    """Say once per outage and scope (per process) that the scope's limit is not being counted."""
    backend = caches["default"]
    if backend.breaker.first_time(f"throttle:{scope}"):
        audit("throttle.fail_open", scope=scope, why=f"cache unavailable: {outage}", until="the cache is back")


class UserRateThrottle(CountingRateThrottle, drf_throttling.UserRateThrottle):
    pass


class AnonRateThrottle(CountingRateThrottle, drf_throttling.AnonRateThrottle):
    pass


class WriteThrottle(CountingRateThrottle):
    """Counts only writes (POST), per signed-in user, in the view's `write_scope`."""

    def __init__(self, scope: str | None = None) -> None:
        self._scope = scope  # given by a page; an API view names it as `write_scope`

    def allow_request(self, request, view) -> bool:
        if request.method != "POST" or not request.user.is_authenticated:
            return True
        self.scope = self._scope or getattr(view, "write_scope", None)
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        if not allowed:
            audit("api.throttled", actor=request.user.username, scope=self.scope, path=request.path)
        return allowed

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def with_write_throttle(*classes) -> list:
    """The API's default throttles plus the write limit (for an API view's throttle_classes)."""
    return [*api_settings.DEFAULT_THROTTLE_CLASSES, WriteThrottle, *classes]


def page_write_throttle(scope: str):
    """For a page view: a POST past the user's limit answers 429 with a sentence, not the form."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            throttle = WriteThrottle(scope)
            if not throttle.allow_request(request, None):
                minutes = max(1, -(-int(throttle.wait() or 60) // 60))
                message = _("You have done this many times in a short while. Please try again in %(n)s minutes.") % {
                    "n": minutes
                }
                return render(request, "429.html", {"message": message}, status=429)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
