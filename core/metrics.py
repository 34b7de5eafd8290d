"""Prometheus metrics: what each process counts, and `/metrics`, which shows them.

Counters and histograms are kept by the process that counts them. Under gunicorn and Celery every
process writes its own into the directory PROMETHEUS_MULTIPROC_DIR names, and `/metrics` adds up
the files of all of them (prometheus_client's multiprocess mode; config/gunicorn.py sets it up).
Without the variable (tests, `make run`) the process shows its own, from the default registry.

Figures read from the database or the broker (disputes waiting, the queue's length) are counted
by no one: the process answering the scrape reads them, at most once every METRICS_CACHE_SECONDS
whoever scrapes (`scrape_cached`). Apps above core hand theirs down with `collector_add`.
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, wraps
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Protocol

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from core.client import client_address_strict
from core.errors import RuleViolation

log = logging.getLogger("dispute_desk.metrics")

# A worker or a manage.py command started before gunicorn (which makes it) finds the folder there.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# A `_created` series beside every counter doubles what is stored for nothing an alert reads, and
# multiprocess mode has none: the same series in both modes.
disable_created_metrics()

# --- Requests -------------------------------------------------------------------------------------
# Labels hold only bounded values: the URL pattern's name (never the path), a known method, the status.
REQUEST_LABELS = ["view", "method", "status"]
REQUEST_SECONDS = Histogram(
    "dispute_desk_http_request_duration_seconds",
    "Time from the first middleware receiving the request to the response leaving it, by view, method and status.",
    REQUEST_LABELS,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter("dispute_desk_http_requests", "Requests answered, by view, method and status.", REQUEST_LABELS)
REQUESTS_IN_PROGRESS = Gauge(
    "dispute_desk_http_requests_in_progress",
    "Requests being answered now, over all web processes (a sync worker answers one at a time).",
    multiprocess_mode="livesum",  # a dead worker's file is dropped (config/gunicorn.py child_exit)
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --- Sweeps, tasks, photos --------------------------------------------------------------------------
SWEEP_SECONDS = Histogram(
    "dispute_desk_sweep_duration_seconds",
    "How long one run of the sweeps took (beat runs them every minute).",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240),
)
SWEEP_ROWS = Counter("dispute_desk_sweep_rows", "Rows the sweeps acted on, by sweep.", ["sweep"])
SWEEP_LAST_RUN = Gauge(
    "dispute_desk_sweep_last_run_timestamp_seconds",
    "When a run of the sweeps last finished (Unix time).",
    multiprocess_mode="max",
)
TASKS = Counter(
    "dispute_desk_celery_tasks", "Celery tasks run, by task and outcome (success, failure, retry).", ["task", "outcome"]
)
TASK_SECONDS = Histogram(
    "dispute_desk_celery_task_duration_seconds",
    "How long a Celery task ran, by task, whatever its outcome.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
PHOTO_INGEST_SECONDS = Histogram(
    "dispute_desk_photo_ingest_duration_seconds",
    "Checking, decoding and re-encoding one uploaded photo, waiting for the decode budget included, "
    "by outcome (clean, refused, error).",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)


class RequestMetricsMiddleware:
    """Times every request and counts it under its view's name. First in MIDDLEWARE, so its time
    covers the other middleware and its status is the one the client gets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        counted = _quietly(REQUESTS_IN_PROGRESS.inc)
        try:
            response = self.get_response(request)
        finally:
            if counted:
                _quietly(REQUESTS_IN_PROGRESS.dec)
        try:
            labels = (
                view_label(request),
                request.method if request.method in METHODS else "other",
                response.status_code,
            )
            REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
            REQUESTS.labels(*labels).inc()
        except Exception:  # a full disk under the metrics directory must never fail the request it counts
            _write_failed()
        return response


_write_failed_logged = False


def _write_failed() -> None:
    """Log, once per process, that a metric could not be written (the request goes on)."""
    global _write_failed_logged
    if not _write_failed_logged:
        _write_failed_logged = True
        log.exception("metrics could not be written; requests go on uncounted")


def _quietly(write: Callable[[], object]) -> bool:
    try:
        write()
    except Exception:
        _write_failed()
        return False
    return True


