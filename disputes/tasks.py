"""Celery tasks: thin, take ids, call services. Beat runs `run_sweeps` every minute."""

import logging
import time

from celery import shared_task

from core import heartbeat, metrics

log = logging.getLogger("dispute_desk.sweeps")


@shared_task(acks_late=True)
def route_dispute(dispute_id: int) -> bool:
    from disputes.sweeps import route

    return route(dispute_id)


@shared_task(acks_late=True)
def route_disputes(dispute_ids: list[int]) -> int:
    """Route a sweep's chunk of escalated disputes (the routing sweep retries any left over)."""
    from disputes.sweeps import route

    return sum(route(dispute_id) for dispute_id in dispute_ids)


def run_all_sweeps(now=None) -> dict[str, int]:
    from accounts.authentication import forget_expired_tokens
    from accounts.throttle import forget_old_failures
    from disputes.order_clocks import sweep_completions, sweep_window_notices
    from disputes.requests import sweep_requests
    from disputes.review import sweep_evidence_requests
    from disputes.sweeps import sweep_clocks, sweep_reminders, sweep_routing
    from messaging.photos import pending_uploads_expire
    from notifications.delivery import deliver_pending

    counts = {
        # Requests first: one whose clock turns it into a dispute leaves that dispute's clocks to
        # the dispute sweep that follows, in the same run.
        "request_clocks": sweep_requests(now=now),
        "clocks": sweep_clocks(now=now),
        "routing": sweep_routing(),
        "reminders": sweep_reminders(now=now),
        "evidence_requests_expired": sweep_evidence_requests(now=now),
        "completions": sweep_completions(now=now),
        "window_notices": sweep_window_notices(now=now),
        "notifications_delivered": deliver_pending(),
        "signin_failures_forgotten": forget_old_failures(now=now),
        "pending_uploads_expired": pending_uploads_expire(now=now),
        "api_tokens_expired": forget_expired_tokens(now=now),
    }
    if any(counts.values()):
        log.info("sweeps.ran", extra={name: count for name, count in counts.items() if count})
    return counts


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def run_sweeps() -> dict[str, int]:
    """Beat's task, every minute. Its heartbeat is written as the run starts, whether or not anything
    is due, so a stale one (/readyz) means beat or every worker stopped, not that a sweep failed; a
    run that keeps failing shows as an old `sweeps_finished` on the operator's page."""
    started = time.monotonic()
    heartbeat.beat(heartbeat.SWEEPS)
    counts = run_all_sweeps()
    metrics.sweep_ran(time.monotonic() - started, counts)
    heartbeat.beat(heartbeat.SWEEPS_FINISHED)
    return counts
