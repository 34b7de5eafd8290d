"""Liveness (/healthz) and readiness (/readyz), on django-health-check's checks.

/healthz answers while the process does and touches nothing else. /readyz runs every check at once,
each in a thread of its own and bounded by its timeout, and answers 200 when all pass, else 503.
A failure's reason is always one of ours, never an exception's text: those name hosts, ports and
users. The operator's page in admin shows the same results (`readiness()`).
"""

import asyncio
import dataclasses
import logging
import re
import tempfile
import threading
import timeit
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from celery import current_app
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.urls import resolve
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_safe
from health_check import checks
from health_check.base import HealthCheck, HealthCheckResult
from health_check.contrib import redis as contrib_redis
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from core.heartbeat import SWEEPS, last_beat

log = logging.getLogger("dispute_desk.health")

# Every check's own budget (two for the first migrations check of a process); django-health-check
# waits one second more for the check's client to report its own timeout first, so the answer never
# waits more than about three seconds.
TIMEOUT = timedelta(seconds=1)


class Unready(ServiceUnavailable):
    """A failed check, with a short reason of ours that is safe to show anyone."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    name: str
    label: Promise
    ok: bool
    ms: float
    reason: str | Promise | None


def _closing_connection(run):
    """A check runs in a thread of its own, which opens its own database connection: close it,
    or every poll would leave one behind."""

    def wrapped(self):
        try:
            return run(self)
        finally:
            connections["default"].close()

    return wrapped


@dataclasses.dataclass
class Database(checks.Database):
    name: ClassVar[str] = "database"
    label: ClassVar[Promise] = _("Database")
    timeout = TIMEOUT

    def run(self):
        try:
            super().run()  # SELECT 1 on a connection of its own, closed again
        except HealthCheckException as error:
            raise Unready(_("unreachable")) from error


_migrations_applied = False  # a success is kept per process: the migration graph is costly to load


@dataclasses.dataclass
class Migrations(HealthCheck):
    name: ClassVar[str] = "migrations"
    label: ClassVar[Promise] = _("Migrations")
    timeout = TIMEOUT * 2  # the first run in a process loads every migration

    @_closing_connection
    def run(self):
        global _migrations_applied
        if _migrations_applied:
            return
        try:
            executor = MigrationExecutor(connections["default"])
            unapplied = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        except DatabaseError as error:
            raise Unready(_("database unreachable")) from error
        if unapplied:
            message = ngettext_lazy("{count} migration not applied", "{count} migrations not applied", unapplied)
            raise Unready(format_lazy(message, count=unapplied))
        _migrations_applied = True


@dataclasses.dataclass
class Cache(checks.Cache):
    """A cache in memory (`make run` without REDIS_URL) sets and reads back a key."""

    name: ClassVar[str] = "cache"
    label: ClassVar[Promise] = _("Cache")
    timeout: timedelta = dataclasses.field(default=TIMEOUT, repr=False)  # also the probe key's lifetime

    async def run(self):
        try:
            await super().run()
        except HealthCheckException as error:
            raise Unready(_("wrong value read back")) from error


@dataclasses.dataclass
class Redis(contrib_redis.Redis):
    """The Redis cache's server answers PING on a connection of the probe's own. Not through the cache:
    it fails open (core/cache.py), and a probe's failure must not trip the breaker the requests use."""

    name: ClassVar[str] = "redis"
    label: ClassVar[Promise] = _("Redis cache")
    timeout = TIMEOUT

    async def run(self):
        try:
            await super().run()
        except HealthCheckException as error:
            raise Unready(_("unreachable")) from error
        except RedisError as error:  # it answered, with an error (a password refused, a command disabled)
            raise Unready(_("refused the probe")) from error

    @classmethod
    def for_cache(cls, location: str | list[str]) -> "Redis":
        # Django's Redis cache writes to the first server named (the others are replicas).
        first = location[0] if isinstance(location, list) else re.split("[;,]", location)[0]
        seconds = TIMEOUT.total_seconds()
        return cls(
            client_factory=lambda: AsyncRedis.from_url(first, socket_connect_timeout=seconds, socket_timeout=seconds)
        )


@dataclasses.dataclass
class Broker(HealthCheck):
    """Celery's broker takes a connection within the timeout; the filesystem broker of `make run`
    has folders it can write to."""

    name: ClassVar[str] = "broker"
    label: ClassVar[Promise] = _("Celery broker")
    timeout = TIMEOUT

    def run(self):
        if current_app.conf.broker_url.startswith("filesystem://"):
            self.folders_writable(current_app.conf.broker_transport_options)
            return
        options = {"socket_connect_timeout": TIMEOUT.total_seconds()}
        try:
            with current_app.connection_for_write(transport_options=options) as connection:
                connection.ensure_connection(max_retries=0)  # one attempt (Redis: a connection and a PING)
        except Exception as error:  # kombu raises its own, redis-py's or the socket's errors
            raise Unready(_("unreachable")) from error

    def folders_writable(self, options: dict) -> None:
        for key in ("data_folder_in", "data_folder_out"):
            try:
                with tempfile.NamedTemporaryFile(dir=Path(options[key]), prefix=".readyz-"):
                    pass
            except FileNotFoundError as error:
                raise Unready(_("folder missing")) from error
            except (KeyError, OSError) as error:
                raise Unready(_("folder not writable")) from error


