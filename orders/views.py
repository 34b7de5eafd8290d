from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles
from config.errors import RuleViolation
from config.paging import paginate
from config.throttles import page_write_throttle
from messaging.forms import MessageForm
from messaging.models import Message, Photo
from messaging.selectors import unread_by_order
from messaging.services import thread_mark_read
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
    is_buyer = order.buyer_id == request.user.pk
    is_seller = order.store.owner_id == request.user.pk
    window = order.dispute_window()
    pending = next((r for r in order.extension_requests.all() if r.status == ExtensionRequest.Status.PENDING), None)
    # The buyer and seller's conversation is theirs and the team's: the platform reads the order only.
    thread_messages = (
        Message.objects.filter(thread__order=order)
        .select_related("author")
        .prefetch_related(Prefetch("photos", queryset=Photo.objects.order_by("position")))
        .order_by("created_at", "id")
        if is_buyer or is_seller or roles.is_dispute_team(request.user)
        else Message.objects.none()
    )
    if (is_buyer or is_seller) and request.method == "GET":
        thread_mark_read(user=request.user, order=order)  # they are looking at it now
    from disputes.services import open_refusal  # disputes builds on orders

    context = {
        "dispute_refusal": open_refusal(order) if is_buyer else None,
        "thread_messages": thread_messages,
        "message_form": message_form or MessageForm(),
        "can_post": is_buyer or is_seller,
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
    if form.is_valid():
        try:
            services.extension_request(buyer=request.user, order=order, **form.cleaned_data)
        except RuleViolation as refusal:
            form.add_error(None, refusal.detail)
        else:
            messages.success(request, _("Your request was sent to the seller."))
            return redirect("orders:detail", number=order.number)
    return render_order_page(request, order, extension_form=form, status=400)


@login_required
@require_POST
def extension_grant_view(request, number: str):
    order = order_get_for(request.user, number)
    form = ExtensionGrantForm(request.POST)
    if form.is_valid():
        try:
            services.extension_grant(seller=request.user, order=order, **form.cleaned_data)
        except RuleViolation as refusal:
            form.add_error(None, refusal.detail)
        else:
            messages.success(request, _("The buyer's protection was extended."))
            return redirect("orders:detail", number=order.number)
    return render_order_page(request, order, grant_form=form, status=400)
