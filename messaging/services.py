"""Messages between an order's buyer and its store: evidence, so never edited or deleted."""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from messaging.models import AuthorRole, Message, Photo, Thread, ThreadState
from messaging.photos import CleanPhoto, clean_uploads, random_name
from orders.models import Order


def thread_for(order: Order) -> Thread:
    thread, _created = Thread.objects.get_or_create(order=order)
    return thread


def _team_never_posts(order: Order) -> bool:
    return False


# Whether the dispute team may post in an order's thread. Messaging does not know about disputes
# (they are built on it): the disputes app sets the rule when it loads (DisputesConfig.ready), to
# "once the order's dispute is escalated to the team". Until then, the team never posts.
_team_posting_rule: Callable[[Order], bool] = _team_never_posts


def team_posting_rule_set(rule: Callable[[Order], bool]) -> None:
    global _team_posting_rule
    _team_posting_rule = rule


def team_may_post(order: Order) -> bool:
    """The one rule every page and the service use for whether the team may post in the thread."""
    return _team_posting_rule(order)


def author_role(user: User, order: Order) -> str:
    side = roles.order_party(user, order)
    if side is not None:
        return AuthorRole(side)
    if roles.is_dispute_team(user):
        if not team_may_post(order):
            raise RuleViolation(
                "invalid_state",
                _("The dispute team can post in this thread once the order's dispute is escalated."),
            )
        return AuthorRole.TEAM
    raise RuleViolation("forbidden", _("Only the buyer and the seller of this order can post here."), status=403)


def store_photos(photos: list[CleanPhoto], *, uploaded_by: User, prefix: str = "photos", **owner) -> list[Photo]:
    """Write cleaned photos to storage and create their rows. Call inside a transaction; the
    caller removes the files again if the transaction fails (see message_post)."""
    rows = []
    for position, photo in enumerate(photos):
        name = default_storage.save(random_name(prefix, photo.extension), ContentFile(photo.content))
        thumb = default_storage.save(random_name(f"{prefix}-thumbs", photo.extension), ContentFile(photo.thumbnail))
        rows.append(
            Photo(
                uploaded_by=uploaded_by,
                file=name,
                thumbnail=thumb,
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                sha256=photo.sha256,
                original_size=photo.original_size,
                position=position,
                **owner,
            )
        )
    return rows


def delete_photo_files(rows: list[Photo]) -> None:
    for row in rows:
        for name in (row.file.name, row.thumbnail.name):
            if name:
                default_storage.delete(name)


def message_post(*, author: User, order: Order, body: str, uploads: list | None = None) -> Message:
    """Post a message with up to 6 photos. Every photo is checked before anything is written;
    if any is refused, nothing is stored."""
    body = (body or "").strip()
    uploads = uploads or []
    if len(body) > settings.MESSAGE_MAX_LENGTH:
        raise RuleViolation(
            "invalid", _("Keep the message under %(n)s characters.") % {"n": settings.MESSAGE_MAX_LENGTH}, status=400
        )
    if not body and not uploads:
        raise RuleViolation("invalid", _("Write a message or attach a photo."), status=400)
    role = author_role(author, order)
    cleaned = clean_uploads(uploads)

    rows: list[Photo] = []
    try:
        with transaction.atomic():
            thread = thread_for(order)
            # Lock the thread so messages are ordered and last_message_at never goes backwards.
            thread = Thread.objects.select_for_update().get(pk=thread.pk)
            message = Message.objects.create(thread=thread, author=author, role=role, body=body)
            rows = store_photos(cleaned, uploaded_by=author, message=message)
            Photo.objects.bulk_create(rows)
            thread.last_message_at = message.created_at
            thread.save(update_fields=["last_message_at"])
            ThreadState.objects.update_or_create(
                thread=thread, user=author, defaults={"last_read_at": message.created_at, "unread": 0}
            )
            for user_id in {order.buyer_id, order.store.owner_id} - {author.pk}:  # the parties it is new to
                state, _created = ThreadState.objects.get_or_create(thread=thread, user_id=user_id)
                ThreadState.objects.filter(pk=state.pk).update(unread=F("unread") + 1)
            transaction.on_commit(lambda: queue_message_email(message.pk))
    except BaseException:
        delete_photo_files(rows)
        raise
    audit(
        "message.posted", order=order.number, message_id=message.pk, actor=author.username, role=role, photos=len(rows)
    )
    return message


def queue_message_email(message_id: int) -> None:
    """Hand the email to Celery; a broker outage must not fail the request that posted."""
    from core.queue import enqueue
    from messaging.tasks import email_new_message

    enqueue(email_new_message, message_id)


def thread_mark_read(*, user: User, order: Order) -> None:
    """The user has read the order's thread: what was new to them is no longer (every view of the order or
    dispute page does this). One UPDATE, which writes only when something was unread: a message creates
    the state of each party it is new to (`message_post`)."""
    ThreadState.objects.filter(thread__order=order, user=user, unread__gt=0).update(
        last_read_at=timezone.now(), unread=0
    )


def message_recipients(message: Message) -> list[User]:
    order = message.thread.order
    parties = [order.buyer, order.store.owner]
    return [user for user in parties if user.pk != message.author_id and user.is_active and user.email]


def claim_email_slot(*, thread: Thread, user: User, now) -> bool:
    """At most one email per thread per recipient per interval: claim the slot with a conditional
    update, so two workers racing for the same recipient send one email between them."""
    state, _created = ThreadState.objects.get_or_create(thread=thread, user=user)
    cutoff = now - timedelta(minutes=settings.MESSAGE_EMAIL_INTERVAL_MINUTES)
    claimed = (
        ThreadState.objects.filter(pk=state.pk)
        .filter(Q(last_emailed_at__isnull=True) | Q(last_emailed_at__lte=cutoff))
        .update(last_emailed_at=now)
    )
    return claimed == 1
