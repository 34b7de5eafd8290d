from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import Case, Count, FilteredRelation, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from core.paging import paginate
from messaging.models import Message, Thread
from messaging.selectors import photo_get_for, unread_states
from notifications.models import Notification


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


class PhotoView(APIView):
    """A photo, full size or thumbnail, for a party of its order or the dispute team (else 404).
    An API view so that token clients can follow the `url` the API gave them; browsers use the session."""

    field = "file"

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request, photo_id: str):
        return _serve(photo_get_for(request.user, photo_id), self.field)


class PhotoThumbnailView(PhotoView):
    field = "thumbnail"


def _with_unread(threads, user):
    """Each thread with the user's unread count, and how many messages it holds (both computed
    for the rows a page shows, not for every thread it skips)."""
    messages = Message.objects.filter(thread=OuterRef("pk")).order_by().values("thread")
    return (
        threads.select_related("order__store", "order__buyer")
        .annotate(mine=FilteredRelation("states", condition=Q(states__user=user)))  # one join, not a lookup a row
        .annotate(unread=Coalesce("mine__unread", 0), total=Subquery(messages.annotate(n=Count("pk")).values("n")))
    )


@login_required
def unread_list(request):
    """Unread messages, like the marketplace's 'Unread order messages' page."""
    unread = unread_states(request.user).values("thread")
    threads = _with_unread(Thread.objects.filter(pk__in=unread), request.user).order_by("-last_message_at", "-pk")
    page = paginate(request, threads)
    return render(request, "messaging/unread.html", {"rows": [(t, t.unread) for t in page], "page": page})


@login_required
def seller_inbox(request):
    """The store's threads, unread ones first, then the most recent."""
    if not request.user.stores.exists():
        raise Http404
    threads = _with_unread(
        Thread.objects.filter(order__store__owner=request.user, last_message_at__isnull=False), request.user
    ).order_by(Case(When(unread__gt=0, then=Value(0)), default=Value(1)), "-last_message_at", "-pk")
    page = paginate(request, threads)
    return render(request, "messaging/inbox.html", {"rows": [(t, t.unread) for t in page], "page": page})


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
    unread.filter(pk__in=[note.pk for note in notes if note.read_at is None]).update(read_at=timezone.now())
    elsewhere = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    context = {"notes": notes, "page": page, "unread_elsewhere": elsewhere}
    return render(request, "messaging/notifications.html", context)
