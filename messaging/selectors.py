"""Reads of messages that need care: unread counts in one query, photo access."""

import uuid

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts import roles
from accounts.models import User
from messaging.models import Message, Photo, ThreadState


def unread_messages(user: User) -> QuerySet[Message]:
    """Messages on the user's own orders (as buyer or seller) that others wrote after the
    user last read that thread."""
    last_read = ThreadState.objects.filter(thread=OuterRef("thread"), user=user).values("last_read_at")[:1]
    return (
        Message.objects.filter(Q(thread__order__buyer=user) | Q(thread__order__store__owner=user))
        .exclude(author=user)
        .annotate(last_read=Subquery(last_read))
        .filter(Q(last_read__isnull=True) | Q(created_at__gt=F("last_read")))
    )


def unread_by_order(user: User) -> dict[str, int]:
    """{order number: unread count}, only for threads with something unread."""
    rows = unread_messages(user).values("thread__order__number").annotate(unread=Count("id")).order_by()
    return {row["thread__order__number"]: row["unread"] for row in rows}


def unread_total(user: User) -> int:
    return unread_messages(user).count()


def photo_get_for(user: User, photo_id: str) -> Photo:
    """A photo the user may see: a party of its order, or the dispute team. Else 404."""
    try:
        key = uuid.UUID(str(photo_id))
    except ValueError:
        raise Http404 from None
    photo = (
        Photo.objects.select_related("message__thread__order__store", "evidence__dispute__order__store")
        .filter(pk=key)
        .first()
    )
    if photo is None or not user.is_authenticated:
        raise Http404
    if roles.is_dispute_team(user):
        return photo
    if photo.message_id:
        order = photo.message.thread.order
    elif photo.evidence_id:
        order = photo.evidence.dispute.order
    else:
        order = None
    if order is not None and user.pk in (order.buyer_id, order.store.owner_id):
        return photo
    raise Http404
