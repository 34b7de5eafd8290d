"""Money reconciliation. Placeholder."""

from celery import shared_task


@shared_task(acks_late=True)
def reconcile_task() -> int:
    return 0