def view_label(request) -> str:
    """The matched URL pattern's name with its namespace ("api:dispute"); "static" for a static file
    served before any URL is matched; "unmatched" when no view ran (no URL matched, or a middleware
    answered first)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def photo_ingest_timed[T](clean: Callable[..., T]) -> Callable[..., T]:
    """Time each call of the photo pipeline: "clean" when it returns, "refused" when it refuses the
    photo (a RuleViolation: too large, not an image, busy), "error" for anything else."""

    @wraps(clean)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        outcome = "error"
        try:
            photo = clean(*args, **kwargs)
            outcome = "clean"
            return photo
        except RuleViolation:
            outcome = "refused"
            raise
        finally:
            PHOTO_INGEST_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    return timed


def sweep_ran(seconds: float, counts: dict[str, int]) -> None:
    """One run of the sweeps took `seconds` and acted on `counts` rows, by sweep."""
    SWEEP_SECONDS.observe(seconds)
    for sweep, rows in counts.items():
        SWEEP_ROWS.labels(sweep=sweep).inc(max(0, int(rows or 0)))
    SWEEP_LAST_RUN.set(time.time())


# --- Celery's signals (connected in core/apps.py, so web and worker processes both count) ----------
_task_started: dict[str, float] = {}


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or "unknown"


def task_started(sender=None, task_id=None, **kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


def task_ended(sender=None, task_id=None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(_task_name(sender)).observe(time.perf_counter() - started)


def task_succeeded(sender=None, **kwargs) -> None:
    TASKS.labels(_task_name(sender), "success").inc()


def task_failed(sender=None, **kwargs) -> None:
    TASKS.labels(_task_name(sender), "failure").inc()


def task_retried(sender=None, **kwargs) -> None:
    TASKS.labels(_task_name(sender), "retry").inc()


def task_signals_connect() -> None:
    from celery import signals

    for signal, receiver in (
        (signals.task_prerun, task_started),
        (signals.task_postrun, task_ended),
        (signals.task_success, task_succeeded),
        (signals.task_failure, task_failed),
        (signals.task_retry, task_retried),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"core.metrics.{receiver.__name__}")


# --- Figures read at scrape time ---------------------------------------------------------------------


def scrape_cached[T](name: str, compute: Callable[[], T]) -> T:
    """What `compute()` gave less than METRICS_CACHE_SECONDS ago, in any process, else compute it
    now and keep it: however many scrapers and workers, the database is asked once per period.
    With the cache down, every scrape computes (a scrape must not fail because the cache did)."""
    seconds = settings.METRICS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = f"metrics:{name}"
    try:
        kept = cache.get(key)
    except Exception:
        log.warning("metrics: the cache could not be read; computing %s for this scrape", name)
        return compute()
    if kept is not None:
        return kept[0]  # kept in a tuple, so a None from compute() is kept too
    value = compute()
    try:
        cache.set(key, (value,), seconds)
    except Exception:
        log.warning("metrics: the cache could not be written; %s will be computed again", name)
    return value


def queue_depth() -> int | None:
    """Messages waiting in the Celery broker's default queue, or None when it cannot be read."""
    return scrape_cached("queue_depth", _broker_queue_length)


def _broker_queue_length() -> int | None:
    if not _broker_is_redis():
        return None
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            # Celery's Redis transport keeps a queue as a list under the queue's name.
            return int(client.llen(_queue_name()))
        finally:
            client.close()
    except (redis.RedisError, OSError) as error:
        log.warning("metrics: the broker's queue length could not be read: %s", error)
        return None


def _broker_is_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def _queue_name() -> str:
    return getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")


class Unreadable(Exception):
    """A scrape-time collector could not read its figures (its reader has logged why)."""


class ScrapeCollector(Protocol):
    name: str

    def collect(self) -> Iterable[Metric]: ...


class QueueCollector:
    name = "queue"

    def collect(self) -> Iterator[Metric]:
        depth = queue_depth()
        if depth is None:
            if _broker_is_redis():
                raise Unreadable("the broker's queue length")
            return  # another broker (the local filesystem one): no queue length to show
        family = GaugeMetricFamily(
            "dispute_desk_celery_queue_length", "Tasks waiting in the broker for a worker.", labels=["queue"]
        )
        family.add_metric([_queue_name()], depth)
        yield family


_scrape_collectors: list[ScrapeCollector] = [QueueCollector()]


def collector_add(collector: ScrapeCollector) -> None:
    """Read `collector` on every scrape, by the process answering it. An app above core hands its
    own down when it loads (DisputesConfig.ready); core works without it."""
    if all(type(kept) is not type(collector) for kept in _scrape_collectors):
        _scrape_collectors.append(collector)


class _Scrape:
    """Everything /metrics shows: the processes' own counts, then the figures read now. A figure
    that cannot be read (the database is down) drops out with `..._scrape_collector_success 0`;
    the rest is still served."""

    def collect(self) -> Iterator[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            yield from MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()
        success = GaugeMetricFamily(
            "dispute_desk_scrape_collector_success",
            "Whether the figures read at scrape time could be read, by collector (1 yes, 0 no).",
            labels=["collector"],
        )
        for collector in _scrape_collectors:
            try:
                families = list(collector.collect())
            except Exception as error:
                if not isinstance(error, Unreadable):
                    log.exception("metrics: collector %s failed", collector.name)
                success.add_metric([collector.name], 0)
                continue
            success.add_metric([collector.name], 1)
            yield from families
        yield success


_scrape = _Scrape()


# --- /metrics ---------------------------------------------------------------------------------------
@csrf_exempt  # the view decides who may read it, before anything else: an outsider's POST is a 404 too
def metrics_view(request):
    """Prometheus' text format, for the configured addresses or the bearer of METRICS_TOKEN; anyone
    else gets an empty 404, as if there were nothing here. No session, no sign-in, no throttle."""
    if not may_scrape(request):
        return HttpResponseNotFound()
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = HttpResponse(generate_latest(_scrape), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response


def may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # compare_digest takes as long whatever the presented token shares with ours; an empty token opens nothing.
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
        return True
    address = client_address_strict(request)  # a forwarded address we cannot read is nobody's
    try:
        client = ip_address(address or "")
    except ValueError:
        return False
    client = getattr(client, "ipv4_mapped", None) or client  # ::ffff:127.0.0.1 is 127.0.0.1
    return any(client in network for network in _allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES)))


@lru_cache(maxsize=4)
def _allowed_networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    """METRICS_ALLOWED_ADDRESSES: addresses or networks ("10.0.0.0/8"). A malformed entry fails the
    scrape loudly rather than quietly letting nobody (or somebody else) in."""
    try:
        return tuple(ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {error}") from None
