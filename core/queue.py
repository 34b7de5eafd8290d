"""Publishing to Celery from a request must never fail or hang it when the broker is down."""

import logging
import threading
import time

log = logging.getLogger("dispute_desk.queue")

# After a failed publish, skip publishing for a while: each request would otherwise pay a
# connection attempt. Nothing is lost; every task sent here has a sweep that finds its work.
PAUSE_AFTER_FAILURE = 30.0
_paused_until = 0.0
_lock = threading.Lock()


def enqueue(task, *args) -> bool:
    """Send a task; on any broker error, log, pause publishing briefly and return False."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return False
    try:
        task.apply_async(args=args, retry=False)
    except Exception:
        with _lock:
            _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        log.warning("task=%s args=%s not queued: broker unavailable; the sweep will catch up", task.name, args)
        return False
    return True


def resume() -> None:
    """Forget a past failure (tests, or an operator who knows the broker is back)."""
    global _paused_until
    _paused_until = 0.0
