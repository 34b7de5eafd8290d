from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import RuleViolation
from orders import services
from orders.forms import ExtensionGrantForm, ExtensionRequestForm
from orders.models import ExtensionRequest
from orders.selectors import order_get_for, orders_visible_to


@login_required
def order_list(request):
    """My orders: what the buyer bought, newest first, each with its dispute window."""
    orders = orders_visible_to(request.user).filter(buyer=request.user)
    return render(request, "orders/order_list.html", {"orders": orders[:200]})


def _order_page(request, order, *, extension_form=None, grant_form=None, status=200):
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
    context = {
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
    return _order_page(request, order_get_for(request.user, number))


@login_required
@require_POST
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
    return _order_page(request, order, extension_form=form, status=400)


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
    return _order_page(request, order, grant_form=form, status=400)
