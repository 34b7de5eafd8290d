"""Reads of messages that need care: unread counts in one query, photo access."""

import uuid

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404

from accounts import roles
from accounts.models import User
from messaging.models import Message, Photo, ThreadState


def thread_messages(order) -> QuerySet[Message]:
    """An order's conversation, oldest first, with authors and photos (in their order) loaded.
    Who may read it is the caller's check: the parties and the dispute team."""
    return (
        Message.objects.filter(thread__order=order)
        .select_related("author")
        .prefetch_related(Prefetch("photos", queryset=Photo.objects.order_by("position")))
        .order_by("created_at", "id")
    )


def unread_states(user: User) -> QuerySet[ThreadState]:
    """The user's threads with messages from others since they last read them, on orders the user
    is still a party to (as buyer, or as the store's owner)."""
    return ThreadState.objects.filter(user=user, unread__gt=0).filter(
        Q(thread__order__buyer=user) | Q(thread__order__store__owner=user)
    )


def unread_by_order(user: User) -> dict[str, int]:
    """{order number: unread count}, only for threads with something unread."""
    return dict(unread_states(user).values_list("thread__order__number", "unread"))


def unread_total(user: User) -> int:
    return unread_states(user).aggregate(total=Sum("unread"))["total"] or 0


def photo_get_for(user: User, photo_id: str) -> Photo:
    """A photo the user may see: a party of its order, or the dispute team. Else 404."""
    try:
        key = uuid.UUID(str(photo_id))
    except ValueError:
        raise Http404 from None
    photo = (
        Photo.objects.select_related(
            "message__thread__order__store", "evidence__dispute__order__store", "evidence__request__order__store"
        )
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
        order = photo.evidence.order  # a dispute's, or a return request's
    else:
        order = None
    if order is not None and roles.is_party_to(user, order):
        return photo
    raise Http404
