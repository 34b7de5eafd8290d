from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import Count, Max
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from config.errors import RuleViolation
from messaging.forms import MessageForm
from messaging.models import Notification, Thread
from messaging.selectors import photo_get_for, unread_by_order
from messaging.services import message_post
from orders.selectors import order_get_for
from orders.views import render_order_page


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


@login_required
@require_POST
def message_post_view(request, number: str):
    """The thread's form on the order page posts here; errors come back on the order page."""
    order = order_get_for(request.user, number)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message_post(
                author=request.user,
                order=order,
                body=form.cleaned_data["body"],
                uploads=request.FILES.getlist("images"),
            )
        except RuleViolation as refusal:
            form.add_error("images" if refusal.status in (413, 415) else None, refusal.detail)
        else:
            flash.success(request, _("Message sent."))
            return redirect(reverse("orders:detail", args=[order.number]) + "#thread")
    return render_order_page(request, order, message_form=form, status=400)


@login_required
def unread_list(request):
    """Unread messages, like the marketplace's 'Unread order messages' page."""
    counts = unread_by_order(request.user)
    threads = (
        Thread.objects.filter(order__number__in=counts)
        .select_related("order__store", "order__buyer")
        .order_by("-last_message_at")
    )
    rows = [(thread, counts[thread.order.number]) for thread in threads]
    return render(request, "messaging/unread.html", {"rows": rows})


@login_required
def seller_inbox(request):
    """The store's threads, unread ones first, then the most recent."""
    counts = unread_by_order(request.user)
    threads = (
        Thread.objects.filter(order__store__owner=request.user, last_message_at__isnull=False)
        .select_related("order__buyer", "order__store")
        .annotate(total=Count("messages"), last=Max("messages__created_at"))
    )
    rows = sorted(
        ((thread, counts.get(thread.order.number, 0)) for thread in threads),
        key=lambda row: (row[1] == 0, -row[0].last_message_at.timestamp()),
    )
    if not rows and not request.user.stores.exists():
        raise Http404
    return render(request, "messaging/inbox.html", {"rows": rows[:200]})


@login_required
def notifications_view(request):
    """Newest first; opening the page marks them read (a POST form does the same without JS)."""
    notes = list(Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")[:100])
    if request.method == "POST" or any(n.read_at is None for n in notes):
        from django.utils import timezone

        Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "messaging/notifications.html", {"notes": notes})
