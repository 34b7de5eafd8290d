from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.paging import paginate
from orders.models import ExtensionRequest, Order
from sellers.models import Store
from sellers.views import owned_store


@login_required
def store_orders(request):
    """The store's orders, with the buyers' extension requests that wait for an answer on top."""
    store = owned_store(request)
    page = paginate(request, Order.objects.filter(store=store).select_related("buyer", "carrier", "store"))
    pending = (
        ExtensionRequest.objects.filter(order__store=store, status=ExtensionRequest.Status.PENDING)
        .select_related("order__buyer", "order__carrier")
        .order_by("order__window_closes_at")
    )
    return render(
        request,
        "sellers/store_orders.html",
        {
            "store": store,
            "stores": Store.objects.filter(owner=request.user),
            "orders": page,
            "page": page,
            "pending": pending,
        },
    )
