"""Delivery tasks. They keep the names they had when messaging held notifications: a task already
queued in the broker under that name still finds its code after a deploy."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task(
    name="messaging.tasks.deliver_notification", bind=True, max_retries=5, default_retry_delay=60, acks_late=True
)
def deliver_notification(self, notification_id: int) -> bool:
    from notifications.delivery import deliver

    try:
        return deliver(notification_id)
    except Exception as error:
        raise self.retry(exc=error) from error


@shared_task(
    name="messaging.tasks.deliver_notifications", bind=True, max_retries=5, default_retry_delay=60, acks_late=True
)
def deliver_notifications(self, notification_ids: list[int]) -> int:
    """Deliver a sweep's chunk of notifications; those already sent are skipped (`deliver` claims each)."""
    from notifications.delivery import deliver_each

    sent, failure = deliver_each(notification_ids)
    if isinstance(failure, SoftTimeLimitExceeded):  # slow mail, not broken mail: go on at once
        raise self.retry(exc=failure, countdown=0) from failure
    if failure is not None:
        raise self.retry(exc=failure) from failure
    return sent
