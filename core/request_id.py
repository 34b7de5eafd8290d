"""Each request's id: on every log line of the request and of the tasks it queued, and in the response.

The id comes from the request's X-Request-ID only when our own proxies stand in front of the app
(TRUSTED_PROXY_COUNT > 0; otherwise a client could write any id into our logs) and only when it looks
like an id; else it is a new one. Tasks carry it in their message's headers, so a task queued by a
request, or by a task, logs under the same id. A task queued with none (by beat) gets its own: each
sweep's lines share one id. The Celery signals are connected in config/celery_app.py.
"""

import logging
import re
import time
import uuid

import structlog
from django.conf import settings

from core.logs import RequestUser

log = logging.getLogger("dispute_desk.requests")

HEADER = "X-Request-ID"
# The task message's header holding the ids of whoever queued it.
TASK_HEADER = "log_context"
# A proxy's id (a UUID, nginx's 32 hex digits...): bounded, and nothing that could break a log line
# or a header (no spaces, quotes, newlines).
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_new() -> str:
    return uuid.uuid4().hex


def well_formed(value) -> str | None:
    """`value` if it may be used as a request id, else None."""
    return value if isinstance(value, str) and _WELL_FORMED.fullmatch(value) else None


PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestIdMiddleware:
    """Binds the request's id (and, once known, its user's id) for its log lines, writes one line for
    the request when it is answered (gunicorn keeps no access log), clears them after, and returns
    the id in the response's X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = well_formed(request.headers.get(HEADER)) if settings.TRUSTED_PROXY_COUNT > 0 else None
        request_id = request_id or request_id_new()
        # A worker thread serves one request after another: nothing of the last one may stay bound.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, user_id=RequestUser(request))
        started = time.monotonic()
        try:
            response = self.get_response(request)
            fields = {"method": request.method, "path": request.path, "status": response.status_code}
            # The probes and the scraper poll every few seconds: only a failing answer is worth a line.
            if request.path not in PROBES or response.status_code >= 500:
                log.info("http.request", extra={**fields, "duration_ms": round((time.monotonic() - started) * 1000)})
        finally:
            structlog.contextvars.clear_contextvars()
        response[HEADER] = request_id
        return response


# --- Celery's signals -------------------------------------------------------------------------------


def carried_ids() -> dict:
    """The ids a task queued now carries: the running request's (or task's) id and its user's, if any."""
    context = structlog.contextvars.get_contextvars()
    if "request_id" not in context:
        return {}
    user = context.get("user_id")
    user_id = user.pk() if isinstance(user, RequestUser) else user
    return {"request_id": context["request_id"], **({"user_id": user_id} if user_id is not None else {})}


def task_headers_add(headers: dict | None = None, **kwargs) -> None:
    """before_task_publish: the ids of the request (or task) queuing a task go with it. A task queued
    in `transaction.on_commit` is published as the request's transaction commits, inside the request.
    One published on behalf of an earlier request passes that request's `carried_ids()` itself
    (`apply_async(headers={TASK_HEADER: ...})`) and keeps them."""
    ids = carried_ids()
    if headers is not None and ids:
        headers.setdefault(TASK_HEADER, ids)


def task_context_bind(task=None, **kwargs) -> None:
    """task_prerun: the task's lines carry the id it was queued with, else a new one, and its name and
    id. A task run eagerly (tests) runs inside whoever called it and keeps their id."""
    request = task.request
    if not request.is_eager:
        structlog.contextvars.clear_contextvars()  # a worker process runs one task after another
    carried = getattr(request, TASK_HEADER, None) or {}
    request_id = (
        well_formed(carried.get("request_id"))
        or structlog.contextvars.get_contextvars().get("request_id")
        or request_id_new()
    )
    ids = {"request_id": request_id, "task": task.name, "task_id": request.id}
    if isinstance(carried.get("user_id"), int):
        ids["user_id"] = carried["user_id"]
    request.log_context_tokens = structlog.contextvars.bind_contextvars(**ids)


def task_context_unbind(task=None, **kwargs) -> None:
    """task_postrun: back to what was bound before the task (the caller's ids when run eagerly)."""
    tokens = getattr(task.request, "log_context_tokens", None)
    if tokens:
        structlog.contextvars.reset_contextvars(**tokens)
