"""Django's Redis cache, kept off the request's critical path: when Redis is down or slow, every cache call
answers as a miss (a read builds afresh, a write keeps nothing) instead of failing the request.

A failed call opens a breaker for the process: for `PAUSE_AFTER_FAILURE` seconds no call goes to Redis at all,
so a dead Redis costs no connection attempt per request, and a hung one (connect and read time out after a
second, settings.CACHES) costs one request a second now and then, not every request. After the pause one
caller tries Redis again while the others keep skipping it; the first answer closes the breaker. The outage
is logged when it starts and when it ends, not per request.

Django's client makes a new `redis.Redis` for every cache call, and each one copies redis-py's table of
response callbacks (about 170 entries, every name upper-cased): a measurable share of a cached API read,
which makes three such calls. A `redis.Redis` holds no per-call state and is safe to share between
threads (its connection pool hands out the connections), so one is kept per pool."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("dispute_desk.cache")

PAUSE_AFTER_FAILURE = 5.0
# Refused, timed out, reset, read-only replica, out of memory, a half-read reply: any of them means the cache
# cannot be trusted right now, and the cache is never worth failing a request for.
OUTAGE_ERRORS = (RedisError, OSError)
# Of those, the ones that mean Redis cannot be reached: they open the breaker.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class CacheUnavailable(Exception):
    """Redis did not answer, or is being skipped for a few seconds after it failed."""


class Breaker:
    """Whether this process should try Redis now: shared by every thread's cache and the throttles."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._down_since: float | None = None  # monotonic() of the first failure, while it lasts
        self._retry_at = 0.0
        self._skipped = 0
        self._error = ""
        self._told: set[str] = set()  # what has said it fails open, once each per outage

    @property
    def down_for(self) -> float | None:
        """Seconds since Redis first failed, while it does not; None when it does."""
        down_since = self._down_since
        return None if down_since is None else monotonic() - down_since

    def allows(self) -> bool:
        if self._down_since is None:
            return True
        with self._lock:
            if self._down_since is None:
                return True
            now = monotonic()
            if now >= self._retry_at:
                self._retry_at = now + PAUSE_AFTER_FAILURE  # this caller tries; the others keep skipping
                return True
            self._skipped += 1
            return False

    def failed(self, error: BaseException) -> None:
        now = monotonic()
        with self._lock:
            starts = self._down_since is None
            if starts:
                self._down_since, self._skipped, self._told = now, 0, set()
            self._retry_at = now + PAUSE_AFTER_FAILURE
            self._error = f"{type(error).__name__}: {error}"
        if starts:
            log.warning(
                "cache unavailable; requests go on without it",
                extra={
                    "cache": self.name,
                    "error": self._error,
                    "effect": "reads built without it, throttles not counted",
                    "retry_every_seconds": PAUSE_AFTER_FAILURE,
                },
            )

    def answered(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            down_for, skipped = monotonic() - self._down_since, self._skipped
            self._down_since, self._retry_at, self._told = None, 0.0, set()
        log.warning(
            "cache answers again",
            extra={"cache": self.name, "down_seconds": round(down_for, 1), "calls_skipped": skipped},
        )

    def first_time(self, what: str) -> bool:
        """Whether `what` (e.g. a throttle's scope) is the first of its kind to fail open in this outage."""
        with self._lock:
            if what in self._told:
                return False
            self._told.add(what)
            return True

    @property
    def error(self) -> str:
        return self._error

    def reset(self) -> None:
        """Forget a past failure (tests, or an operator who knows Redis is back)."""
        with self._lock:
            self._down_since, self._retry_at, self._skipped, self._error, self._told = None, 0.0, 0, "", set()


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str) -> Breaker:
    with _breakers_lock:
        if location not in _breakers:
            _breakers[location] = Breaker(_server_name(location))
        return _breakers[location]


def _server_name(location: str) -> str:
    """host:port/db of the first server, never a password, for the log lines."""
    url = urlsplit(location.split(",")[0])
    return f"{url.hostname}:{url.port or 6379}{url.path}"


def outage_seconds() -> float | None:
    """How long any Redis cache of this process has been failing (None: all answer): for probes and metrics."""
    downs = [down for breaker in list(_breakers.values()) if (down := breaker.down_for) is not None]
    return max(downs) if downs else None


def reset() -> None:
    for breaker in list(_breakers.values()):
        breaker.reset()


class KeptClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """Every call fails open: a read misses, a write keeps nothing, `add` and `incr` say the key is absent."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
        self.breaker = breaker_for(",".join(self._servers))

    def call(self, function: Callable[..., Any], /, *args, **kwargs) -> Any:
        """`function(*args, **kwargs)` against Redis through the breaker; CacheUnavailable when it is down."""
        if not self.breaker.allows():
            raise CacheUnavailable(self.breaker.error)
        try:
            result = function(*args, **kwargs)
        except UNREACHABLE as error:
            self.breaker.failed(error)
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from error
        except OUTAGE_ERRORS as error:
            # Redis answered, with an error (out of memory, a read-only replica): this call fails open,
            # the next one tries again. Only an unreachable Redis switches the cache off for a while.
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from error
        self.breaker.answered()
        return result

    def _or(self, missing: Any, method: str, *args, **kwargs) -> Any:
        try:
            return self.call(getattr(super(), method), *args, **kwargs)
        except CacheUnavailable:
            return missing

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._or(False, "add", key, value, timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._or(default, "get", key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._or(None, "set", key, value, timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._or(False, "touch", key, timeout, version=version)

    def delete(self, key, version=None) -> bool:
        return self._or(False, "delete", key, version=version)

    def get_many(self, keys, version=None) -> dict:
        return self._or({}, "get_many", keys, version=version)

    def has_key(self, key, version=None) -> bool:
        return self._or(False, "has_key", key, version=version)

    def incr(self, key, delta=1, version=None) -> int:
        try:
            return self.call(super().incr, key, delta, version=version)
        except CacheUnavailable as outage:
            raise ValueError(f"Key '{key}' not found: the cache is unavailable.") from outage

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        # Nothing was kept: every key "failed", as Django's contract has it.
        return self._or(list(data), "set_many", data, timeout, version=version)

    def delete_many(self, keys, version=None) -> None:
        self._or(None, "delete_many", keys, version=version)

    def clear(self) -> bool:
        return self._or(False, "clear")
