"""Reads of orders that need care: who may see which order."""

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts import roles
from accounts.models import User
from orders.models import Order


def orders_visible_to(user: User) -> QuerySet[Order]:
    """A buyer sees their orders, a seller their stores' orders, the team and the platform all."""
    orders = Order.objects.select_related("store__owner", "carrier", "buyer", "shipment_carrier")
    if roles.sees_all_orders(user):
        return orders
    return orders.filter(Q(buyer=user) | Q(store__owner=user))


def order_get_for(user: User, number: str, *, lock: bool = False) -> Order:
    """Fetch an order the user may see. Missing and forbidden look the same (404)."""
    orders = orders_visible_to(user)
    if lock:
        # of=("self",) locks only the order row, not the joined store or carrier.
        orders = orders.select_for_update(of=("self",))
    try:
        return orders.get(number=number)
    except Order.DoesNotExist:
        raise Http404 from None
