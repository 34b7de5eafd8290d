import logging

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.models import Message, ThreadState
from messaging.services import claim_email_slot, message_recipients
from notifications.render import absolute_url, speaking_to

log = logging.getLogger("dispute_desk.messaging")


@shared_task(bind=True, max_retries=5, default_retry_delay=60, acks_late=True)
def email_new_message(self, message_id: int) -> int:
    """Tell the other party of a new message, at most once per thread per 10 minutes each."""
    message = Message.objects.select_related("thread__order__store__owner", "thread__order__buyer", "author").filter(
        pk=message_id
    )
    message = message.first()
    if message is None:
        return 0
    sent = 0
    now = timezone.now()
    for recipient in message_recipients(message):
        if not claim_email_slot(thread=message.thread, user=recipient, now=now):
            continue
        try:
            send_mail(**_message_email(message, recipient))
        except Exception as error:
            # Give the slot back so the retry (or the next message) can send.
            ThreadState.objects.filter(thread=message.thread, user=recipient, last_emailed_at=now).update(
                last_emailed_at=None
            )
            raise self.retry(exc=error) from error
        sent += 1
        log.info("message emailed", extra={"message_id": message_id, "recipient": recipient.username})
    return sent


def _message_email(message: Message, recipient) -> dict:
    """The email about a new message, in the recipient's language and time zone, as plain text
    and HTML, with an absolute link to the thread (SITE_URL: a task has no request)."""
    order = message.thread.order
    context = {
        "message": message,
        "order": order,
        "recipient": recipient,
        "photos": message.photos.count(),
        "url": absolute_url(reverse("orders:detail", args=[order.number]) + "#thread"),
    }
    with speaking_to(recipient):
        return {
            "subject": _("New message about order %(number)s") % {"number": order.number},
            "message": render_to_string("messaging/email_new_message.txt", context),
            "html_message": render_to_string("notifications/new_message_email.html", context),
            "from_email": None,
            "recipient_list": [recipient.email],
        }
