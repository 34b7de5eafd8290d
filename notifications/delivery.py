"""Delivering notifications: an email each, and a sweep that delivers what a lost task missed. The email
is put into words as it is sent, in the recipient's language and time zone, as HTML and plain text
(templates/notifications/).

Once, as far as email allows. A notification's row is locked while its email is sent, and marked delivered
in the same transaction, once the mail server has taken the email:
- two deliverers never send it side by side: the second skips the locked row (SKIP LOCKED);
- a worker that dies while sending (killed, out of memory, the machine gone) holds no lock any more and
  marked nothing, so the next task or the sweep sends it: an email is never lost to a crash;
- the one duplicate left: the mail server took the email and the worker died, or the database went away,
  before the commit (the moment between the server's "250 OK" and COMMIT). The email then goes again, with
  the same Message-ID, which mail clients and many servers use to show it once.
(Marking first and sending after would turn that moment into a lost email, and widen it to the whole
conversation with the mail server.)"""

import hashlib
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.render import absolute_url, language_of, render, speaking_to

log = logging.getLogger("dispute_desk.notifications")

DELIVERY_GRACE = timedelta(minutes=1)


def deliver(notification_id: int) -> bool:
    """Email one notification, once: locked while sent, marked delivered in the same transaction. False when
    it was delivered already or another worker is sending it now."""
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, delivered_at__isnull=True)
            .first()
        )
        if note is None:
            return False
        if note.recipient.email:
            send_mail(**notice_email(note))  # a failure rolls back: the row stays undelivered for a retry
        Notification.objects.filter(pk=note.pk).update(delivered_at=timezone.now())
    return True


def send_mail(*, subject: str, message: str, html_message: str, from_email, recipient_list, headers=None) -> None:
    """Django's send_mail, with headers (the Message-ID)."""
    email = EmailMultiAlternatives(subject, message, from_email, recipient_list, headers=headers)
    email.attach_alternative(html_message, "text/html")
    email.send()


def notice_email(note: Notification) -> dict:
    """The email for a notification: subject, plain text and HTML, in the recipient's words and language
    (whoever's request or sweep sends it), said in its Content-Language."""
    recipient = note.recipient
    with speaking_to(recipient):
        notice = render(note, recipient=recipient)
        context = {"notice": notice, "recipient": recipient, "notifications_url": notifications_page()}
        text = render_to_string("notifications/notice_email.txt", context)
        html = render_to_string("notifications/notice_email.html", context)
    return {
        "subject": " ".join(notice.title.split()),
        "message": text,
        "html_message": html,
        "from_email": None,
        "recipient_list": [recipient.email],
        "headers": {"Message-ID": message_id(note), "Content-Language": language_of(recipient)},
    }


def message_id(note: Notification) -> str:
    """The same Message-ID every time this notification is sent: an email sent again after a crash is
    recognisably the same email. It names the notification's dedupe key too, so ids reused by another
    database (a restored copy, a fresh install) never collide."""
    digest = hashlib.sha256(note.dedupe_key.encode()).hexdigest()[:16]
    domain = urlsplit(settings.SITE_URL).hostname or "dispute-desk.invalid"
    return f"<notification.{note.pk}.{digest}@{domain}>"


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
