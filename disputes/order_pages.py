"""The order pages: "My orders" and the order page, with the extension and message forms on it.

They show the buyer–seller conversation (messaging) and the order's dispute, so they are composed
here, in the top app; the order app below knows nothing of either (docs/architecture.md)."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles
from core.pages import form_submit
from core.paging import paginate
from core.throttles import page_write_throttle
from disputes.services import open_refusal
from messaging.forms import MessageForm
from messaging.models import Message
from messaging.selectors import thread_messages, unread_by_order
from messaging.services import message_post, team_may_post, thread_mark_read
from orders import services
from orders.forms import ExtensionGrantForm, ExtensionRequestForm
from orders.models import ExtensionRequest
from orders.selectors import order_get_for, orders_visible_to


@login_required
def order_list(request):
    """My orders: what the buyer bought, newest first, each with its dispute window."""
    page = paginate(request, orders_visible_to(request.user).filter(buyer=request.user))
    unread = unread_by_order(request.user)
    for order in page:
        order.unread = unread.get(order.number, 0)
    return render(request, "orders/order_list.html", {"orders": page, "page": page})


def render_order_page(request, order, *, extension_form=None, grant_form=None, message_form=None, status=200):
    """The order page: facts, window, policy snapshot, and the buyer–seller thread."""
    order = (
        orders_visible_to(request.user)
        .prefetch_related(
            "items", Prefetch("extension_requests", queryset=ExtensionRequest.objects.order_by("-created_at"))
        )
        .get(pk=order.pk)
    )
    # Someone who bought from their own store is its buyer here and may still answer as the store.
    is_buyer, is_seller = roles.is_order_buyer(request.user, order), roles.is_order_seller(request.user, order)
    window = order.dispute_window()
    pending = next((r for r in order.extension_requests.all() if r.status == ExtensionRequest.Status.PENDING), None)
    # The buyer and seller's conversation is theirs and the team's: the platform reads the order only.
    conversation = (
        thread_messages(order)
        if is_buyer or is_seller or roles.is_dispute_team(request.user)
        else Message.objects.none()
    )
    if (is_buyer or is_seller) and request.method == "GET":
        thread_mark_read(user=request.user, order=order)  # they are looking at it now
    context = {
        "dispute_refusal": open_refusal(order) if is_buyer else None,
        "thread_messages": conversation,
        "message_form": message_form or MessageForm(),
        "can_post": is_buyer or is_seller or (roles.is_dispute_team(request.user) and team_may_post(order)),
        "order": order,
        "window": window,
        "policy": order.return_policy_snapshot,
        "is_buyer": is_buyer,
        "is_seller": is_seller,
        "pending_extension": pending,
        "extension_form": extension_form or ExtensionRequestForm(),
        "grant_form": grant_form or ExtensionGrantForm(initial={"days": pending.days if pending else 7}),
    }
    return render(request, "orders/order_detail.html", context, status=status)


@login_required
def order_detail(request, number: str):
    return render_order_page(request, order_get_for(request.user, number))


@login_required
@require_POST
@page_write_throttle("extension")
def extension_request_view(request, number: str):
    order = order_get_for(request.user, number)
    form = ExtensionRequestForm(request.POST)
    return form_submit(
        request,
        form,
        lambda data: services.extension_request(buyer=request.user, order=order, **data),
        success=_("Your request was sent to the seller."),
        next_url=reverse("orders:detail", args=[order.number]),
        page=lambda: render_order_page(request, order, extension_form=form, status=400),
    )


@login_required
@require_POST
def extension_grant_view(request, number: str):
    order = order_get_for(request.user, number)
    form = ExtensionGrantForm(request.POST)
    return form_submit(
        request,
        form,
        lambda data: services.extension_grant(seller=request.user, order=order, **data),
        success=_("The buyer's protection was extended."),
        next_url=reverse("orders:detail", args=[order.number]),
        page=lambda: render_order_page(request, order, grant_form=form, status=400),
    )


@login_required
@require_POST
@page_write_throttle("messages")
def message_post_view(request, number: str):
    """The thread's form on the order page posts here; errors come back on the order page."""
    order = order_get_for(request.user, number, conversation=True)
    form = MessageForm(request.POST, request.FILES)
    return form_submit(
        request,
        form,
        lambda data: message_post(
            author=request.user, order=order, body=data["body"], uploads=request.FILES.getlist("images")
        ),
        success=_("Message sent."),
        next_url=reverse("orders:detail", args=[order.number]) + "#thread",
        page=lambda: render_order_page(request, order, message_form=form, status=400),
        upload_field="images",
    )
