"""Delivering notifications: an email each, at most once (each is claimed before it is sent), and a
sweep that delivers what a lost task missed. The email is put into words as it is sent, in the
recipient's language and time zone, as HTML and plain text (templates/notifications/)."""

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.render import absolute_url, render, speaking_to

log = logging.getLogger("dispute_desk.notifications")

DELIVERY_GRACE = timedelta(minutes=1)


def deliver(notification_id: int) -> bool:
    """Email one notification, once: claim it with a conditional update first."""
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, delivered_at__isnull=True).update(delivered_at=now)
    if not claimed:
        return False
    note = Notification.objects.select_related("recipient").get(pk=notification_id)
    if not note.recipient.email:
        return True
    try:
        send_mail(**notice_email(note))
    except Exception:
        Notification.objects.filter(pk=notification_id, delivered_at=now).update(delivered_at=None)
        raise
    return True


def notice_email(note: Notification) -> dict:
    """The email for a notification: subject, plain text and HTML, in the recipient's words."""
    recipient = note.recipient
    notice = render(note, recipient=recipient)
    context = {"notice": notice, "recipient": recipient, "notifications_url": notifications_page()}
    with speaking_to(recipient):
        text = render_to_string("notifications/notice_email.txt", context)
        html = render_to_string("notifications/notice_email.html", context)
    return {
        "subject": " ".join(notice.title.split()),
        "message": text,
        "html_message": html,
        "from_email": None,
        "recipient_list": [recipient.email],
    }


def notifications_page() -> str:
    """The notifications page, absolute (the page lives in messaging; an app above may drop it)."""
    try:
        return absolute_url(reverse("notifications"))
    except NoReverseMatch:
        return ""


def deliver_pending(*, limit: int = 500) -> int:
    """The sweep: deliver notifications whose task was lost (older than a minute, still undelivered)."""
    cutoff = timezone.now() - DELIVERY_GRACE
    ids = list(
        Notification.objects.filter(delivered_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent, _failure = deliver_each(ids)
    return sent


def deliver_each(ids: list[int]) -> tuple[int, Exception | None]:
    """Deliver each notification; one failing does not stop the rest. Returns how many were sent
    and the last failure (logged; the notification stays undelivered for a retry). Out of task
    time, it stops at once and returns that as the failure, so the task can hand back the rest."""
    sent, failure = 0, None
    for notification_id in ids:
        try:
            sent += deliver(notification_id)
        except SoftTimeLimitExceeded as out_of_time:
            log.warning("notification=%s delivery stopped: task out of time; %s sent so far", notification_id, sent)
            return sent, out_of_time
        except Exception as error:
            log.exception("notification=%s delivery failed; will retry", notification_id)
            failure = error
    return sent, failure