@dataclasses.dataclass
class Media(checks.Storage):
    """The default storage (MEDIA_ROOT) takes a small file, reads it back and deletes it."""

    name: ClassVar[str] = "media"
    label: ClassVar[Promise] = _("Media storage")
    timeout = TIMEOUT

    def run(self):
        try:
            super().run()
        except (HealthCheckException, OSError) as error:
            raise Unready(_("not writable")) from error


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Beat's sweep task started within BEAT_STALE_SECONDS: beat sends it every minute and a
    worker took it (disputes.tasks.run_sweeps writes the heartbeat as each run starts)."""

    name: ClassVar[str] = "beat_heartbeat"
    label: ClassVar[Promise] = _("Beat heartbeat")
    timeout = TIMEOUT

    @_closing_connection
    def run(self):
        try:
            at = last_beat(SWEEPS)
        except DatabaseError as error:
            raise Unready(_("database unreachable")) from error
        if at is None:
            raise Unready(_("no sweep has run yet"))
        age = round((timezone.now() - at).total_seconds())
        if age > settings.BEAT_STALE_SECONDS:
            raise Unready(format_lazy(_("last sweep {seconds} s ago"), seconds=age))


def _checks() -> list[HealthCheck]:
    cache = settings.CACHES["default"]
    if issubclass(import_string(cache["BACKEND"]), DjangoRedisCache):
        cache_check = Redis.for_cache(cache["LOCATION"])
    else:
        cache_check = Cache()
    return [Database(), Migrations(), cache_check, Broker(), Media(), BeatHeartbeat()]


def _reason(result: HealthCheckResult) -> str | Promise | None:
    match result.error:
        case None:
            return None
        case Unready():
            return result.error.message
        case ServiceUnavailable():  # the library's own time-out
            return format_lazy(_("timed out after {seconds} s"), seconds=f"{result.check.timeout.total_seconds():g}")
        case _:  # an exception no check expected: the library logged it
            return _("unexpected error (logged)")


async def _run_all(found: list[HealthCheck], executor: ThreadPoolExecutor) -> list[HealthCheckResult]:
    return await asyncio.gather(*(check.get_result(executor) for check in found))


_kept: tuple[float, list[Outcome]] | None = None  # the last answer, and when (monotonic)
_running = threading.Lock()
_failing: set[str] = set()  # the checks failing at the last run, to log a change once


def readiness() -> list[Outcome]:
    """Every readiness check, run at once, each within its timeout. An answer is kept for
    READYZ_CACHE_SECONDS, and one run at a time per process: polled by many, a database that hangs
    costs one set of threads, not one per poll."""
    global _kept
    keep = settings.READYZ_CACHE_SECONDS
    with _running:
        if _kept is not None and timeit.default_timer() - _kept[0] < keep:
            return _kept[1]
        outcomes = _readiness_now()
        _kept = (timeit.default_timer(), outcomes)
        return outcomes


def _in_a_loop_of_its_own(coroutine):
    """Run the coroutine to its end from sync code: here, or in a thread of its own when this thread
    already runs an event loop (an ASGI server's, a browser driver's), where asyncio.run() refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-loop") as runner:
        return runner.submit(lambda: asyncio.run(coroutine())).result()


def _readiness_now() -> list[Outcome]:
    found = _checks()
    executor = ThreadPoolExecutor(max_workers=len(found), thread_name_prefix="readyz")
    try:
        results = _in_a_loop_of_its_own(lambda: _run_all(found, executor))
    finally:
        # A check past its timeout is left to finish in its thread; the answer does not wait.
        executor.shutdown(wait=False, cancel_futures=True)
    outcomes = [
        Outcome(
            name=result.check.name,
            label=result.check.label,
            ok=result.error is None,
            ms=round(result.time_taken * 1000, 1),
            reason=_reason(result),
        )
        for result in results
    ]
    _log_changes(results)
    return outcomes


def _log_changes(results: list[HealthCheckResult]) -> None:
    """A check that starts failing is logged once with its cause (for the operator: the probe's answer
    says only "unreachable"), and once more when it passes again."""
    for result in results:
        name = result.check.name
        if result.error is not None and name not in _failing:
            _failing.add(name)
            cause = result.error.__cause__ or result.error.__context__ or result.error
            log.warning(
                "readiness check failing",
                extra={"check": name, "reason": str(_reason(result)), "cause": f"{type(cause).__name__}: {cause}"},
            )
        elif result.error is None and name in _failing:
            _failing.discard(name)
            log.warning("readiness check passes again", extra={"check": name})


@require_safe
def healthz(request):
    response = HttpResponse("ok", content_type="text/plain")
    add_never_cache_headers(response)
    return response


@require_safe
def readyz(request):
    started = timeit.default_timer()
    outcomes = readiness()
    ready = all(outcome.ok for outcome in outcomes)
    body = {
        "status": "ok" if ready else "failing",
        "checks": {
            outcome.name: {
                "status": "ok" if outcome.ok else "failing",
                "ms": outcome.ms,
                **({} if outcome.ok else {"reason": str(outcome.reason)}),
            }
            for outcome in outcomes
        },
        "ms": round((timeit.default_timer() - started) * 1000, 1),
    }
    response = JsonResponse(body, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


class ProbeMiddleware:
    """/healthz and /readyz answer before the host check (CommonMiddleware) and everything after it: a
    load balancer or an orchestrator probes the process by its own address, which ALLOWED_HOSTS does not
    list. Placed after the metrics and request-id middleware, so probes are still counted and timed."""

    PROBES: ClassVar[dict] = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = self.PROBES.get(request.path)
        if view is None:
            return self.get_response(request)
        request.resolver_match = resolve(request.path)  # counted under the view's name on /metrics
        return view(request)
