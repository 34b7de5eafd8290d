"""Money reconciliation. Placeholder."""

from celery import shared_task


@shared_task(acks_late=True)
def reconcile_task() -> int:
    return 0


def last_run():
    """The last reconciliation (when, whether it found mismatches, how many), or None."""
    return None
