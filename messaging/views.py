from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import Case, Count, FilteredRelation, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Left
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.paging import paginate
from core.views import api_error_as_page, wants_json
from messaging.models import Message, Thread
from messaging.selectors import photo_get_for, thread_messages, unread_states
from messaging.translation import message_translate
from notifications.models import Notification
from notifications.render import look_up_moved_on
from orders.models import Order
from orders.selectors import order_get_for


def _serve(photo, field: str) -> FileResponse:
    stored = getattr(photo, field)
    try:
        handle = default_storage.open(stored.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    extension = stored.name.rsplit(".", 1)[-1]
    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class _JsonErrors(BaseContentNegotiation):
    """The photo views render nothing but a JSON error, whatever the client accepts."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PhotoView(APIView):
    """A photo, full size or thumbnail, for a party of its order or the dispute team (else 404).
    An API view so that token clients can follow the `url` the API gave them; browsers use the session.
    A refusal answers in the API's JSON shape, or, to a browser (its Accept prefers HTML), with the
    site's own page: never DRF's browsable page."""

    field = "file"
    # Bytes or a JSON error: never the browsable API (it would show this docstring to a browser),
    # and no 406 for an Accept that names only HTML: handle_exception answers a browser itself.
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrors

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request, photo_id: str):
        return _serve(photo_get_for(request.user, photo_id), self.field)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if wants_json(self.request._request):
            return response
        return api_error_as_page(self.request._request, response)


class PhotoThumbnailView(PhotoView):
    field = "thumbnail"


# How much of the last message a list shows (cut in the database, so a long message costs nothing).
PREVIEW_CHARS = 140


def _with_unread(threads, user):
    """Each thread with the user's unread count, how many messages it holds, and a preview of its
    last message (its start, who wrote it, whether it has photos), all computed for the rows a
    page shows, not for every thread it skips."""
    messages = Message.objects.filter(thread=OuterRef("pk")).order_by().values("thread")
    last = Message.objects.filter(thread=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        threads.select_related("order__store", "order__buyer")
        .annotate(mine=FilteredRelation("states", condition=Q(states__user=user)))  # one join, not a lookup a row
        .annotate(
            unread=Coalesce("mine__unread", 0),
            total=Subquery(messages.annotate(n=Count("pk")).values("n")),
            last_excerpt=Subquery(last.annotate(start=Left("body", PREVIEW_CHARS + 1)).values("start")[:1]),
            last_author_id=Subquery(last.values("author_id")[:1]),
            last_role=Subquery(last.values("role")[:1]),
            last_photos=Subquery(last.annotate(n=Count("photos")).values("n")[:1]),
        )
    )


def _rows(page, user) -> list[tuple]:
    """(thread, unread) for a list's template, each thread knowing whether its reader is the buyer."""
    for thread in page:
        thread.mine_as_buyer = thread.order.buyer_id == user.pk
        thread.last_is_mine = thread.last_author_id == user.pk
    return [(thread, thread.unread) for thread in page]


@login_required
def unread_list(request):
    """Unread messages, like the marketplace's 'Unread order messages' page (a seller's inbox holds
    these too, first)."""
    unread = unread_states(request.user).values("thread")
    threads = _with_unread(Thread.objects.filter(pk__in=unread), request.user).order_by("-last_message_at", "-pk")
    page = paginate(request, threads)
    return render(request, "messaging/unread.html", {"rows": _rows(page, request.user), "page": page})


@login_required
def seller_inbox(request):
    """One inbox for a seller: every conversation on their stores' orders (and on what they bought
    themselves), unread ones first, then the most recent, each with its last message."""
    if not request.user.stores.exists():
        raise Http404
    mine = Q(order__store__owner=request.user)
    if Order.objects.filter(buyer=request.user).exists():  # most sellers buy nothing: keep their query plain
        mine |= Q(order__buyer=request.user)
    threads = _with_unread(Thread.objects.filter(mine, last_message_at__isnull=False), request.user).order_by(
        Case(When(unread__gt=0, then=Value(0)), default=Value(1)), "-last_message_at", "-pk"
    )
    page = paginate(request, threads)
    return render(request, "messaging/inbox.html", {"rows": _rows(page, request.user), "page": page})


@login_required
def notifications_view(request):
    """Newest first, a page at a time. Opening a page marks what it shows read (what it shows
    still says which were new); a POST marks every one read and comes back to the list."""
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True)
    if request.method == "POST":
        unread.update(read_at=timezone.now())
        return redirect(reverse("notifications"))
    page = paginate(request, Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id"))
    notes = list(page)
    look_up_moved_on(notes)  # whether each one's call to action still applies: one query for the page
    unread.filter(pk__in=[note.pk for note in notes if note.read_at is None]).update(read_at=timezone.now())
    elsewhere = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    context = {"notes": notes, "page": page, "unread_elsewhere": elsewhere}
    return render(request, "messaging/notifications.html", context)


@login_required
def message_translation(request, number: str, message_id: int):
    """A message of an order's conversation and, below it, its translation into the language this page
    speaks: for the order's parties and the dispute team (404 for anyone else, as every message read)."""
    order = order_get_for(request.user, number, conversation=True)
    message = thread_messages(order).filter(pk=message_id).first()
    if message is None:
        raise Http404
    context = {
        "order": order,
        "message": message,
        "translation": message_translate(message=message, target=translation.get_language()),
    }
    return render(request, "messaging/translation.html", context)
