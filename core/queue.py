"""Publishing to Celery from a request must never fail or hang it when the broker is down.

A task that could not be published is held in the process's memory and published as soon as the broker
answers again (the next publish that succeeds takes up to FLUSH_PER_PUBLISH held ones with it). Every task
sent here has a sweep that finds its work in the database too, except the email about a new message
(messaging), for which the held copy is the only way back; a held task is lost if the process ends first.
Publishing one late is harmless: each task checks the database before acting (a notification already
delivered, a dispute already routed)."""

import logging
import threading
import time
from collections import deque

from core import request_id

log = logging.getLogger("dispute_desk.queue")

# After a failed publish, skip publishing for a while: each request would otherwise pay a
# connection attempt. Nothing is lost; what is not published is held, and the sweeps find the work.
PAUSE_AFTER_FAILURE = 30.0
HELD_LIMIT = 10_000  # past it the oldest is dropped (a sweep still finds its work)
FLUSH_PER_PUBLISH = 100  # so one request never pays for a long outage's backlog

_paused_until = 0.0
_held: deque = deque()
_dropped = 0
_lock = threading.Lock()
_flushing = threading.Lock()


def enqueue(task, *args) -> bool:
    """Send a task; on any broker error, log, pause publishing briefly, hold the task for later and return
    False."""
    if time.monotonic() < _paused_until:
        _hold(task, args)
        return False
    try:
        task.apply_async(args=args, retry=False)
    except Exception:
        _failed()
        _hold(task, args)
        log.warning(
            "task held: broker unavailable; published when it answers",
            extra={"held_task": task.name, "held_args": list(args)},
        )
        return False
    if _held:
        _publish_held()
    return True


def held() -> int:
    """How many tasks this process holds for a broker that did not answer."""
    return len(_held)


def _failed() -> None:
    global _paused_until
    with _lock:
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE


def _hold(task, args: tuple) -> None:
    """Keep the task with the ids of the request (or task) that queued it: published later, inside
    another request, its log lines still carry the ids of the one it came from."""
    global _dropped
    with _lock:
        if len(_held) >= HELD_LIMIT:
            _held.popleft()
            _dropped += 1
        _held.append((task, args, request_id.carried_ids()))


def _publish_held() -> None:
    """The broker answers again: publish what waited, oldest first, a bounded number at a time, one thread
    at a time (the others go on with their requests)."""
    if not _flushing.acquire(blocking=False):
        return
    try:
        _publish_some_held()
    finally:
        _flushing.release()


def _publish_some_held() -> None:
    global _dropped
    published = 0
    for _ in range(FLUSH_PER_PUBLISH):
        with _lock:
            if not _held:
                break
            task, args, ids = held_task = _held.popleft()
        try:
            task.apply_async(args=args, retry=False, headers={request_id.TASK_HEADER: ids})
        except Exception:
            with _lock:
                _held.appendleft(held_task)
            _failed()
            break
        published += 1
    with _lock:
        left, dropped, _dropped = len(_held), _dropped, 0
    if published or dropped:
        log.warning(
            "held tasks published: the broker answers again",
            extra={"published": published, "still_held": left, "dropped": dropped},  # a dropped one's sweep finds it
        )


def resume() -> None:
    """Forget a past failure, and drop what was held (tests: a test's tasks never reach the next one)."""
    global _paused_until, _dropped
    with _lock:
        _paused_until = 0.0
        _held.clear()
        _dropped = 0
